"""docs/adapters.md and the adapters' mapping dicts hold exactly the same rows, so neither can drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from wismo.processors.adapters import aftership, easypost, shopify, slack, zendesk
from wismo.processors.adapters._outcomes import Table

DOC = Path(__file__).resolve().parents[2] / "docs" / "adapters.md"
MARKER = re.compile(r"^<!-- table: ([a-z_.]+) -->$")

CODE_TABLES: dict[str, Table] = {}
for module in (shopify, easypost, aftership, zendesk, slack):
    CODE_TABLES.update(module.TABLES)


def doc_tables() -> dict[str, list[tuple[str, str]]]:
    """``{table name: [(value, result), ...]}`` from the marked markdown tables, in document order."""
    tables: dict[str, list[tuple[str, str]]] = {}
    lines = DOC.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i].strip())
        i += 1
        if not m:
            continue
        name = m.group(1)
        assert name not in tables, f"table {name} appears twice in docs/adapters.md"
        assert lines[i].startswith("| value | result |"), f"table {name}: header row expected after the marker"
        i += 2  # header and separator
        rows: list[tuple[str, str]] = []
        while i < len(lines) and lines[i].startswith("|"):
            cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            rows.append((cells[0].strip("`"), cells[1]))
            i += 1
        tables[name] = rows
    return tables


def test_every_code_table_is_documented_and_every_documented_table_exists() -> None:
    assert sorted(doc_tables()) == sorted(CODE_TABLES)


@pytest.mark.parametrize("name", sorted(CODE_TABLES))
def test_documented_rows_equal_code_rows(name: str) -> None:
    rows = doc_tables()[name]
    values = [v for v, _ in rows]
    assert len(values) == len(set(values)), f"{name}: a value is listed twice"
    documented = dict(rows)
    in_code = {value: str(row) for value, row in CODE_TABLES[name].items()}
    missing_in_doc = sorted(set(in_code) - set(documented))
    missing_in_code = sorted(set(documented) - set(in_code))
    assert not missing_in_doc, f"{name}: mapped in code but not documented: {missing_in_doc}"
    assert not missing_in_code, f"{name}: documented but not mapped in code: {missing_in_code}"
    differing = {v: (documented[v], in_code[v]) for v in in_code if documented[v] != in_code[v]}
    assert not differing, f"{name}: (doc, code) results differ: {differing}"


def test_no_event_rows_say_why() -> None:
    for name, table in CODE_TABLES.items():
        for value, row in table.items():
            if str(row) == "no event":
                assert getattr(row, "why", "").strip(), f"{name} {value}: a no-event row needs its reason"

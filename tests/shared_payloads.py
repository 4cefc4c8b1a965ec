"""Where the third-party payload samples live: ``../shared/payloads/`` next to the repository (used in place, with
their attribution in its SOURCES.md). A clone elsewhere finds them through ``WISMO_SHARED_PAYLOADS`` or the
workspace's ``/work/shared/payloads``; when none exists the importing tests fail (they never skip)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _find() -> Path:
    candidates = [os.environ.get("WISMO_SHARED_PAYLOADS"), REPO.parent / "shared" / "payloads", "/work/shared/payloads"]
    for c in candidates:
        if c and (Path(c) / "SOURCES.md").is_file():
            return Path(c)
    raise FileNotFoundError(
        "the shared payload samples were not found: set WISMO_SHARED_PAYLOADS to the folder holding SOURCES.md "
        f"(looked in {', '.join(str(c) for c in candidates if c)})"
    )


PAYLOADS = _find()

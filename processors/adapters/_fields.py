"""Typed access to parsed provider JSON.

Every accessor raises :class:`MissingField` naming the field path (``result.tracking_code``) when the field is
absent, null or of the wrong type; :func:`wismo.processors.adapters.adapt` turns that into
``Rejected("missing_field", ...)``. Optional accessors return None instead of raising for absent/null fields,
but still raise for a present field of the wrong type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class MissingField(Exception):
    """A field the mapping needs is absent or of the wrong type. ``str(exc)`` names the field."""


def obj(value: Any, path: str) -> Mapping[str, Any]:
    """``value`` as a JSON object."""
    if not isinstance(value, Mapping):
        raise MissingField(f"{path} is missing or not an object")
    return value


def arr(value: Any, path: str) -> Sequence[Any]:
    """``value`` as a JSON array."""
    if not isinstance(value, list):
        raise MissingField(f"{path} is missing or not an array")
    return value


def sub(parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    """The object under ``parent[key]``."""
    return obj(parent.get(key), f"{path}.{key}" if path else key)


def text(parent: Mapping[str, Any], key: str, path: str) -> str:
    """A non-empty string field."""
    value = parent.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MissingField(f"{_join(path, key)} is missing or not a non-empty string")
    return value


def opt_text(parent: Mapping[str, Any], key: str, path: str) -> str | None:
    """A string field that may be absent, null or empty (None then)."""
    value = parent.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MissingField(f"{_join(path, key)} is not a string")
    return value


def ident(parent: Mapping[str, Any], key: str, path: str) -> str:
    """An id that providers send as a number or a string, as a string."""
    value = parent.get(key)
    if isinstance(value, bool) or value is None:
        raise MissingField(f"{_join(path, key)} is missing or not an id")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise MissingField(f"{_join(path, key)} is missing or not an id")


def opt_ident(parent: Mapping[str, Any], key: str, path: str) -> str | None:
    """Like :func:`ident`, None when absent or null."""
    if parent.get(key) is None:
        return None
    return ident(parent, key, path)


def flag(parent: Mapping[str, Any], key: str, path: str) -> bool:
    """A boolean field."""
    value = parent.get(key)
    if not isinstance(value, bool):
        raise MissingField(f"{_join(path, key)} is missing or not a boolean")
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key

"""Field types shared by every index mapping."""

from __future__ import annotations

from typing import Any

KW: dict[str, Any] = {"type": "keyword"}
LONG: dict[str, Any] = {"type": "long"}
DOUBLE: dict[str, Any] = {"type": "double"}
BOOL: dict[str, Any] = {"type": "boolean"}
OPAQUE: dict[str, Any] = {"type": "object", "enabled": False}  # kept in _source, never indexed: user keys stay out of the mapping
STORED: dict[str, Any] = {"type": "keyword", "index": False, "doc_values": False}

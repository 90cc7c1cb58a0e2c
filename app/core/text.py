"""Free text typed by people (notes, reasons, names) as stored: no control characters (PostgreSQL
refuses NUL, and none of the others is ever meant), trimmed, cut to the column's length."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str | None, max_length: int | None = None) -> str:
    text = _CONTROL.sub("", value or "").strip()
    return text[:max_length] if max_length else text

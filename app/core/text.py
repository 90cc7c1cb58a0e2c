"""Free text typed by people (notes, reasons, names) as stored: no control characters (PostgreSQL
refuses NUL, and none of the others is ever meant), trimmed, cut to the column's length.

Single-line text (names, titles, labels) also refuses line breaks: it ends up in e-mail subjects,
HTTP headers and iCalendar properties, where a line break starts a new header or property.
``has_line_break_or_control`` is the one rule, used by ``app.core.schemas.SingleLine`` (API) and
the services behind the pages; ``one_line`` flattens text already stored before it existed.
"""

from __future__ import annotations

import re
from typing import Any

from app.core.errors import ValidationFailed
from app.core.i18n import N_

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Every C0 control (tab and line breaks included), DEL, C1 controls and the Unicode line and
# paragraph separators, which some clients also break lines on.
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_text(value: str | None, max_length: int | None = None) -> str:
    text = _CONTROL.sub("", value or "").strip()
    return text[:max_length] if max_length else text


def has_line_break_or_control(value: str) -> bool:
    return _NOT_ONE_LINE.search(value) is not None


def one_line(value: str | None) -> str:
    """``value`` on one line: every control character or line break becomes a space, runs of
    whitespace one space."""
    return " ".join(_NOT_ONE_LINE.sub(" ", value or "").split())


def multi_line(value: str | None) -> str:
    """``value`` with its line breaks as ``\n`` and no other control character (tabs kept)."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", "", text)


SINGLE_LINE_MESSAGE = N_("Line breaks and control characters are not allowed here.")


def require_one_line(value: str | None, field: str) -> str:
    """``value`` trimmed, or a 422 naming ``field`` when it holds a line break or control character.

    The services behind the pages call it; the API refuses the same with ``schemas.SingleLine``.
    """
    text = (value or "").strip()
    if has_line_break_or_control(text):
        raise ValidationFailed(fields={field: SINGLE_LINE_MESSAGE}, code="invalid_text")
    return text


TOO_LONG_MESSAGE = N_("%(max)s characters at most.")
REQUIRED_MESSAGE = N_("This field is required.")


def column_limit(model: Any, field: str) -> int:
    """The length of ``model``'s ``field`` column: the one limit the pages, the API's schemas and
    the database share (``Field(max_length=...)`` on the model)."""
    length = model.__table__.c[field].type.length
    if not isinstance(length, int):
        raise TypeError(f"{model.__name__}.{field} has no length")
    return length


def check_length(value: str, field: str, max_length: int) -> str:
    """``value``, or a 422 beside ``field`` that states the limit ("120 characters at most").

    One limit per field, the column's: the pages call this, the API's schemas declare the same
    ``max_length`` (pydantic's message states it too). Text is never cut silently.
    """
    if len(value) > max_length:
        raise ValidationFailed(fields={field: TOO_LONG_MESSAGE}, field_params={field: {"max": max_length}},
                               code="too_long")
    return value


def require_text(value: str | None, field: str, *, max_length: int, required: bool = True,
                 single_line: bool = True) -> str:
    """Text typed in a form, as stored: cleaned, on one line for names and titles, not empty when
    ``required``, and within ``max_length`` — each refusal a field error stating why."""
    text = require_one_line(value, field) if single_line else clean_text(multi_line(value))
    if required and not text:
        raise ValidationFailed(fields={field: REQUIRED_MESSAGE}, code="required")
    return check_length(text, field, max_length)

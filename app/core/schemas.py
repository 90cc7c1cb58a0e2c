"""What every request body and path builds on: the strict base, ISO dates and times, ids.

Datetimes must be ISO 8601 strings: pydantic's lax mode would take ``0`` (or ``"0"``) as 1970,
and strict mode refuses every JSON string. A datetime without an offset passes this layer and is
refused by the domain's rules with its own code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from app.core.text import has_line_break_or_control

# Ids beyond a 32-bit integer cannot exist, and SQLite would fail on them rather than find nothing.
MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


YEARS = range(2000, 2201)  # far enough; and no arithmetic near datetime.max can overflow


def _in_range(value: date) -> None:
    if value.year not in YEARS:
        raise PydanticCustomError("date_range", "A date between the years 2000 and 2200 is expected.")


def _iso_datetime(value: Any) -> Any:
    parsed = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    if parsed is None:
        raise PydanticCustomError("datetime_parsing", "A date and time is expected (ISO 8601).")
    _in_range(parsed)
    return parsed


def _iso_date(value: Any) -> Any:
    parsed = None
    if isinstance(value, date) and not isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            pass
    if parsed is None:
        raise PydanticCustomError("date_parsing", "A date is expected (YYYY-MM-DD).")
    _in_range(parsed)
    return parsed


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_datetime)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _single_line(value: str) -> str:
    if has_line_break_or_control(value):
        raise PydanticCustomError("single_line", "Line breaks and control characters are not allowed here.")
    return value


# Names, titles and labels: one line, no control character (the rule is app.core.text's, shared
# with the services behind the pages). They end up in e-mail subjects and iCalendar properties.
SingleLine = Annotated[str, AfterValidator(_single_line)]

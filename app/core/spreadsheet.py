"""CSV exports that open as they should in the reader's spreadsheet — French Excel and LibreOffice
included — through one helper for every export.

- UTF-8 with a byte order mark: Excel reads a CSV without one in the machine's legacy code page and
  turns "é" into "Ã©".
- The separator follows the reader's locale: where the decimal mark is a comma (French), Excel
  expects ``;`` between cells; elsewhere ``,``.
- Amounts are written as numbers in the currency's main unit with the locale's decimal mark and
  no grouping (``1234,50``), so that the spreadsheet can add them up; the column says the currency
  (``Prix (€)``). Never cents, never a float: ``Cents`` carries the integer.
- Labels, not codes: the caller turns stored codes into the words of the pages.
- A cell that starts with ``= + - @`` (or a tab, a carriage return) is a formula to spreadsheets:
  text typed by people is defused with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal, get_currency_symbol, get_decimal_symbol
from fastapi.responses import Response

from app.core.i18n import _, get_locale

BOM = "\ufeff"


@dataclass(frozen=True)
class Cents:
    """An amount in cents, written in the currency's main unit."""

    value: int


def separator(locale: str | None = None) -> str:
    return ";" if get_decimal_symbol(locale or get_locale()) == "," else ","


def money_header(label: str, currency: str = "EUR", locale: str | None = None) -> str:
    """``Prix (€)``: a money column's header, naming the currency its numbers are in."""
    return f"{label} ({get_currency_symbol(currency, locale=locale or get_locale())})"


def defuse(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def cell(value: Any, locale: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, Cents):
        return format_decimal(Decimal(value.value) / 100, format="0.00", locale=locale or get_locale())
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return str(value)
    return defuse(str(value))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], locale: str | None = None) -> str:
    locale = locale or get_locale()
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator(locale), lineterminator="\r\n")
    writer.writerow([defuse(h) for h in header])
    for row in rows:
        writer.writerow([cell(v, locale) for v in row])
    return BOM + out.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
                 locale: str | None = None) -> Response:
    """A CSV download for the reader's spreadsheet (see the module docstring)."""
    return Response(csv_text(header, rows, locale).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})

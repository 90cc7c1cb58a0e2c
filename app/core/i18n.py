"""Translations and locale-aware formatting.

The current locale lives in a context variable set once per request (or job) by the edge; code
below the edge calls ``_()`` and gets the string in the caller's language. Module-level strings
use ``lazy_gettext`` (``_l``) so they are translated when rendered, not when imported.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal
from babel.support import LazyProxy, NullTranslations, Translations

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "frontend" / "translations"

_locale: contextvars.ContextVar[str] = contextvars.ContextVar("fabrique_locale", default=DEFAULT_LOCALE)


def normalize_locale(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower().replace("_", "-").split("-")[0]
    return value if value in LOCALES else None


@cache
def translations(locale: str) -> NullTranslations:
    # Source strings are written in English; French is a catalogue like any other.
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [locale], domain="messages")


def get_locale() -> str:
    return _locale.get()


def set_locale(locale: str | None) -> contextvars.Token[str]:
    return _locale.set(normalize_locale(locale) or DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str | None) -> Iterator[None]:
    token = set_locale(locale)
    try:
        yield
    finally:
        _locale.reset(token)


def gettext(message: str, **params: object) -> str:
    text = translations(get_locale()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    text = translations(get_locale()).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def pgettext(context: str, message: str, **params: object) -> str:
    """A message whose translation depends on what it speaks of: French agrees "confirmed" with
    *une inscription* (``pgettext("registration", "Confirmed")`` → « confirmée »)."""
    text = str(translations(get_locale()).pgettext(context, message))
    return text % params if params else text


def lazy_gettext(message: str, **params: object) -> LazyProxy:
    return LazyProxy(gettext, message, enable_cache=False, **params)


_ = gettext
_l = lazy_gettext


def accept_language(header: str | None) -> str | None:
    """Best supported locale from an Accept-Language header, honouring q-values."""
    if not header:
        return None
    choices: list[tuple[float, str]] = []
    for part in header.split(","):
        lang, _sep, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        loc = normalize_locale(lang)
        if loc:
            choices.append((weight, loc))
    choices.sort(key=lambda c: -c[0])
    return choices[0][1] if choices else None


# -- formatting for the space's locale and timezone -------------------------------------------

def format_number(value: int | float | Decimal, locale: str | None = None) -> str:
    return format_decimal(value, locale=locale or get_locale())


def to_local(value: datetime, tz: str) -> datetime:
    return value.astimezone(ZoneInfo(tz))


_FIRST_OF_MONTH = re.compile(r"(?<![\d/.-])1(?=[ \u00a0\u202f])")


def _first_of_month(text: str, day: int, locale: str) -> str:
    """French writes the first day of a month as an ordinal: « 1er janvier », never « 1 janvier »
    (Babel's patterns have no ordinal)."""
    if day != 1 or not locale.startswith("fr"):
        return text
    return _FIRST_OF_MONTH.sub("1er", text, count=1)


def format_dt(value: datetime, tz: str, fmt: str = "medium", locale: str | None = None) -> str:
    locale = locale or get_locale()
    text = format_datetime(value, fmt, tzinfo=ZoneInfo(tz), locale=locale)
    return _first_of_month(text, value.astimezone(ZoneInfo(tz)).day, locale)


def format_day(value: date | datetime, tz: str | None = None, fmt: str = "full", locale: str | None = None) -> str:
    if isinstance(value, datetime) and tz:
        value = value.astimezone(ZoneInfo(tz))
    return _format_day(value.date() if isinstance(value, datetime) else value, fmt, locale or get_locale())


@lru_cache(maxsize=4096)
def _format_day(value: date, fmt: str, locale: str) -> str:
    # Pure, and called for every booking of a calendar page (a week: the same seven days, thousands
    # of times): Babel's date formatter was a third of the staff calendar's time.
    return _first_of_month(format_date(value, fmt, locale=locale), value.day, locale)


def format_hour(value: datetime, tz: str, locale: str | None = None) -> str:
    return _format_hour(value, tz, locale or get_locale())


@lru_cache(maxsize=8192)
def _format_hour(value: datetime, tz: str, locale: str) -> str:
    # A pure function of its arguments, called for every slot of every resource on the booking
    # pages (the same few dozen instants, hundreds of times): Babel's formatter is the page's cost.
    return format_time(value, "short", tzinfo=ZoneInfo(tz), locale=locale)


def format_clock(value: time, locale: str | None = None) -> str:
    """A wall-clock time (opening hours): ``09:00`` / ``9:00 AM``."""
    return format_time(value, "short", locale=locale or get_locale())


def locale_display_name(code: str) -> str:
    return (Locale.parse(code).get_display_name(code) or code).capitalize()


def N_(message: str) -> str:
    """Mark a msgid for extraction without translating it (translated later, when rendered)."""
    return message

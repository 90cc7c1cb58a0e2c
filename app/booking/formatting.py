"""How a booking's interval reads, in the reader's locale and the space's timezone.

Registered as the ``when`` template filter, used by pages and e-mails alike.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from app.core import i18n
from app.core.web import templates


def when(starts_at: datetime, ends_at: datetime, tz: str) -> str:
    """"Tuesday 2 March 2027, 9:00 – 11:00" on one day; both dates when it spans several."""
    zone = ZoneInfo(tz)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    ends_at_midnight = end.time() == time(0) and (end.date() - start.date()).days == 1
    if start.date() == end.date() or ends_at_midnight:
        return f"{i18n.format_day(start, tz)}, {i18n.format_hour(start, tz)} – {i18n.format_hour(end, tz)}"
    # Over several days: each end with its day, as the one-day form reads (never raw timestamps).
    return (f"{i18n.format_day(start, tz)}, {i18n.format_hour(start, tz)} – "
            f"{i18n.format_day(end, tz)}, {i18n.format_hour(end, tz)}")


def duration(starts_at: datetime, ends_at: datetime) -> str:
    """Real elapsed time, e.g. "1 h 30" ("2 h", "45 min")."""
    minutes = int((ends_at - starts_at).total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return i18n.gettext("%(minutes)s min", minutes=rest)
    if not rest:
        return i18n.gettext("%(hours)s h", hours=hours)
    return i18n.gettext("%(hours)s h %(minutes)02d", hours=hours, minutes=rest)


templates.env.filters.setdefault("when", when)
templates.env.filters.setdefault("duration", duration)

"""Demo events: a weekly repair café, a paid workshop and a members-only talk, with a few
registrations. Idempotent: found by title, never duplicated."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from app.core import clock
from app.demo import DemoContext, demo_step
from app.event import registration as registrations
from app.event import service
from app.event.inputs import EventInput
from app.event.models import Event

REPAIR_CAFE = "Repair café"
WORKSHOP = "Atelier : fabriquer son tabouret"
TALK = "Rencontre : financer son tiers-lieu"


def _next_weekday(weekday: int, at: time, tz: str, *, weeks: int = 0) -> datetime:
    zone = ZoneInfo(tz)
    today = clock.now().astimezone(zone).date()
    day = today + timedelta(days=(weekday - today.weekday()) % 7 or 7, weeks=weeks)
    return datetime.combine(day, at, tzinfo=zone)


@demo_step
async def demo_events(ctx: DemoContext) -> None:
    session, space = ctx.session, ctx.space
    existing = set((await session.exec(select(Event.title))).all())
    animator = ctx.people["nadia@demo.fabrique.coop"]
    tz = space.timezone
    if REPAIR_CAFE not in existing:
        start = _next_weekday(5, time(10, 0), tz)
        await service.create_event(session, space, animator, EventInput(
            title=REPAIR_CAFE, starts_at=start, ends_at=start + timedelta(hours=2, minutes=30),
            place="L'atelier, rez-de-chaussée", capacity=12,
            description="Apportez un objet en panne : **on le répare ensemble**.\n\n"
                        "- petit électroménager\n- vélos\n- vêtements",
        ), publish=True, repeat_weeks=8)
    if WORKSHOP not in existing:
        start = _next_weekday(2, time(18, 30), tz, weeks=1)
        [workshop] = await service.create_event(session, space, animator, EventInput(
            title=WORKSHOP, starts_at=start, ends_at=start + timedelta(hours=3), place="Fablab",
            capacity=6, price_public_cents=4500, price_member_cents=3000, vat_rate_bp=0,
            registration_deadline=start - timedelta(days=1),
            description="Découpe, assemblage et finition d'un tabouret en chêne. Matériaux fournis.",
        ), publish=True)
        for email in ("paul@demo.fabrique.coop", "ines@demo.fabrique.coop"):
            await registrations.register_member(session, space, workshop, ctx.people[email])
    if TALK not in existing:
        start = _next_weekday(3, time(19, 0), tz, weeks=2)
        await service.create_event(session, space, animator, EventInput(
            title=TALK, starts_at=start, ends_at=start + timedelta(hours=2), place="Grande salle",
            capacity=30, visibility="members",
            description="Subventions, mécénat, adhésions : retours d'expérience entre membres.",
        ), publish=True)

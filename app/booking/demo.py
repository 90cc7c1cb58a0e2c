"""Demo data for "La Fabrique du Val": opening hours, closures, desks, two rooms, a laser cutter, and a
few weeks of bookings around today. Idempotent: resources are found by name, hours are set once,
bookings are added only to a space that has none.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import func, select

from app.account.models import Account
from app.booking import hours, rules, service
from app.booking.models import Booking, BookingSettings, BookingSource
from app.core import clock
from app.core.errors import FabriqueError
from app.demo import DemoContext, demo_step
from app.pricing import service as charges
from app.resource.models import Resource
from app.space.models import SpaceMember

RESOURCES = [
    dict(name="Grande table", kind="hot_desk", unit="day", capacity=6, price_member_cents=1200,
         price_public_cents=1800, vat_rate_bp=0, cancel_deadline_hours=12, horizon_days=60, position=10,
         description="Six places au calme, côté fenêtres. Wi-Fi et café compris."),
    dict(name="Poste nomade (demi-journée)", kind="hot_desk", unit="half_day", capacity=4, price_member_cents=700,
         price_public_cents=1000, vat_rate_bp=0, cancel_deadline_hours=4, horizon_days=30, position=20,
         description="La mezzanine, à la demi-journée."),
    dict(name="Salle Lumière", kind="meeting_room", unit="hour", capacity=1, granularity_minutes=30,
         min_minutes=60, max_minutes=480, buffer_minutes=15, price_member_cents=1500, price_public_cents=2500,
         vat_rate_bp=0, cancel_deadline_hours=24, horizon_days=90, position=30,
         description="Salle de réunion pour 10 personnes, écran et tableau blanc."),
    dict(name="Salle du Jardin", kind="meeting_room", unit="hour", capacity=1, granularity_minutes=30,
         min_minutes=30, price_member_cents=1000, price_public_cents=1800, vat_rate_bp=0,
         cancel_deadline_hours=24, late_cancel="charge", horizon_days=90, position=40,
         description="Petite salle pour 4, ouverte sur le jardin."),
    dict(name="Découpe laser", kind="equipment", unit="hour", capacity=1, granularity_minutes=30,
         min_minutes=30, max_minutes=240, buffer_minutes=30, price_member_cents=2000, price_public_cents=3500,
         vat_rate_bp=0, cancel_deadline_hours=48, required_tags="laser", horizon_days=30, position=50,
         description="Découpeuse laser 60 W. Réservée aux membres formé·es (tag « laser »)."),
]

HOLIDAYS = [((1, 1), "Jour de l’an"), ((5, 1), "Fête du Travail"), ((5, 8), "Victoire 1945"),
            ((7, 14), "Fête nationale"), ((8, 15), "Assomption"), ((11, 1), "Toussaint"),
            ((11, 11), "Armistice"), ((12, 25), "Noël")]


async def _resources(ctx: DemoContext) -> dict[str, Resource]:
    session = ctx.session
    existing = {r.name: r for r in (await session.exec(select(Resource))).all()}
    for values in RESOURCES:
        if values["name"] not in existing:
            resource = Resource(**values)
            session.add(resource)
            existing[resource.name] = resource
    await session.flush()
    return existing


async def _calendar(ctx: DemoContext) -> None:
    session = ctx.session
    if (await session.exec(select(BookingSettings))).first() is not None:
        return
    owner = ctx.people["claire@demo.fabrique.coop"]
    weekdays = {d: [(time(9), time(18))] for d in range(5)}
    weekdays[5] = [(time(9), time(13))]
    await hours.save_hours(session, ctx.space, owner, days=weekdays, half_day_boundary=time(13, 0))
    year = clock.now().year
    for y in (year, year + 1):
        for (month, day), label in HOLIDAYS:
            await hours.add_closure(session, ctx.space, owner, start_date=date(y, month, day), end_date=None,
                                    label=label)
        await hours.add_closure(session, ctx.space, owner, start_date=date(y, 8, 4), end_date=date(y, 8, 18),
                                label="Fermeture estivale")


async def _bookings(ctx: DemoContext, resources: dict[str, Resource]) -> None:
    session = ctx.session
    if (await session.exec(select(func.count()).select_from(Booking))).one():
        return
    cal = await hours.load_calendar(session, ctx.space)
    zone = ZoneInfo(ctx.space.timezone)
    today = clock.now().astimezone(zone).date()
    people = [(ctx.people[e], ctx.members[e]) for e in ctx.members]
    laser_people = [p for p in people if "laser" in p[1].tag_set]
    rnd = random.Random(2026)
    for offset in range(-14, 22):
        day = today + timedelta(days=offset)
        if not cal.is_open_on(day):
            continue
        wanted: list[tuple[Resource, datetime, datetime, list[tuple[Account, SpaceMember]]]] = []
        # One place per person: the day's desk bookings go to different people.
        for person in rnd.sample(people, min(len(people), rnd.randint(2, 5))):
            wanted.append((resources["Grande table"], *rules.day_interval(day, cal), [person]))
        for name in ("Salle Lumière", "Salle du Jardin", "Découpe laser"):
            for _ in range(rnd.randint(0, 2)):
                start_hour = rnd.choice([9, 10, 11, 14, 15, 16])
                length = rnd.choice([1, 2])
                start = rules._local_to_utc(rules._wall_at(day, start_hour * 60), zone)  # noqa: SLF001
                end = rules._local_to_utc(rules._wall_at(day, (start_hour + length) * 60), zone)  # noqa: SLF001
                wanted.append((resources[name], start, end, laser_people if name == "Découpe laser" else people))
        for resource, start, end, who in wanted:
            if not who:
                continue
            account, member = rnd.choice(who)
            await _add(ctx, resource, account, member, start, end)


async def _add(ctx: DemoContext, resource: Resource, account, member, starts_at, ends_at) -> None:
    """Future bookings go through the service; past ones (history) are written as they were."""
    session = ctx.session
    try:
        async with session.begin_nested():
            if starts_at > clock.now():
                await service.book(session, space=ctx.space, resource=resource, member=member, account=account,
                                   actor=account, starts_at=starts_at, ends_at=ends_at, notify_member=False)
            else:
                cal = await hours.load_calendar(session, ctx.space)
                price = service.make_quote(ctx.space, resource, starts_at, ends_at, cal)
                booking = Booking(resource_id=resource.id, account_id=account.id, booked_by_id=account.id,
                                  starts_at=starts_at, ends_at=ends_at,
                                  blocked_until=service.held_until(resource, ends_at),
                                  exclusive=resource.capacity == 1, source=BookingSource.member,
                                  price_cents=price.price_cents, currency=price.currency,
                                  vat_rate_bp=price.vat_rate_bp)
                await service._guard(session, ctx.space, resource, booking, one_place=True)  # noqa: SLF001
                charges.record(session, list(price.lines), source=charges.Source.booking, source_id=booking.id,
                               account_id=account.id)
    except FabriqueError:
        pass  # taken, full or outside the rules: the demo simply has one booking fewer


@demo_step
async def booking_demo(ctx: DemoContext) -> None:
    ines = ctx.members.get("ines@demo.fabrique.coop")
    if ines is not None and "laser" not in ines.tag_set:
        ines.tags = ",".join(sorted(ines.tag_set | {"laser"}))
        ctx.session.add(ines)
    await _calendar(ctx)
    resources = await _resources(ctx)
    await _bookings(ctx, resources)

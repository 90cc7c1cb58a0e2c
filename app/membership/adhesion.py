"""The association membership (adhésion): tiers, yearly periods, and whether a person is a
current adhérent·e. Owned by the orders/joining work; ``is_current`` is what the rest reads.

A person joins or renews by choosing a tier: an ``Adhesion`` row for the period (per the space's
``adhesion_year``) and, unless the tier is free, an order (purpose ``adhesion``) whose payment
sets ``paid_at`` — the adhésion is current from then. The period is the year containing today;
when the person already holds it, renewing within ``reminder_days`` of its end takes the next
one. Unique (space, account, starts_on): a second renewal of the same period is a clean 409.
Cancelling the open order marks the year cancelled (it was never current); joining that same
period again later takes the cancelled row back with the new order.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import audit_labels, log_action
from app.core import clock
from app.core.i18n import _l
from app.core.tenancy import require_scope
from app.core.text import require_one_line
from app.membership import orders
from app.membership.errors import AdhesionExists, TierNotFound, TierUnavailable
from app.membership.models import (
    Adhesion,
    AdhesionTier,
    AdhesionTierKind,
    AdhesionYear,
    Order,
    OrderPurpose,
)
from app.membership.settings import settings_of
from app.pricing import vat
from app.pricing.quote import Item, product_line
from app.space.models import Space

log = logging.getLogger("fabrique.membership")

audit_labels({
    "adhesion.tier_created": _l("Adhésion tier created"),
    "adhesion.tier_changed": _l("Adhésion tier changed"),
    "adhesion.joined": _l("Adhésion taken"),
})


async def is_current(session: AsyncSession, account_id: int, on: date) -> bool:
    """True when the person holds an adhésion covering ``on`` (the space's local date) that is
    paid, or of a free tier, and not cancelled."""
    row = (await session.exec(
        select(Adhesion.id).join(AdhesionTier, col(AdhesionTier.id) == col(Adhesion.tier_id))
        .where(Adhesion.account_id == account_id, col(Adhesion.starts_on) <= on, col(Adhesion.ends_on) > on,
               col(Adhesion.cancelled_at).is_(None),
               or_(col(Adhesion.paid_at).is_not(None), col(AdhesionTier.kind) == AdhesionTierKind.free))
        .limit(1))).first()
    return row is not None


def current_condition(on: date) -> tuple:
    """``is_current``'s condition on ``Adhesion`` joined to ``AdhesionTier``, for set-based queries."""
    return (col(Adhesion.starts_on) <= on, col(Adhesion.ends_on) > on, col(Adhesion.cancelled_at).is_(None),
            or_(col(Adhesion.paid_at).is_not(None), col(AdhesionTier.kind) == AdhesionTierKind.free))


# -- dates -------------------------------------------------------------------------------------------

def _add_months_date(value: date, months: int) -> date:
    month0 = value.month - 1 + months
    year, month = value.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(value.day, calendar.monthrange(year, month)[1]))


def period_containing(kind: str, today: date) -> tuple[date, date]:
    """The adhésion year containing ``today``: calendar (1 Jan – 31 Dec), school (1 Sep – 31 Aug) or
    rolling (12 months from today). ``ends_on`` is exclusive."""
    if kind == AdhesionYear.school:
        start = date(today.year if today.month >= 9 else today.year - 1, 9, 1)
        return start, date(start.year + 1, 9, 1)
    if kind == AdhesionYear.rolling:
        return today, _add_months_date(today, 12)
    return date(today.year, 1, 1), date(today.year + 1, 1, 1)


def next_period(kind: str, current: Adhesion) -> tuple[date, date]:
    if kind == AdhesionYear.rolling:
        return current.ends_on, _add_months_date(current.ends_on, 12)
    return period_containing(kind, current.ends_on)


def local_today(space: Space) -> date:
    return clock.now().astimezone(ZoneInfo(space.timezone)).date()


# -- tiers -------------------------------------------------------------------------------------------

TIER_FIELDS = ("name", "kind", "price_cents", "vat_rate_bp", "public", "position")


def _check_tier(values: dict) -> dict:
    out = dict(values)
    if "name" in out:
        out["name"] = require_one_line(out["name"], "name")[:120]
    if "kind" in out:
        out["kind"] = AdhesionTierKind(out["kind"]).value
    if out.get("vat_rate_bp") is not None:
        vat.check_rate(out["vat_rate_bp"], "vat_rate_bp")
    if out.get("kind") == AdhesionTierKind.free:
        out["price_cents"] = 0
    return out


async def list_tiers(session: AsyncSession, *, staff: bool) -> list[AdhesionTier]:
    stmt = select(AdhesionTier)
    if not staff:
        stmt = stmt.where(col(AdhesionTier.public).is_(True), col(AdhesionTier.archived_at).is_(None))
    return list((await session.exec(stmt.order_by(col(AdhesionTier.position), col(AdhesionTier.id)))).all())


async def get_tier(session: AsyncSession, tier_id: int) -> AdhesionTier:
    tier = (await session.exec(select(AdhesionTier).where(AdhesionTier.id == tier_id))).first()
    if tier is None:
        raise TierNotFound()
    return tier


async def create_tier(session: AsyncSession, space: Space, *, actor_id: int, values: dict) -> AdhesionTier:
    tier = AdhesionTier(space_id=require_scope(session), **_check_tier({k: v for k, v in values.items() if k in TIER_FIELDS}))
    session.add(tier)
    await session.flush()
    log_action(session, "adhesion.tier_created", space_id=space.id, actor_id=actor_id, obj=tier, name=tier.name)
    return tier


async def update_tier(session: AsyncSession, space: Space, tier: AdhesionTier, *, actor_id: int,
                      changes: dict) -> AdhesionTier:
    """Change a tier; ``archived: true`` takes it off sale (adhésions taken keep it)."""
    archived = changes.pop("archived", None)
    values = _check_tier({k: v for k, v in changes.items() if k in TIER_FIELDS})
    if values.get("kind", tier.kind) == AdhesionTierKind.free:
        values["price_cents"] = 0
    for key, value in values.items():
        setattr(tier, key, value)
    if archived is not None:
        tier.archived_at = (tier.archived_at or clock.now()) if archived else None
    session.add(tier)
    log_action(session, "adhesion.tier_changed", space_id=space.id, actor_id=actor_id, obj=tier,
               fields=",".join(sorted([*values, *(["archived"] if archived is not None else [])])))
    return tier


# -- joining and renewing ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Taken:
    adhesion: Adhesion
    order: Order | None


async def latest(session: AsyncSession, account_id: int) -> Adhesion | None:
    """The person's adhésion ending last (cancelled ones left out)."""
    return (await session.exec(select(Adhesion).where(Adhesion.account_id == account_id,
                                                      col(Adhesion.cancelled_at).is_(None))
                               .order_by(col(Adhesion.ends_on).desc()).limit(1))).first()


async def choose_period(session: AsyncSession, space: Space, account_id: int, kind: str,
                        reminder_days: int) -> tuple[date, date]:
    today = local_today(space)
    start, end = period_containing(kind, today)
    holding = (await session.exec(select(Adhesion).where(
        Adhesion.account_id == account_id, col(Adhesion.starts_on) <= today, col(Adhesion.ends_on) > today,
        col(Adhesion.cancelled_at).is_(None)).order_by(col(Adhesion.ends_on).desc()).limit(1))).first()
    if holding is not None:
        if today < holding.ends_on - timedelta(days=max(reminder_days, 0)):
            raise AdhesionExists()
        start, end = next_period(kind, holding)
    return start, end


async def take(session: AsyncSession, space: Space, tier: AdhesionTier, *, account_id: int,
               actor_id: int | None, staff: bool) -> Taken:
    """Join or renew: the period's adhésion and, unless free, its order (paid at once if it costs nothing)."""
    if tier.archived_at is not None or not (tier.public or staff):
        raise TierUnavailable()
    settings = await settings_of(session)
    starts_on, ends_on = await choose_period(session, space, account_id, settings.adhesion_year,
                                             settings.reminder_days)
    order = None
    if tier.kind != AdhesionTierKind.free:
        label = f"{tier.name} ({starts_on:%d/%m/%Y} – {ends_on - timedelta(days=1):%d/%m/%Y})"
        line = product_line(space, item=Item.adhesion, label=label, price_cents=tier.price_cents,
                            vat_rate_bp=tier.vat_rate_bp)
        order = await orders.create(session, account_id=account_id, purpose=OrderPurpose.adhesion, label=label,
                                    lines=[line], currency=space.currency, actor_id=actor_id)
    existing = (await session.exec(select(Adhesion).where(Adhesion.account_id == account_id,
                                                          Adhesion.starts_on == starts_on))).first()
    if existing is not None and existing.cancelled_at is None:
        raise AdhesionExists()
    if existing is not None:  # a year whose order was cancelled: taken again with this one
        adhesion = existing
        adhesion.tier_id, adhesion.ends_on, adhesion.cancelled_at = tier.id, ends_on, None  # type: ignore[assignment]
        adhesion.order_id, adhesion.paid_at = (order.id if order else None), None
    else:
        adhesion = Adhesion(space_id=require_scope(session), account_id=account_id, tier_id=tier.id,  # type: ignore[arg-type]
                            starts_on=starts_on, ends_on=ends_on, order_id=order.id if order else None,
                            created_by_id=actor_id, created_at=clock.now())
    session.add(adhesion)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # the same period taken by a request racing this one
        raise AdhesionExists() from exc
    log_action(session, "adhesion.joined", space_id=space.id, actor_id=actor_id, obj=adhesion,
               account_id=account_id, tier=tier.name, starts_on=starts_on.isoformat())
    if order is not None:
        order = await orders.settle_if_free(session, order, actor_id=actor_id)
        await session.refresh(adhesion)
    return Taken(adhesion, order)


@orders.on_paid(OrderPurpose.adhesion)
async def _paid(session: AsyncSession, order: Order) -> None:
    """The adhésion's order is paid: it is current from now."""
    await session.exec(update(Adhesion).where(col(Adhesion.order_id) == order.id)
                       .values(paid_at=order.paid_at))


@orders.on_cancelled(OrderPurpose.adhesion)
async def _cancelled(session: AsyncSession, order: Order) -> None:
    """Its open order is cancelled: the year was never current, and is marked cancelled."""
    await session.exec(update(Adhesion).where(col(Adhesion.order_id) == order.id,
                                              col(Adhesion.cancelled_at).is_(None))
                       .values(cancelled_at=order.cancelled_at))


# -- reminders before an adhésion or a pass expires ---------------------------------------------------

async def send_reminders(session: AsyncSession, space: Space) -> int:
    """E-mail every member whose adhésion or pass ends within ``reminder_days`` (the space's local
    days), once per item: a row per item in ``expiry_reminder`` (unique), inserted first — only
    what this run inserted is e-mailed, so a second run, or two at once, send nothing more."""
    from app.account.models import Account
    from app.config import get_settings
    from app.core.dialect import insert_ignoring_conflict
    from app.core.mail import queue_email
    from app.membership.models import BucketSource, CreditBucket, ExpiryReminder, ReminderKind

    settings = await settings_of(session)
    if settings.reminder_days <= 0:
        return 0
    today = local_today(space)
    horizon = today + timedelta(days=settings.reminder_days)
    now = clock.now()
    horizon_at = datetime.combine(horizon + timedelta(days=1), time.min, ZoneInfo(space.timezone))
    due: list[tuple[str, int, int, str, date]] = []
    # The adhésions current now and ending within the horizon (not renewed yet: no later one).
    later = aliased(Adhesion)
    rows = await session.exec(
        select(Adhesion, AdhesionTier).join(AdhesionTier, col(AdhesionTier.id) == Adhesion.tier_id)
        .where(*current_condition(today), col(Adhesion.ends_on) <= horizon,
               ~exists(select(later.id).where(later.account_id == Adhesion.account_id, later.starts_on >= Adhesion.ends_on,
                                              col(later.cancelled_at).is_(None)))))
    for adhesion, tier in rows.all():
        due.append((ReminderKind.adhesion, adhesion.id, adhesion.account_id, tier.name,  # type: ignore[arg-type]
                    adhesion.ends_on - timedelta(days=1)))
    buckets = await session.exec(select(CreditBucket).where(
        CreditBucket.source == BucketSource.pass_, col(CreditBucket.expired_at).is_(None),
        col(CreditBucket.valid_until) > now, col(CreditBucket.valid_until) <= horizon_at))
    passes = list(buckets.all())
    from app.membership.ledger import sums

    left = await sums(session, [b.id for b in passes if b.id is not None])
    for bucket in passes:
        if bucket.id is not None and left.get(bucket.id, 0) > 0:
            last_day = (bucket.valid_until - timedelta(microseconds=1)).astimezone(ZoneInfo(space.timezone)).date()
            due.append((ReminderKind.pass_, bucket.id, bucket.account_id, bucket.label, last_day))
    sent = 0
    for kind, item_id, account_id, label, last_day in due:
        stmt = insert_ignoring_conflict(session, ExpiryReminder.__table__,  # type: ignore[attr-defined]
                                        {"space_id": space.id, "kind": kind, "item_id": item_id,
                                         "account_id": account_id, "sent_at": now},
                                        on=["space_id", "kind", "item_id"]).returning(ExpiryReminder.__table__.c.id)  # type: ignore[attr-defined]
        if (await session.exec(stmt)).first() is None:
            continue
        account = await session.get(Account, account_id)
        if account is None:
            continue
        queue_email(session, account.email, "membership_expiry_reminder", {
            "space_name": space.name, "name": account.name, "kind": str(kind), "label": label,
            "last_day": last_day, "url": f"{get_settings().base_url}/s/{space.slug}/membership",
        }, locale=account.locale or space.locale)
        sent += 1
    return sent


async def list_adhesions(session: AsyncSession, *, account_id: int | None, limit: int = 50,
                         offset: int = 0) -> list[Adhesion]:
    stmt = select(Adhesion)
    if account_id is not None:
        stmt = stmt.where(Adhesion.account_id == account_id)
    return list((await session.exec(stmt.order_by(col(Adhesion.starts_on).desc(), col(Adhesion.id).desc())
                                    .offset(offset).limit(limit))).all())

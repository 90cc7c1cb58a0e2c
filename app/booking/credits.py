"""What a booking pays with: the member's credits first (``app.membership.usage``), then the price.

A quote reads (nothing is debited when a slot is chosen or quoted); a booking, a move and a staff
override lock the buckets in the booking's transaction, choose, and write the debits with the
charges — one priced line per bucket used (``PriceKind.plan`` / ``PriceKind.pass_`` at 0) and one
at the member or public price for what is left. A cancellation within the rules refunds the
debits; a late one under a "charge" policy keeps them unless the space says otherwise.
The rules are in ``docs/credits.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.audit.service import audit_labels, log_action
from app.booking import rules
from app.booking.errors import BookingNotActive
from app.booking.hours import load_calendar
from app.booking.models import Booking, BookingSource, BookingStatus
from app.booking.snapshot import snapshot_fact
from app.core import clock
from app.core.errors import ValidationFailed
from app.core.i18n import N_, _l
from app.core.text import clean_text
from app.membership import ledger, usage
from app.membership.errors import CreditsRunOut
from app.membership.models import CreditEntry, WhenCreditsRunOut
from app.membership.settings import settings_of
from app.pricing import quote as pricing
from app.pricing import service as charges
from app.pricing.quote import Item, PricedLine, PriceKind
from app.resource.models import Resource
from app.space.models import Space

audit_labels({"booking.credits_overridden": _l("Credits of a booking changed by staff")})

# What the space requires a current adhésion for (``MembershipSettings``, a configuration table):
# kept in the booking snapshot, so that a space requiring nothing asks no query per booking.
ADHESION_FOR_MEMBER_PRICES = "adhesion_for_member_prices"
ADHESION_FOR_BOOKING = "adhesion_for_booking"


@snapshot_fact(ADHESION_FOR_MEMBER_PRICES)
async def _adhesion_for_member_prices(session: AsyncSession) -> bool:
    return (await settings_of(session)).adhesion_for_member_prices


@snapshot_fact(ADHESION_FOR_BOOKING)
async def _adhesion_for_booking(session: AsyncSession) -> bool:
    return (await settings_of(session)).adhesion_for_booking


def need_of(space: Space, resource: Resource, starts_at: datetime, units: int) -> usage.Need:
    return usage.Need(units=units, kind=resource.kind, unit=resource.unit, starts_at=starts_at, tz=space.timezone)


def priced_only(units: int) -> usage.Choice:
    return usage.Choice(priced_units=units)


def lines_for(space: Space, resource: Resource, units: int, choice: usage.Choice,
              base: PriceKind) -> tuple[PricedLine, ...]:
    """The booking's lines: one per bucket used (at 0, kept as a charge), then the priced rest."""
    rate = pricing.rate_of(space, resource)
    lines = [
        pricing.line(space, item=Item.booking, label=f"{resource.name} — {t.label}", quantity=t.booking_units,
                     unit=resource.unit, unit_price_cents=0, vat_rate_bp=rate,
                     price_kind=PriceKind.pass_ if t.is_pass else PriceKind.plan)
        for t in choice.takes
    ]
    if choice.priced_units or not choice.takes:
        lines.append(pricing.booking_line(space, resource, label=resource.name, unit=resource.unit,
                                          units=choice.priced_units if choice.takes else units, price_kind=base))
    return tuple(lines)


def kind_paid(choice: usage.Choice, base: PriceKind) -> str:
    """``Booking.price_kind``: the price paid when anything is priced, else what covered it all."""
    if choice.priced_units or not choice.takes:
        return base
    return PriceKind.pass_ if any(t.is_pass for t in choice.takes) else PriceKind.plan


def base_kind(booking: Booking) -> PriceKind:
    """The price a booking falls back to: a guest's public price stays; anyone else's is the member's."""
    return PriceKind.public if booking.price_kind == PriceKind.public else PriceKind.member


async def preview(session: AsyncSession, *, account_id: int | None, need: usage.Need,
                  use_credits: bool) -> usage.Choice:
    if not use_credits or account_id is None:
        return priced_only(need.units)
    return await usage.preview(session, account_id=account_id, need=need)


async def lock(session: AsyncSession, *, account_id: int | None, need: usage.Need, use_credits: bool,
               give_back: Sequence[CreditEntry] = ()) -> usage.Locked:
    """Lock the buckets ``need`` may use and those ``give_back`` returns to (nothing written yet:
    a move locks before its guard and writes after it)."""
    return await usage.lock_for(session, account_id=account_id, need=need, use_credits=use_credits,
                                also=[d.bucket_id for d in give_back])


async def choose(session: AsyncSession, locked: usage.Locked, *, refuse_when_out: bool,
                 give_back: Sequence[CreditEntry] = (), actor_id: int | None = None, reason: str = "") -> usage.Choice:
    """Under the lock: refund ``give_back`` (a move, an override), then choose. With
    ``refuse_when_out`` a booking the member's credits no longer cover is refused when the space
    says so (``when_credits_run_out``) — only for someone who has such credits at all."""
    if give_back:
        await usage.refund(session, give_back, locked.buckets, actor_id=actor_id, reason=reason)
    choice = await usage.choose_locked(session, locked)
    if refuse_when_out and choice.priced_units and choice.matched:
        if (await settings_of(session)).when_credits_run_out == WhenCreditsRunOut.refuse:
            raise CreditsRunOut()
    return choice


def debit(session: AsyncSession, choice: usage.Choice, locked: usage.Locked, booking: Booking, *,
          actor_id: int | None, reason: str = "") -> list[CreditEntry]:
    return usage.write_debits(session, choice, locked.buckets, booking_id=booking.id, actor_id=actor_id,
                              reason=reason)


async def refund_booking(session: AsyncSession, booking: Booking, *, actor_id: int | None, reason: str = "") -> int:
    """Give back what a booking took (its debits not refunded yet). Returns the units usable again."""
    debits = await usage.debits_of(session, booking.id)
    if not debits:
        return 0
    buckets = {b.id: b for b in await ledger.lock(session, [d.bucket_id for d in debits]) if b.id is not None}
    return await usage.refund(session, debits, buckets, actor_id=actor_id, reason=reason)


async def late_cancel_keeps_credits(session: AsyncSession) -> bool:
    return not (await settings_of(session)).late_cancel_returns_credits


async def override(session: AsyncSession, *, space: Space, resource: Resource, booking: Booking, actor: Account,
                   use_credits: bool, reason: str) -> Booking:
    """Staff set what a booking uses, with a reason (logged): ``use_credits=False`` gives its credits
    back and prices it; ``True`` gives them back and takes the member's credits again as a new
    booking would (after a grant, say). Its charges are reversed and written again."""
    reason = clean_text(reason, 300)
    if not reason:
        raise ValidationFailed(fields={"reason": N_("Say why: the reason is kept in the log.")})
    await session.refresh(booking, with_for_update=True)
    if booking.status != BookingStatus.confirmed or booking.source == BookingSource.event:
        raise BookingNotActive()
    cal = await load_calendar(session, space)
    units = rules.units_for(booking.starts_at, booking.ends_at, unit=resource.unit, cal=cal)
    base = base_kind(booking)
    given_back = await usage.debits_of(session, booking.id)
    locked = await lock(session, account_id=booking.account_id, use_credits=use_credits,
                        need=need_of(space, resource, booking.starts_at, units), give_back=given_back)
    choice = await choose(session, locked, refuse_when_out=False, give_back=given_back, actor_id=actor.id,
                          reason=reason)
    before = (booking.price_cents, booking.price_kind)
    lines = lines_for(space, resource, units, choice, base)
    booking.price_cents, booking.price_kind = pricing.total_incl(list(lines)), kind_paid(choice, base)
    booking.updated_at = clock.now()
    session.add(booking)
    await charges.reverse(session, source=charges.Source.booking, source_id=booking.id)
    charges.record(session, list(lines), source=charges.Source.booking, source_id=booking.id,
                   account_id=booking.account_id)
    debit(session, choice, locked, booking, actor_id=actor.id, reason=reason)
    log_action(session, "booking.credits_overridden", space_id=space.id, actor_id=actor.id, obj=booking,
               reason=reason, use_credits=use_credits, credits_given_back=-sum(d.quantity for d in given_back),
               credits_taken=sum(t.credits for t in choice.takes), from_price_cents=before[0],
               to_price_cents=booking.price_cents, from_price_kind=before[1], to_price_kind=booking.price_kind)
    await session.flush()
    return booking

"""Charges written from priced lines, in the caller's transaction; reversed, never edited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock
from app.core.errors import FabriqueError
from app.core.i18n import N_
from app.core.tenancy import require_scope
from app.pricing import repository
from app.pricing.models import Charge
from app.pricing.quote import Item, PricedLine, PriceKind
from app.pricing.vat import Amounts


class Source(StrEnum):
    booking = "booking"
    registration = "registration"
    order = "order"  # app.membership: a plan period, a pass, an adhésion


class AlreadyReversed(FabriqueError):
    status_code = 409
    code = "already_cancelled"
    message = N_("This was already cancelled.")


def _saved(source_id: int | None) -> int:
    if source_id is None:
        raise ValueError("charges belong to a saved booking or registration: flush it first")
    return source_id


def charge_row(space_id: int, x: PricedLine, *, source: Source, source_id: int, account_id: int | None,
               now: datetime) -> dict[str, Any]:
    """The columns of the charge for one priced line: the one place a charge is built from a line
    (``record`` one source's, ``record_many`` thousands at once)."""
    return {"space_id": space_id, "account_id": account_id, "source_type": source, "source_id": source_id,
            "item": x.item, "label": x.label[:200], "quantity": x.quantity, "unit": x.unit,
            "unit_price_cents": x.unit_price_cents, "prices_include_vat": x.prices_include_vat,
            "vat_rate_bp": x.vat_rate_bp, "price_kind": x.price_kind, "currency": x.currency,
            "amount_excl_cents": x.amount_excl_cents, "vat_cents": x.vat_cents,
            "amount_incl_cents": x.amount_incl_cents, "created_at": now}


def record(session: AsyncSession, lines: list[PricedLine], *, source: Source, source_id: int | None,
           account_id: int | None) -> list[Charge]:
    """Add a charge per kept line (``PricedLine.is_kept``; written with the caller's next flush, in its transaction)."""
    source_id = _saved(source_id)
    now = clock.now()
    space_id = require_scope(session)
    charges = [Charge(**charge_row(space_id, x, source=source, source_id=source_id, account_id=account_id, now=now))
               for x in lines if x.is_kept]
    session.add_all(charges)
    return charges


async def record_many(session: AsyncSession, sources: Sequence[tuple[int, int | None, list[PricedLine]]], *,
                      source: Source) -> None:
    """``record`` for many sources at once — ``(source id, account id, lines)`` each — as one bulk
    INSERT (the renewal job's orders), written now."""
    now = clock.now()
    space_id = require_scope(session)
    rows = [charge_row(space_id, x, source=source, source_id=source_id, account_id=account_id, now=now)
            for source_id, account_id, lines in sources for x in lines if x.is_kept]
    if rows:
        # RETURNING makes the driver send the rows as multi-row VALUES batches, not one statement each.
        await session.exec(insert(Charge).returning(col(Charge.id)), params=rows)


def line_of(charge: Charge) -> PricedLine:
    return PricedLine(Item(charge.item), charge.label, charge.quantity, charge.unit, charge.unit_price_cents,
                      charge.prices_include_vat, charge.vat_rate_bp, PriceKind(charge.price_kind), charge.currency,
                      Amounts(charge.amount_excl_cents, charge.vat_cents, charge.amount_incl_cents))


async def reverse(session: AsyncSession, *, source: Source, source_id: int | None) -> list[Charge]:
    """Write the negation of each of the source's charges not reversed yet; returns the originals.

    A line is reversed at most once: the unique ``reverses_id`` lets the database decide between
    two cancellations racing (the second gets :class:`AlreadyReversed`, a 409).
    """
    originals = await repository.unreversed(session, source, _saved(source_id))
    if not originals:
        return []
    now = clock.now()
    session.add_all([
        Charge(space_id=c.space_id, account_id=c.account_id, source_type=c.source_type, source_id=c.source_id, item=c.item,
               label=c.label, quantity=-c.quantity, unit=c.unit, unit_price_cents=c.unit_price_cents,
               prices_include_vat=c.prices_include_vat, vat_rate_bp=c.vat_rate_bp, price_kind=c.price_kind,
               currency=c.currency, amount_excl_cents=-c.amount_excl_cents, vat_cents=-c.vat_cents,
               amount_incl_cents=-c.amount_incl_cents, reverses_id=c.id, created_at=now)
        for c in originals
    ])
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AlreadyReversed() from exc
    return originals


async def charges_for(session: AsyncSession, source: Source, source_id: int | None) -> list[Charge]:
    """One booking's or registration's charges, oldest first."""
    return await repository.charges_of(session, source, [_saved(source_id)])


async def charges_of(session: AsyncSession, source: Source,
                     source_ids: Sequence[int | None]) -> dict[int, list[Charge]]:
    ids = [i for i in source_ids if i is not None]  # (ids of rows not flushed yet have no charges)
    by_source: dict[int, list[Charge]] = {i: [] for i in ids}
    for c in await repository.charges_of(session, source, ids):
        by_source[c.source_id].append(c)
    return by_source

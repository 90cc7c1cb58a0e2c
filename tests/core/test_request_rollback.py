"""A request that handled an error rolls back, even when it answers with a redirect."""

from __future__ import annotations

from datetime import date

import httpx
from fastapi import APIRouter, FastAPI, Request
from sqlmodel import select

from app.booking.models import Closure
from app.core import db
from app.core.errors import ValidationFailed
from app.core.tenancy import set_scope
from app.core.web import SessionDep, TxRoute, redirect


def _page_app(space_id: int) -> FastAPI:
    """A page written the way Fabrique's pages are: it writes, flushes, then meets a refusal it
    handles by redirecting with an error flash (as the booking cancel page does)."""
    router = APIRouter(route_class=TxRoute)

    @router.post("/close/{outcome}")
    async def close(outcome: str, request: Request, session: SessionDep):
        set_scope(session, space_id)
        session.add(Closure(start_date=date(2031, 1, 2), end_date=date(2031, 1, 2), label=outcome))
        await session.flush()
        try:
            if outcome == "refused":
                raise ValidationFailed()
        except ValidationFailed as exc:
            return redirect("/done", message=exc.translated_message(), category="error")
        return redirect("/done", message="saved")

    application = FastAPI()
    application.include_router(router)
    return application


async def _closures(space_id: int) -> list[str]:
    async with db.transaction(space_id=space_id, write=False) as session:
        return [c.label for c in (await session.exec(select(Closure))).all()]


async def test_a_redirect_after_a_handled_error_keeps_nothing_that_was_flushed(world):
    space_id = world.a.space.id
    transport = httpx.ASGITransport(app=_page_app(space_id))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        refused = await client.post("/close/refused")
        saved = await client.post("/close/saved")
    assert refused.status_code == saved.status_code == 303
    assert "fabrique_flash" in refused.cookies  # the user is told why
    assert await _closures(space_id) == ["saved"]


async def test_a_refused_cancellation_from_the_bookings_page_writes_nothing(world, web):
    """The real page: a member's cancellation refused after the deadline is a 303 with the reason,
    and the booking stays as it was."""
    from datetime import timedelta

    from app.booking.models import Booking
    from app.core.clock import now
    from app.resource.models import Resource

    space_id = world.a.space.id
    async with db.transaction(space_id=space_id) as session:
        resource = Resource(name="Salle", unit="hour", late_cancel="refuse", cancel_deadline_hours=48,
                            horizon_days=None)
        session.add(resource)
        await session.flush()
        start = (now() + timedelta(hours=30)).replace(minute=0, second=0, microsecond=0)
        booking = Booking(resource_id=resource.id, account_id=world.a.member.id, starts_at=start,
                          ends_at=start + timedelta(hours=1), blocked_until=start + timedelta(hours=1))
        session.add(booking)
    browser = await web(world.a.member)
    response = await browser.post(f"/s/{world.a.slug}/bookings/{booking.id}/cancel", {"reason": "x"})
    assert response.status_code == 303
    async with db.transaction(space_id=space_id, write=False) as session:
        stored = await session.get(Booking, booking.id)
    assert stored is not None and stored.status == "confirmed" and stored.cancel_reason == ""

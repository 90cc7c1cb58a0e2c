"""What the event pages share: one page router, and helpers to build their context."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.core import money
from app.core.i18n import _l
from app.core.web import page_router, register_space_nav, render
from app.event.inputs import local_input_value
from app.event.models import Event
from app.pricing import vat
from app.pricing.forms import vat_choices
from app.space import service as spaces

router = page_router()

register_space_nav(30, None, _l("Events"), "events")


async def form_context(session: Any, ctx: Any, mode: str, event: Event | None = None) -> dict[str, Any]:
    from app.event.rooms import rooms_of

    rooms = await rooms_of(session)
    return {"ctx": ctx, "mode": mode, "event": event, "rooms": rooms, "vat_rates": vat_choices(),
            "room_options": lambda rs: [(str(r.id), r.name) for r in rs]}


async def remember_spaces(request: Request, session: Any, account: Any) -> None:
    if account is not None:
        request.state.my_spaces = await spaces.spaces_of(session, account.id)


async def confirm_page(request: Request, ctx: Any, session: Any, kind: str, args: dict[str, Any]) -> Response:
    """The page that asks before a destructive action (``confirm/actions.html`` holds the words)."""
    await remember_spaces(request, session, ctx.account)
    return render(request, "confirm/page.html", {"ctx": ctx, "kind": kind, "args": args})


def form_from_event(event: Event, tz: str) -> dict[str, str]:
    return {
        "title": event.title, "description": event.description, "place": event.place,
        "resource_id": str(event.resource_id or ""),
        "starts_at": local_input_value(event.starts_at, tz), "ends_at": local_input_value(event.ends_at, tz),
        "registration_deadline": local_input_value(event.registration_deadline, tz),
        "capacity": str(event.capacity or ""), "visibility": event.visibility,
        "price_public": money.amount_input(event.price_public_cents) if event.price_public_cents else "",
        "price_member": money.amount_input(event.price_member_cents) if event.price_member_cents else "",
        "vat_rate": "" if event.vat_rate_bp is None else vat.rate_label(event.vat_rate_bp),
    }

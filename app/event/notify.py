"""E-mails to registrants and proposers, in each recipient's language.

Contexts are plain data (``str()`` of the status enums): the ``email.send`` job renders them
after the commit, maybe in another process.

Visitors have no account: their e-mails carry a signed link to their registration (confirm,
cancel, add to calendar). The link names the registration and is signed with the platform's
secret, so it can be rebuilt for every later e-mail without storing a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.config import get_settings
from app.core import security
from app.core.mail import queue_email
from app.event.invitations import registration_invitation
from app.event.models import Event, Registration
from app.space.models import Space

LINK_PURPOSE = "event-registration"
LINK_MAX_AGE = 400 * 24 * 3600


@dataclass
class Contact:
    email: str
    name: str
    locale: str


async def contact_of(session: AsyncSession, space: Space, reg: Registration) -> Contact | None:
    if reg.account_id is not None:
        account = await session.get(Account, reg.account_id)
        if account is None or account.suspended_at is not None:
            return None
        return Contact(account.email, account.name, account.locale or space.locale)
    if reg.email:
        return Contact(reg.email, reg.name or "", reg.locale or space.locale)
    return None


def registration_token(space: Space, reg: Registration) -> str:
    return security.sign_link(LINK_PURPOSE, {"r": reg.id, "s": space.id})


def read_registration_token(token: str) -> tuple[int, int]:
    """(registration id, space id) from a signed link; raises security.LinkInvalid."""
    data = security.read_link(LINK_PURPOSE, token, LINK_MAX_AGE)
    if not isinstance(data, dict) or not isinstance(data.get("r"), int) or not isinstance(data.get("s"), int):
        raise security.LinkInvalid()
    return data["r"], data["s"]


def registration_url(space: Space, event: Event, reg: Registration) -> str:
    base = get_settings().base_url
    if reg.account_id is None:
        return f"{base}/r/{registration_token(space, reg)}"
    return f"{base}/s/{space.slug}/events/{event.id}"


def event_context(space: Space, event: Event) -> dict[str, Any]:
    return {
        "space_name": space.name, "tz": space.timezone, "title": event.title, "starts_at": event.starts_at,
        "ends_at": event.ends_at, "place": event.place, "event_id": event.id,
    }


async def tell_registrant(
    session: AsyncSession, space: Space, event: Event, reg: Registration, template: str, **extra: Any
) -> None:
    contact = await contact_of(session, space, reg)
    if contact is None:
        return
    ctx = event_context(space, event) | {
        "name": contact.name, "url": registration_url(space, event, reg), "status": str(reg.status),
        "price_cents": reg.price_cents, "payment_status": str(reg.payment_status), "currency": space.currency,
    } | extra
    attachments = registration_invitation(space, event, reg, email=contact.email, name=contact.name,
                                          template=template)
    queue_email(session, contact.email, template, ctx, locale=contact.locale, attachments=attachments)


async def tell_proposer(session: AsyncSession, space: Space, event: Event, template: str, **extra: Any) -> None:
    if event.proposed_by_id is None:
        return
    account = await session.get(Account, event.proposed_by_id)
    if account is None or account.suspended_at is not None:
        return
    ctx = event_context(space, event) | {
        "name": account.name, "url": f"{get_settings().base_url}/s/{space.slug}/events/proposals",
        "decline_message": event.decline_message,
    } | extra
    queue_email(session, account.email, template, ctx, locale=account.locale or space.locale)

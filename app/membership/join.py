"""Joining a space: a visitor's request (name, e-mail, organisation, needs, a public plan), then the
staff's answer, per the space's ``join_policy``:

- ``closed``: no request is taken (``JoinClosed``);
- ``request``: the request waits (``pending``) and the staff who manage memberships are e-mailed;
  accepting it invites the address through the space's invitation service (the person gets the
  usual invitation e-mail), declining it e-mails the staff's message;
- ``open``: the request is accepted at once (the invitation goes out, sent on the space's behalf
  by its first owner).

The visitor always gets the same answer — whether the address already asked, already has an
account or is already a member, or the e-mail limit (``app.account.throttle``) was reached — so
the form reveals nothing. One pending request per address and space: a partial unique index
decides between two sent at once. Accepting and declining are conditional UPDATEs (``WHERE status
= 'pending'``): two staff answering at once answer once; the second gets ``JoinRequestDecided``.

When the invitation is accepted (``app.space.service.on_invitation_accepted``), the plan chosen
in the request is assigned (``app.membership.subscriptions.subscribe``).
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.account.service import get_by_email
from app.audit.service import audit_labels, log_action
from app.config import get_settings
from app.core import clock
from app.core.errors import FabriqueError
from app.core.i18n import _l
from app.core.mail import queue_email
from app.core.permissions import Perm, Role, has_perm
from app.core.tenancy import require_scope
from app.core.text import clean_text, require_one_line
from app.membership.errors import JoinClosed, JoinRequestDecided, JoinRequestNotFound, PlanNotAvailable
from app.membership.models import JoinPolicy, JoinRequest, JoinStatus, Plan
from app.membership.settings import settings_of
from app.space import service as spaces
from app.space.models import Invitation, Space, SpaceMember

log = logging.getLogger("fabrique.membership")

audit_labels({
    "join.requested": _l("Request to join received"),
    "join.accepted": _l("Request to join accepted"),
    "join.declined": _l("Request to join declined"),
    "join.plan_assigned": _l("Plan of a request to join assigned"),
})


async def public_plans(session: AsyncSession) -> list[Plan]:
    return list((await session.exec(select(Plan).where(col(Plan.public).is_(True), col(Plan.archived_at).is_(None))
                                    .order_by(col(Plan.position), col(Plan.id)))).all())


async def _public_plan(session: AsyncSession, plan_id: int | None) -> int | None:
    if plan_id is None:
        return None
    plan = (await session.exec(select(Plan).where(Plan.id == plan_id))).first()
    if plan is None or not plan.public or plan.archived_at is not None:
        raise PlanNotAvailable(fields={"plan_id": PlanNotAvailable.message})
    return plan.id


async def policy(session: AsyncSession) -> str:
    return (await settings_of(session)).join_policy


async def submit(session: AsyncSession, space: Space, *, name: str, email: str, organisation: str = "",
                 needs: str = "", plan_id: int | None = None, ip: str = "unknown") -> None:
    """A visitor asks to join. Returns the same (nothing) whatever happened behind, so that the
    answer reveals nothing; raises only for what the visitor can fix (closed, a plan not offered)."""
    from app.account import throttle

    current = await policy(session)
    if current == JoinPolicy.closed:
        raise JoinClosed()
    plan_id = await _public_plan(session, plan_id)
    if not await throttle.allow_mail(session, throttle.mail_buckets("join", email, ip)):
        log.info("join request to space %s not recorded: e-mail limit reached", space.id)
        return
    name, organisation = require_one_line(name, "name"), require_one_line(organisation, "organisation")
    req = JoinRequest(space_id=require_scope(session), name=clean_text(name, 120), email=email,
                      organisation=clean_text(organisation, 200), needs=clean_text(needs)[:2000], plan_id=plan_id,
                      created_at=clock.now())
    try:
        async with session.begin_nested():
            session.add(req)
            await session.flush()
    except IntegrityError:  # this address already has a request waiting: it is the one request
        return
    log_action(session, "join.requested", space_id=space.id, obj=req, email=email)
    if current == JoinPolicy.open:
        owner = await _first_owner(session)
        await _accept(session, space, req, actor=owner, actor_role=Role.owner)
        return
    await _tell_staff(session, space, req)


async def _first_owner(session: AsyncSession) -> Account:
    return (await session.exec(select(Account).join(SpaceMember, col(SpaceMember.account_id) == Account.id)
                               .where(SpaceMember.role == Role.owner).order_by(col(SpaceMember.id)).limit(1))).one()


async def _tell_staff(session: AsyncSession, space: Space, req: JoinRequest) -> None:
    roles = [r.value for r in Role if has_perm(r, Perm.membership_manage)]
    staff = (await session.exec(select(Account).join(SpaceMember, col(SpaceMember.account_id) == Account.id)
                                .where(col(SpaceMember.role).in_(roles)).order_by(col(Account.id)))).all()
    plan = (await session.get(Plan, req.plan_id)) if req.plan_id else None
    for person in staff:
        queue_email(session, person.email, "join_request_received", {
            "space_name": space.name, "name": req.name, "email": req.email, "organisation": req.organisation,
            "needs": req.needs, "plan": plan.name if plan else "",
            "url": f"{get_settings().base_url}/s/{space.slug}/manage/join-requests",
        }, locale=person.locale or space.locale)


async def list_requests(session: AsyncSession, *, status: str | None = JoinStatus.pending,
                        limit: int = 100, offset: int = 0) -> list[JoinRequest]:
    stmt = select(JoinRequest)
    if status:
        stmt = stmt.where(JoinRequest.status == status)
    return list((await session.exec(stmt.order_by(col(JoinRequest.created_at).desc(), col(JoinRequest.id).desc())
                                    .offset(offset).limit(limit))).all())


async def get_request(session: AsyncSession, request_id: int) -> JoinRequest:
    req = (await session.exec(select(JoinRequest).where(JoinRequest.id == request_id))).first()
    if req is None:
        raise JoinRequestNotFound()
    return req


async def _decide(session: AsyncSession, req: JoinRequest, status: JoinStatus, actor_id: int,
                  message: str = "") -> None:
    now = clock.now()
    done = await session.exec(update(JoinRequest).where(col(JoinRequest.id) == req.id,
                                                        col(JoinRequest.status) == JoinStatus.pending)
                              .values(status=status, decided_by_id=actor_id, decided_at=now, decline_message=message))
    if done.rowcount != 1:
        raise JoinRequestDecided()
    await session.refresh(req)


async def _accept(session: AsyncSession, space: Space, req: JoinRequest, *, actor: Account, actor_role: str) -> None:
    await _decide(session, req, JoinStatus.accepted, actor.id)  # type: ignore[arg-type]
    log_action(session, "join.accepted", space_id=space.id, actor_id=actor.id, obj=req, email=req.email)
    existing = await get_by_email(session, req.email)
    if existing is not None and existing.id is not None and await spaces.membership(session, existing.id) is not None:
        return  # already in: nothing to send (and nothing said to the visitor either)
    await spaces.invite(session, space, actor, actor_role, email=req.email, role=Role.member)


async def accept(session: AsyncSession, space: Space, req: JoinRequest, *, actor: Account, actor_role: str) -> None:
    """Accept a pending request: the address is invited (the invitation e-mail goes out)."""
    await _accept(session, space, req, actor=actor, actor_role=actor_role)


async def decline(session: AsyncSession, space: Space, req: JoinRequest, *, actor: Account, message: str) -> None:
    """Decline a pending request; the message is e-mailed to the person."""
    message = clean_text(message)[:2000]
    await _decide(session, req, JoinStatus.declined, actor.id, message)  # type: ignore[arg-type]
    log_action(session, "join.declined", space_id=space.id, actor_id=actor.id, obj=req, email=req.email)
    queue_email(session, req.email, "join_request_declined", {
        "space_name": space.name, "name": req.name, "message": message,
    }, locale=space.locale)


# -- when the invitation is accepted -------------------------------------------------------------------

def _subscriptions() -> ModuleType | None:
    """The subscriptions service (another part of the memberships work); None until it exists."""
    try:
        return importlib.import_module("app.membership.subscriptions")
    except ModuleNotFoundError:
        return None


@spaces.on_invitation_accepted
async def assign_requested_plan(session: AsyncSession, space: Space, invitation: Invitation,
                                account: Account) -> None:
    """The person invited after a request to join has accepted: the plan they chose is assigned."""
    req = (await session.exec(select(JoinRequest).where(
        JoinRequest.email == invitation.email, JoinRequest.status == JoinStatus.accepted,
        col(JoinRequest.plan_id).is_not(None)).order_by(col(JoinRequest.decided_at).desc()).limit(1))).first()
    if req is None:
        return
    plan = await session.get(Plan, req.plan_id)
    subscriptions = _subscriptions()
    if plan is None or plan.archived_at is not None or subscriptions is None:
        log.warning("join request %s: plan %s not assigned (unavailable)", req.id, req.plan_id)
        return
    from app.membership.adhesion import local_today

    try:
        # A plan that cannot be assigned (e.g. archived since) must not stop the person joining:
        # staff see the plan chosen on the request and assign one by hand.
        async with session.begin_nested():
            await subscriptions.subscribe(session, space, account_id=account.id, plan=plan,
                                          starts_on=local_today(space), actor_id=req.decided_by_id)
    except FabriqueError as exc:
        log.warning("join request %s: plan %s not assigned (%s)", req.id, plan.id, exc.error_code)
        return
    log_action(session, "join.plan_assigned", space_id=space.id, actor_id=account.id, obj=req, plan_id=plan.id)

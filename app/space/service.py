"""Spaces, their people and invitations."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import available_timezones

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.account.service import get_by_email, normalize_email
from app.audit.readable import audit_fields, audit_names
from app.audit.service import audit_labels, log_action
from app.config import get_settings
from app.core import clock, security
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import N_, _l
from app.core.mail import queue_email
from app.core.permissions import Perm, Role, has_perm
from app.core.tenancy import all_spaces, require_scope, set_scope
from app.core.text import column_limit, multi_line, require_one_line, require_text
from app.pricing import vat
from app.space.errors import (
    AlreadyMember,
    InvalidTimezone,
    InvitationInvalid,
    LastOwner,
    SlugInvalid,
    SlugReserved,
    SlugTaken,
)
from app.space.legal import LEGAL_FIELDS, check_legal_identity
from app.space.models import PUBLIC_BLOCKS, PUBLIC_TEXT_MAX, Invitation, Space, SpaceMember

# What the audit page calls the actions logged here.
audit_labels({
    "space.created": _l("Space created"),
    "space.updated": _l("Space settings changed"),
    "space.public_page_changed": _l("Public page changed"),
    "space.legal_identity_changed": _l("Legal identity changed"),
    "space.suspended": _l("Space suspended"),
    "space.reactivated": _l("Space reactivated"),
    "member.invited": _l("Person invited"),
    "member.joined": _l("Invitation accepted"),
    "member.role_changed": _l("Role changed"),
    "member.tags_changed": _l("Member tags changed"),
    "member.note_changed": _l("Private note on a member changed"),
    "member.removed": _l("Person removed"),
    "invitation.revoked": _l("Invitation revoked"),
})
audit_fields({"tags": _l("Tags"), "slug": _l("Address"), "published": _l("Published"), "blocks": _l("Blocks shown")})


@audit_names("space_member")
async def _member_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.exec(select(SpaceMember.id, Account.name).join(Account, col(Account.id) == SpaceMember.account_id)
                              .where(col(SpaceMember.id).in_(ids)))
    return {i: n for i, n in rows.all() if i is not None}

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,46})[a-z0-9]$")
RESERVED_SLUGS = frozenset({
    "api", "static", "docs", "redoc", "admin", "platform", "login", "logout", "signup", "account",
    "accounts", "spaces", "space", "s", "p", "invitations", "invite", "healthz", "readyz", "openapi",
    "openapi-json", "reset-password", "forgot-password", "verify-email", "lang", "help", "about", "www",
    "mail", "app", "assets", "media", "public", "feeds", "ics", "calendar", "settings", "new", "fabrique",
    "support", "status", "root", "system", "webhooks", "stripe", "billing", "favicon-ico", "robots-txt",
})
TIMEZONES = frozenset(available_timezones())


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()
    return text[:48].strip("-")


def validate_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug) or "--" in slug:
        raise SlugInvalid()
    if slug in RESERVED_SLUGS:
        raise SlugReserved()
    return slug


def validate_timezone(tz: str) -> str:
    if tz not in TIMEZONES:
        raise InvalidTimezone()
    return tz


async def get_space(session: AsyncSession, slug: str) -> Space:
    space = (await session.exec(select(Space).where(Space.slug == slug))).first()
    if space is None:
        raise NotFound()
    return space


async def create_space(
    session: AsyncSession, owner: Account, *, name: str, slug: str | None = None,
    timezone: str = "Europe/Paris", locale: str = "fr", **legal: object,
) -> tuple[Space, SpaceMember]:
    """Create a space owned by ``owner``; ``legal`` holds legal identity fields, checked by
    ``app.space.legal`` (unknown names are a programming error)."""
    name = require_text(name, "name", max_length=column_limit(Space, "name"))
    slug = validate_slug(slug or slugify(name))
    validate_timezone(timezone)
    unknown = set(legal) - set(LEGAL_FIELDS)
    if unknown:
        raise TypeError(f"unknown legal identity fields: {sorted(unknown)}")
    identity = check_legal_identity(legal)
    if (await session.exec(select(Space.id).where(Space.slug == slug))).first() is not None:
        raise SlugTaken()
    space = Space(name=name.strip(), slug=slug, timezone=timezone, locale=locale, **identity)
    session.add(space)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise SlugTaken() from exc
    set_scope(session, space.id)
    member = SpaceMember(space_id=space.id, account_id=owner.id, role=Role.owner)
    session.add(member)
    await session.flush()
    log_action(session, "space.created", space_id=space.id, actor_id=owner.id, obj=space, slug=slug)
    return space, member


async def update_space(session: AsyncSession, space: Space, actor: Account, **changes: object) -> Space:
    if changes.get("name") is not None:
        changes["name"] = require_text(str(changes["name"]), "name", max_length=column_limit(Space, "name"))
    if changes.get("timezone") is not None:
        validate_timezone(str(changes["timezone"]))
    if changes.get("default_vat_rate_bp") is not None:  # pricing settings
        vat.check_rate(changes["default_vat_rate_bp"], "default_vat_rate_bp")
    changed = {}
    for key, value in changes.items():
        if value is not None and getattr(space, key) != value:
            setattr(space, key, value)
            changed[key] = value
    if changed:
        session.add(space)
        log_action(session, "space.updated", space_id=space.id, actor_id=actor.id, obj=space,
                   fields=",".join(sorted(changed)))
    return space


async def set_public_page(
    session: AsyncSession, space: Space, actor: Account, *, published: bool, blocks: set[str] | frozenset[str],
    text: str | None,
) -> Space:
    """What visitors see at ``/s/{slug}``: whether the page is published, which blocks it shows
    (``PUBLIC_BLOCKS``; unknown names are ignored) and the presentation text (markdown)."""
    presentation = require_text(text, "public_text", max_length=PUBLIC_TEXT_MAX, required=False, single_line=False)
    chosen = ",".join(b for b in PUBLIC_BLOCKS if b in blocks)
    if (space.public_page, space.public_blocks, space.public_text) != (published, chosen, presentation):
        space.public_page, space.public_blocks, space.public_text = published, chosen, presentation
        session.add(space)
        log_action(session, "space.public_page_changed", space_id=space.id, actor_id=actor.id, obj=space,
                   published=published, blocks=chosen)
    return space


async def public_spaces(session: AsyncSession, *, limit: int = 100) -> list[Space]:
    """Spaces that publish a public page (not suspended), by name: the visitors' list on the home
    page. A cross-space query by nature; it reads nothing but the spaces' own public fields."""
    with all_spaces(session):
        rows = await session.exec(
            select(Space).where(col(Space.public_page).is_(True), col(Space.suspended_at).is_(None))
            .order_by(Space.name).limit(limit)
        )
        return list(rows.all())


def legal_identity_of(space: Space) -> dict[str, object]:
    return {name: getattr(space, name) for name in LEGAL_FIELDS}


async def set_legal_identity(
    session: AsyncSession, space: Space, actor: Account, changes: Mapping[str, object]
) -> Space:
    """Change some fields of the space's legal identity (the API's PATCH, the settings form).

    The result — the current identity with ``changes`` laid over it — is checked as a whole by
    ``app.space.legal.check_legal_identity``, so a SIREN and a VAT number given in two requests are
    compared too. A refusal changes nothing.
    """
    unknown = set(changes) - set(LEGAL_FIELDS)
    if unknown:
        raise TypeError(f"unknown legal identity fields: {sorted(unknown)}")
    identity = check_legal_identity({**legal_identity_of(space), **changes})
    changed = sorted(k for k, v in identity.items() if getattr(space, k) != v)
    if changed:
        for key in changed:
            setattr(space, key, identity[key])
        session.add(space)
        log_action(session, "space.legal_identity_changed", space_id=space.id, actor_id=actor.id, obj=space,
                   fields=",".join(changed))
    return space


@dataclass
class SpaceChoice:
    space: Space
    role: str


async def spaces_of(session: AsyncSession, account_id: int) -> list[SpaceChoice]:
    """Every space the account belongs to: a cross-space query, so the scope is lifted knowingly."""
    with all_spaces(session):
        rows = await session.exec(
            select(Space, SpaceMember.role).join(SpaceMember, col(SpaceMember.space_id) == Space.id)
            .where(SpaceMember.account_id == account_id).order_by(Space.name)
        )
        return [SpaceChoice(space, role) for space, role in rows.all()]


async def membership(session: AsyncSession, account_id: int) -> SpaceMember | None:
    require_scope(session)
    return (await session.exec(select(SpaceMember).where(SpaceMember.account_id == account_id))).first()


@dataclass
class MemberRow:
    member: SpaceMember
    account: Account


async def list_members(session: AsyncSession, *, role: str | None = None, q: str | None = None) -> list[MemberRow]:
    require_scope(session)
    stmt = select(SpaceMember, Account).join(Account, col(Account.id) == SpaceMember.account_id)
    if role:
        stmt = stmt.where(SpaceMember.role == role)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(func.lower(Account.name).like(like) | func.lower(Account.email).like(like))
    rows = await session.exec(stmt.order_by(func.lower(Account.name)))
    return [MemberRow(m, a) for m, a in rows.all()]


async def get_member(session: AsyncSession, member_id: int) -> SpaceMember:
    member = (await session.exec(select(SpaceMember).where(SpaceMember.id == member_id))).first()
    if member is None:
        raise NotFound()
    return member


def _check_can_grant(actor_role: str, role: str) -> None:
    if role == Role.owner and not has_perm(actor_role, Perm.owner_manage):
        raise PermissionDenied(N_("Only an owner can give or take away the owner role."))


async def _owner_count(session: AsyncSession) -> int:
    """The space's owners, their rows locked until the transaction ends (``FOR UPDATE``): two
    owners demoted, removed or deleting their accounts at once cannot both pass the last-owner
    check (``app.account.privacy`` locks the same rows, in the same order)."""
    return len((await session.exec(
        select(SpaceMember.id).where(SpaceMember.role == Role.owner).order_by(col(SpaceMember.id)).with_for_update()
    )).all())


async def change_role(
    session: AsyncSession, space: Space, actor: Account, actor_role: str, member: SpaceMember, role: Role
) -> SpaceMember:
    role = Role(role)
    if member.role == role:
        return member
    _check_can_grant(actor_role, role)
    _check_can_grant(actor_role, member.role)
    if member.role == Role.owner and await _owner_count(session) <= 1:
        raise LastOwner()
    old = member.role
    member.role = role
    session.add(member)
    log_action(session, "member.role_changed", space_id=space.id, actor_id=actor.id, obj=member,
               old=old, new=role.value)
    return member


async def remove_member(
    session: AsyncSession, space: Space, actor: Account, actor_role: str, member: SpaceMember
) -> None:
    _check_can_grant(actor_role, member.role)
    if member.role == Role.owner and await _owner_count(session) <= 1:
        raise LastOwner()
    for step in _ON_MEMBER_REMOVED:
        await step(session, space, member, actor)
    await session.delete(member)
    log_action(session, "member.removed", space_id=space.id, actor_id=actor.id, obj=member,
               account_id=member.account_id)


# What other domains do when a member is removed from a space, in the same transaction, before the
# membership row goes (e.g. their subscriptions end and their credits expire: app.membership.hooks).
MemberRemoved = Callable[[AsyncSession, Space, SpaceMember, Account], Awaitable[None]]
_ON_MEMBER_REMOVED: list[MemberRemoved] = []


def on_member_removed(fn: MemberRemoved) -> MemberRemoved:
    if fn not in _ON_MEMBER_REMOVED:
        _ON_MEMBER_REMOVED.append(fn)
    return fn


MAX_TAGS = 30
MAX_TAG_LENGTH = 40
MAX_NOTE_LENGTH = 2000


def check_tags(tags: list[str]) -> list[str]:
    """Tags as stored: trimmed, lower case, each one line of at most 40 characters, at most 30."""
    clean = sorted({require_one_line(t, "tags").lower() for t in tags if t.strip()})
    if len(clean) > MAX_TAGS:
        raise ValidationFailed(fields={"tags": N_("At most %(max)s tags.")}, params={"max": MAX_TAGS},
                               code="too_many_tags")
    if any(len(t) > MAX_TAG_LENGTH or "," in t for t in clean):
        raise ValidationFailed(fields={"tags": N_("A tag holds at most %(max)s characters and no comma.")},
                               params={"max": MAX_TAG_LENGTH}, code="invalid_tag")
    return clean


async def set_member_tags(session: AsyncSession, space: Space, actor: Account, member: SpaceMember,
                          tags: list[str]) -> SpaceMember:
    tags_text = ",".join(check_tags(tags))
    if tags_text == member.tags:
        return member
    member.tags = tags_text
    session.add(member)
    log_action(session, "member.tags_changed", space_id=space.id, actor_id=actor.id, obj=member, tags=member.tags,
               account_id=member.account_id)
    return member


async def set_member_note(session: AsyncSession, space: Space, actor: Account, member: SpaceMember,
                          note: str) -> SpaceMember:
    """The team's private note on a member (several lines allowed); the audit log says it changed,
    not what it says."""
    text = multi_line(note).strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise ValidationFailed(fields={"note": N_("At most %(max)s characters.")}, params={"max": MAX_NOTE_LENGTH},
                               code="note_too_long")
    if text == member.note:
        return member
    member.note = text
    session.add(member)
    log_action(session, "member.note_changed", space_id=space.id, actor_id=actor.id, obj=member,
               account_id=member.account_id)
    return member


# -- invitations --------------------------------------------------------------------------------------

async def invite(
    session: AsyncSession, space: Space, actor: Account, actor_role: str, *, email: str, role: Role
) -> tuple[Invitation, str]:
    """Invite someone by e-mail; the e-mailed link carries a token shown nowhere else."""
    email = normalize_email(email)
    role = Role(role)
    _check_can_grant(actor_role, role)
    existing = await get_by_email(session, email)
    if existing and await membership(session, existing.id):
        raise AlreadyMember()
    raw = security.new_token()
    invitation = Invitation(
        email=email, role=role, token_hash=security.hash_token(raw), invited_by_id=actor.id,
        expires_at=clock.now() + timedelta(days=get_settings().invitation_days),
    )
    session.add(invitation)
    await session.flush()
    log_action(session, "member.invited", space_id=space.id, actor_id=actor.id, obj=invitation,
               email=email, role=role.value)
    queue_email(session, email, "invitation", {
        "space_name": space.name, "inviter": actor.name, "role": role.value,
        "url": f"{get_settings().base_url}/invitations/{raw}",
        "days": get_settings().invitation_days,
    }, locale=existing.locale if existing and existing.locale else space.locale)
    return invitation, raw


async def pending_invitations(session: AsyncSession) -> list[Invitation]:
    require_scope(session)
    rows = await session.exec(
        select(Invitation).where(
            col(Invitation.accepted_at).is_(None), col(Invitation.revoked_at).is_(None),
            col(Invitation.expires_at) > clock.now(),
        ).order_by(col(Invitation.created_at).desc())
    )
    return list(rows.all())


async def revoke_invitation(session: AsyncSession, space: Space, actor: Account, invitation_id: int) -> None:
    invitation = (await session.exec(select(Invitation).where(Invitation.id == invitation_id))).first()
    if invitation is None or invitation.accepted_at is not None:
        raise NotFound()
    revoked_at = clock.now()
    # Conditional, like the acceptance it races with: an invitation is accepted or revoked, never both.
    done = await session.exec(update(Invitation).where(
        col(Invitation.id) == invitation.id, col(Invitation.accepted_at).is_(None),
    ).values(revoked_at=revoked_at))
    if done.rowcount != 1:
        raise NotFound()
    invitation.revoked_at = revoked_at
    log_action(session, "invitation.revoked", space_id=space.id, actor_id=actor.id, obj=invitation)


async def find_invitation(session: AsyncSession, raw: str) -> tuple[Invitation, Space]:
    """Look an invitation up by its token, across spaces (the token is the only key we have)."""
    with all_spaces(session):
        row = (await session.exec(
            select(Invitation, Space).join(Space, col(Space.id) == Invitation.space_id)
            .where(Invitation.token_hash == security.hash_token(raw))
        )).first()
    if row is None:
        raise NotFound()
    invitation, space = row
    if invitation.accepted_at or invitation.revoked_at or invitation.expires_at <= clock.now():
        raise InvitationInvalid()
    return invitation, space


# What other domains do when an invitation is accepted, in the same transaction (e.g. the plan a
# request to join chose is assigned: app.membership.join). Registered at import; run in order.
InvitationAccepted = Callable[[AsyncSession, Space, Invitation, Account], Awaitable[None]]
_ON_INVITATION_ACCEPTED: list[InvitationAccepted] = []


def on_invitation_accepted(fn: InvitationAccepted) -> InvitationAccepted:
    _ON_INVITATION_ACCEPTED.append(fn)
    return fn


async def accept_invitation(session: AsyncSession, raw: str, account: Account) -> tuple[Space, SpaceMember]:
    """Join the invitation's space with its role. The invitation is single-use, and the database
    decides who used it: a conditional UPDATE (``accepted_at IS NULL``) that only one of several
    concurrent acceptances can match; the others get 410 ``invitation_invalid``."""
    invitation, space = await find_invitation(session, raw)
    set_scope(session, space.id)
    if await membership(session, account.id):
        raise AlreadyMember()
    accepted_at = clock.now()
    taken = await session.exec(
        update(Invitation).where(
            col(Invitation.id) == invitation.id, col(Invitation.accepted_at).is_(None),
            col(Invitation.revoked_at).is_(None), col(Invitation.expires_at) > accepted_at,
        ).values(accepted_at=accepted_at, accepted_by_id=account.id)
    )
    if taken.rowcount != 1:  # accepted, revoked or expired since we read it
        raise InvitationInvalid()
    invitation.accepted_at, invitation.accepted_by_id = accepted_at, account.id
    member = SpaceMember(account_id=account.id, role=invitation.role)
    try:
        # Two invitations to one person accepted at once: the unique (space, account) decides.
        async with session.begin_nested():
            session.add(member)
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyMember() from exc
    if account.email_verified_at is None and account.email == invitation.email:
        # The link reached this address, which proves it.
        account.email_verified_at = clock.now()
        session.add(account)
    await session.flush()
    log_action(session, "member.joined", space_id=space.id, actor_id=account.id, obj=member,
               role=invitation.role)
    for hook in _ON_INVITATION_ACCEPTED:
        await hook(session, space, invitation, account)
    return space, member


# -- platform operator ---------------------------------------------------------------------------------

async def list_all_spaces(session: AsyncSession) -> list[tuple[Space, int]]:
    with all_spaces(session):
        counts = select(SpaceMember.space_id, func.count().label("n")).group_by(SpaceMember.space_id).subquery()
        rows = await session.exec(
            select(Space, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.space_id == Space.id)
            .order_by(Space.name)
        )
        return [(s, n) for s, n in rows.all()]


async def set_suspended(session: AsyncSession, space: Space, actor: Account, suspended: bool,
                        reason: str | None = None) -> Space:
    space.suspended_at = clock.now() if suspended else None
    space.suspended_reason = (reason or None) if suspended else None
    session.add(space)
    log_action(session, "space.suspended" if suspended else "space.reactivated", space_id=space.id,
               actor_id=actor.id, obj=space, reason=reason)
    return space

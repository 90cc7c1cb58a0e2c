"""Profiles of the member directory: opt-in, visible only to the other members of the space."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.audit.readable import audit_fields
from app.audit.service import audit_labels, log_action
from app.core import clock, db
from app.core.errors import FieldErrors
from app.core.i18n import _l
from app.core.tenancy import require_scope
from app.core.text import (
    SINGLE_LINE_MESSAGE,
    check_length,
    clean_text,
    column_limit,
    has_line_break_or_control,
)
from app.directory.errors import N_, InvalidProfile, ProfileNotFound
from app.directory.models import Profile
from app.space.models import Space, SpaceMember

# What the audit page calls the actions logged here.
audit_labels({
    "profile.updated": _l("Directory profile changed"),
    "profile.shown": _l("Directory profile made visible"),
    "profile.hidden": _l("Directory profile hidden"),
})
audit_fields({"visible": _l("Visible in the directory")})

MAX_SKILLS = 20
# "javascript:…", "data:…", "https://…" have a scheme; "example.org:8080/x" does not.
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(?!\d)")
MAX_LINKS = 5


@dataclass
class ProfileInput:
    display_name: str
    headline: str = ""
    bio: str = ""
    skills: list[str] = field(default_factory=list)
    website: str | None = None
    links: list[str] = field(default_factory=list)
    visible: bool = False


def normalize_skill(value: str) -> str:
    return " ".join(clean_text(value).replace(",", " ").split()).lower()[:40]


def _url(value: str | None, name: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not _SCHEME.match(value):
        value = "https://" + value
    invalid = InvalidProfile(fields={name: N_("Enter a web address, e.g. https://example.org.")})
    if len(value) > 300 or any(c.isspace() or ord(c) < 32 or c in '<>"\\`' for c in value):
        raise invalid
    try:
        parts = urlsplit(value)
        hostname = parts.hostname or ""
    except ValueError as exc:  # e.g. an unbalanced "[" read as an IPv6 address
        raise invalid from exc
    if parts.scheme.lower() not in ("http", "https") or "." not in hostname:
        raise invalid
    return value


def validate(data: ProfileInput) -> ProfileInput:
    """Clean ``data`` in place, or raise InvalidProfile with every field's problem at once."""
    errors: dict[str, str] = {}

    def url(value: str | None, name: str) -> str | None:
        try:
            return _url(value, name)
        except InvalidProfile as exc:
            errors.update(exc.fields)
            return None

    for name in ("display_name", "headline"):  # one line, refused like the API's SingleLine
        if has_line_break_or_control((getattr(data, name) or "").strip()):
            errors[name] = SINGLE_LINE_MESSAGE
    limits = FieldErrors()  # the limits stated ("120 characters at most"), the columns' own
    data.display_name = " ".join(clean_text(data.display_name).split())
    if not data.display_name and "display_name" not in errors:
        errors["display_name"] = N_("This field is required.")
    limits.check(check_length, data.display_name, "display_name", column_limit(Profile, "display_name"))
    data.headline = " ".join(clean_text(data.headline).split())
    limits.check(check_length, data.headline, "headline", column_limit(Profile, "headline"))
    data.bio = clean_text(data.bio).strip()
    limits.check(check_length, data.bio, "bio", column_limit(Profile, "bio"))
    skills = sorted({normalize_skill(s) for s in data.skills if normalize_skill(s)})
    if len(skills) > MAX_SKILLS:
        errors["skills"] = N_("At most 20 skills.")
    data.skills = skills
    data.website = url(data.website, "website")
    links = [url(link, "links") for link in data.links if (link or "").strip()]
    if len(links) > MAX_LINKS and "links" not in errors:
        errors["links"] = N_("At most 5 links.")
    data.links = [link for link in links if link]
    if errors or limits:
        raise InvalidProfile(fields={**limits.fields, **errors}, field_params=limits.field_params)
    return data


async def my_profile(session: AsyncSession, account: Account) -> Profile | None:
    require_scope(session)
    return (await session.exec(select(Profile).where(Profile.account_id == account.id))).first()


def blank_profile(account: Account) -> Profile:
    return Profile(account_id=account.id, display_name=account.name)


def _fill(profile: Profile, data: ProfileInput) -> None:
    profile.display_name = data.display_name
    profile.headline = data.headline
    profile.bio = data.bio
    profile.skills = "," + ",".join(data.skills) + "," if data.skills else ""
    profile.website = data.website
    profile.links = data.links
    profile.visible = data.visible
    profile.updated_at = clock.now()


async def save_profile(session: AsyncSession, space: Space, account: Account, data: ProfileInput) -> Profile:
    """Create or update the account's profile. When several first saves race, the unique (space,
    account) decides which INSERT wins and the others update the winner's row: every one of them
    answers with the saved profile, none with a 500."""
    validate(data)
    profile = await my_profile(session, account)
    if profile is None:
        profile = await db.insert_or_existing(session, blank_profile(account), lambda: my_profile(session, account))
    was_visible = profile.visible
    _fill(profile, data)
    session.add(profile)
    await session.flush()
    log_action(session, "profile.updated", space_id=space.id, actor_id=account.id, obj=profile,
               visible=profile.visible)
    if was_visible != profile.visible:
        log_action(session, "profile.shown" if profile.visible else "profile.hidden", space_id=space.id,
                   actor_id=account.id, obj=profile)
    return profile


def _visible_members():
    """Visible profiles of people who are still members of the space."""
    return select(Profile).join(SpaceMember, (col(SpaceMember.account_id) == Profile.account_id)).where(
        Profile.visible == True  # noqa: E712
    )


async def search(session: AsyncSession, *, q: str | None = None, skill: str | None = None,
                 limit: int = 200) -> list[Profile]:
    """Visible profiles matching ``q`` (in the name, headline or skills) and/or an exact ``skill``."""
    require_scope(session)
    stmt = _visible_members()
    if q and q.strip():
        like = "%" + q.strip().lower().replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(or_(
            func.lower(Profile.display_name).like(like), func.lower(Profile.headline).like(like),
            func.lower(Profile.skills).like(like),
        ))
    if skill and normalize_skill(skill):
        stmt = stmt.where(col(Profile.skills).like(f"%,{normalize_skill(skill)},%"))
    rows = await session.exec(stmt.order_by(func.lower(Profile.display_name)).limit(limit))
    return list(rows.all())


async def get_profile(session: AsyncSession, profile_id: int, viewer: Account) -> Profile:
    """A profile the viewer may see: a visible one of a current member, or their own."""
    profile = (await session.exec(select(Profile).where(Profile.id == profile_id))).first()
    if profile is None or (profile.account_id != viewer.id and not profile.visible):
        raise ProfileNotFound()
    if profile.account_id != viewer.id and (await session.exec(
        select(SpaceMember.id).where(SpaceMember.account_id == profile.account_id))).first() is None:
        raise ProfileNotFound()
    return profile

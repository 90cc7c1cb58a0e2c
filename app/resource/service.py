"""Resources and their blocks (maintenance): created, changed and archived by managers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.audit.readable import audit_fields, audit_names
from app.audit.service import audit_labels, log_action
from app.booking.rules import UNITS
from app.core.clock import now
from app.core.errors import FieldErrors, NotFound, ValidationFailed
from app.core.i18n import N_, _l
from app.core.permissions import Role
from app.core.tenancy import require_scope
from app.core.text import check_length, clean_text, column_limit, require_one_line
from app.pricing import vat
from app.resource.models import Resource, ResourceBlock, ResourceKind
from app.space.models import Space

# What the audit page calls the actions logged here.
audit_labels({
    "resource.created": _l("Resource created"),
    "resource.updated": _l("Resource changed"),
    "resource.archived": _l("Resource archived"),
    "resource.restored": _l("Resource restored"),
    "resource.blocked": _l("Resource blocked"),
    "resource.unblocked": _l("Resource block removed"),
})
audit_fields({"resource_id": _l("Resource"), "source": _l("Source")})


@audit_names("resource_id", "from_resource_id", "to_resource_id", "resource")
async def _resource_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.exec(select(Resource.id, Resource.name).where(col(Resource.id).in_(ids)))
    return {i: n for i, n in rows.all() if i is not None}

EDITABLE = (
    "name", "kind", "description", "capacity", "unit", "granularity_minutes", "min_minutes", "max_minutes",
    "buffer_minutes", "horizon_days", "cancel_deadline_hours", "late_cancel", "allowed_roles", "required_tags",
    "price_public_cents", "price_member_cents", "vat_rate_bp", "position",
)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(fields={field: message}, code="invalid_resource")


def _csv(value: Any) -> str:
    if value is None:
        return ""
    items = value.split(",") if isinstance(value, str) else list(value)
    return ",".join(sorted({clean_text(str(v)) for v in items if clean_text(str(v))}))


def check_resource(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and check a resource's fields; raises one 422 naming every field at fault."""
    out = dict(values)
    errors = FieldErrors()
    if "name" in out:
        out["name"] = clean_text(errors.check(require_one_line, out["name"], "name") or "")
        if not out["name"] and "name" not in errors.fields:
            errors.add("name", N_("Give the resource a name."))
        errors.check(check_length, out["name"], "name", column_limit(Resource, "name"))
    if "kind" in out and out["kind"] not in {k.value for k in ResourceKind}:
        errors.add("kind", N_("Choose a kind of resource."))
    if "unit" in out and out["unit"] not in UNITS:
        errors.add("unit", N_("Choose how the resource is booked: by the hour, half-day or day."))
    if "late_cancel" in out and out["late_cancel"] not in ("refuse", "charge"):
        errors.add("late_cancel", N_("Choose what happens to a late cancellation."))
    if "allowed_roles" in out:
        out["allowed_roles"] = _csv(out["allowed_roles"])
        if set(out["allowed_roles"].split(",")) - {r.value for r in Role} - {""}:
            errors.add("allowed_roles", N_("Unknown role."))
    if "required_tags" in out:
        out["required_tags"] = _csv(out["required_tags"])
        errors.check(check_length, out["required_tags"], "required_tags", column_limit(Resource, "required_tags"))
    if "description" in out:
        out["description"] = clean_text(out["description"])
        errors.check(check_length, out["description"], "description", column_limit(Resource, "description"))
    if "capacity" in out and not 1 <= out["capacity"] <= 500:
        errors.add("capacity", N_("The capacity must be between 1 and 500."))
    if "granularity_minutes" in out and out["granularity_minutes"] not in (5, 10, 15, 20, 30, 60, 120):
        errors.add("granularity_minutes", N_("Choose a step of 5, 10, 15, 20, 30, 60 or 120 minutes."))
    for name in ("price_public_cents", "price_member_cents", "buffer_minutes", "cancel_deadline_hours"):
        if name in out and out[name] is not None and out[name] < 0:
            errors.add(name, N_("This value must not be negative."))
    for name in ("min_minutes", "max_minutes", "horizon_days"):
        if name in out and out[name] is not None and out[name] <= 0:
            out[name] = None  # 0 or empty means "no limit"
    if "vat_rate_bp" in out:
        out["vat_rate_bp"] = errors.check(vat.check_rate, out["vat_rate_bp"], "vat_rate_bp", optional=True)
    errors.raise_if_any("invalid_resource")
    return out


def _check_rules(resource: Resource) -> None:
    try:
        resource.rules  # noqa: B018  (BookingRules checks itself on construction)
    except ValueError as exc:
        raise _invalid("max_minutes", N_("The minimum duration must not exceed the maximum.")) from exc
    if resource.unit == "hour" and resource.min_minutes and resource.min_minutes % resource.granularity_minutes:
        raise _invalid("min_minutes", N_("The minimum duration must be a multiple of the step."))


async def list_resources(session: AsyncSession, *, include_archived: bool = False) -> list[Resource]:
    require_scope(session)
    stmt = select(Resource)
    if not include_archived:
        stmt = stmt.where(col(Resource.archived_at).is_(None))
    return list((await session.exec(stmt.order_by(Resource.position, Resource.name, Resource.id))).all())


async def get_resource(session: AsyncSession, resource_id: int) -> Resource:
    require_scope(session)
    resource = (await session.exec(select(Resource).where(Resource.id == resource_id))).first()
    if resource is None:
        raise NotFound()
    return resource


async def create_resource(session: AsyncSession, space: Space, actor: Account, **values: Any) -> Resource:
    values = check_resource(values)
    resource = Resource(**{k: v for k, v in values.items() if k in EDITABLE})
    _check_rules(resource)
    session.add(resource)
    await session.flush()
    log_action(session, "resource.created", space_id=space.id, actor_id=actor.id, obj=resource, name=resource.name)
    return resource


async def update_resource(
    session: AsyncSession, space: Space, actor: Account, resource: Resource, **changes: Any
) -> Resource:
    changes = check_resource({k: v for k, v in changes.items() if k in EDITABLE})
    changed = []
    for key, value in changes.items():
        if getattr(resource, key) != value:
            setattr(resource, key, value)
            changed.append(key)
    _check_rules(resource)
    if changed:
        resource.updated_at = now()
        session.add(resource)
        await session.flush()
        log_action(session, "resource.updated", space_id=space.id, actor_id=actor.id, obj=resource,
                   fields=",".join(sorted(changed)))
    return resource


async def set_archived(
    session: AsyncSession, space: Space, actor: Account, resource: Resource, archived: bool = True
) -> Resource:
    """Archive (or restore) a resource. Its bookings stay, future ones included: staff decide."""
    if archived == resource.is_archived:
        return resource
    resource.archived_at = now() if archived else None
    resource.updated_at = now()
    session.add(resource)
    await session.flush()
    log_action(session, "resource.archived" if archived else "resource.restored", space_id=space.id,
               actor_id=actor.id, obj=resource)
    return resource


# -- blocks -------------------------------------------------------------------------------------


async def blocks_between(
    session: AsyncSession, resource_ids: Iterable[int], start: datetime, end: datetime
) -> list[ResourceBlock]:
    """Blocks overlapping ``[start, end)`` on the given resources."""
    require_scope(session)
    ids = list(resource_ids)
    if not ids:
        return []
    stmt = select(ResourceBlock).where(
        col(ResourceBlock.resource_id).in_(ids), ResourceBlock.starts_at < end, ResourceBlock.ends_at > start
    )
    return list((await session.exec(stmt.order_by(ResourceBlock.starts_at))).all())


async def list_blocks(session: AsyncSession, resource: Resource, *, since: datetime | None = None) -> list[ResourceBlock]:
    require_scope(session)
    stmt = select(ResourceBlock).where(ResourceBlock.resource_id == resource.id)
    if since is not None:
        stmt = stmt.where(ResourceBlock.ends_at > since)
    return list((await session.exec(stmt.order_by(ResourceBlock.starts_at))).all())


async def get_block(session: AsyncSession, resource: Resource, block_id: int) -> ResourceBlock:
    require_scope(session)
    block = (await session.exec(
        select(ResourceBlock).where(ResourceBlock.id == block_id, ResourceBlock.resource_id == resource.id)
    )).first()
    if block is None:
        raise NotFound()
    return block


@dataclass
class BlockResult:
    block: ResourceBlock
    overlapping_booking_ids: list[int]


async def add_block(
    session: AsyncSession,
    space: Space,
    actor: Account | None,
    resource: Resource,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    source: str = "manual",
    external_uid: str | None = None,
) -> BlockResult:
    """Take a resource out of service for a period; returns the confirmed bookings it overlaps.

    Existing bookings are not cancelled automatically: staff see them and decide (move or cancel
    with a reason the member is told). A calendar import passes its own ``source``/``external_uid``.
    """
    from app.booking.repository import bookings_between

    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise _invalid("starts_at", N_("Start and end times must include a timezone."))
    if ends_at <= starts_at:
        raise ValidationFailed(fields={"ends_at": N_("The end must come after the start.")}, code="invalid_interval")
    block = ResourceBlock(resource_id=resource.id, starts_at=starts_at, ends_at=ends_at, reason=clean_text(reason, 300),
                          source=source, external_uid=external_uid, created_by_id=actor.id if actor else None)
    session.add(block)
    await session.flush()
    overlapping = await bookings_between(session, starts_at, ends_at, resource_ids=[resource.id])
    log_action(session, "resource.blocked", space_id=space.id, actor_id=actor.id if actor else None, obj=block,
               resource_id=resource.id, source=source, reason=block.reason)
    return BlockResult(block, [b.id for b in overlapping if b.id is not None])


async def remove_block(session: AsyncSession, space: Space, actor: Account | None, block: ResourceBlock) -> None:
    await session.delete(block)
    await session.flush()
    log_action(session, "resource.unblocked", space_id=space.id, actor_id=actor.id if actor else None, obj=block,
               resource_id=block.resource_id)

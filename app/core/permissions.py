"""Roles and what they may do, in one table. Routes declare the permission they need."""

from __future__ import annotations

from enum import StrEnum

from app.space.models import Role


class Perm(StrEnum):
    space_view = "space.view"              # see the space's member area
    space_manage = "space.manage"          # settings, legal identity, opening hours
    member_view = "member.view"            # list the people of the space
    member_manage = "member.manage"        # invite, change roles, remove
    owner_manage = "owner.manage"          # grant or remove the owner role
    audit_view = "audit.view"
    resource_manage = "resource.manage"
    booking_create = "booking.create"      # book for oneself
    booking_manage = "booking.manage"      # see all bookings, book for others, move, cancel
    event_manage = "event.manage"          # publish and run events
    event_propose = "event.propose"
    directory_view = "directory.view"
    calendar_manage = "calendar.manage"


_MEMBER = {Perm.space_view, Perm.booking_create, Perm.event_propose, Perm.directory_view}
_ANIMATOR = _MEMBER | {Perm.member_view, Perm.event_manage}
_MANAGER = _ANIMATOR | {
    Perm.space_manage, Perm.member_manage, Perm.audit_view, Perm.resource_manage, Perm.booking_manage,
    Perm.calendar_manage,
}
_OWNER = _MANAGER | {Perm.owner_manage}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.member: frozenset(_MEMBER),
    Role.animator: frozenset(_ANIMATOR),
    Role.manager: frozenset(_MANAGER),
    Role.owner: frozenset(_OWNER),
}



def has_perm(role: str | None, perm: Perm) -> bool:
    if role is None:
        return False
    try:
        return perm in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


def role_label(role: str) -> str:
    from app.core.i18n import gettext

    labels = {
        "owner": "owner", "manager": "manager", "animator": "animator", "member": "member",
    }
    return gettext(labels.get(role, role))


def role_plural(role: str) -> str:
    from app.core.i18n import gettext

    labels = {"owner": "owners", "manager": "managers", "animator": "animators", "member": "members"}
    return gettext(labels.get(role, role))


def N_(message: str) -> str:  # marks a string for extraction without translating it
    return message


_ROLE_WORDS = (N_("owner"), N_("manager"), N_("animator"), N_("member"),
               N_("owners"), N_("managers"), N_("animators"), N_("members"))

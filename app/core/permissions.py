"""Roles and what they may do, in one table. Routes declare the permission they need.

The role matrix test (``tests/tenancy/test_role_matrix.py``) reads this table and the permission
each route declares (``space_access(Perm.x)``): a change here changes what it expects.
"""

from __future__ import annotations

from enum import StrEnum

from app.core.i18n import N_, gettext


class Role(StrEnum):
    owner = "owner"
    manager = "manager"
    animator = "animator"
    member = "member"
    # Trésorier·e / comptable: sees and exports invoices and payments, the people and the audit log;
    # changes nothing else (no booking, not for others either, no settings, no events).
    accountant = "accountant"


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
    billing_view = "billing.view"          # see and export invoices and payments
    billing_manage = "billing.manage"      # issue invoices, record payments and refunds, billing settings
    membership_view = "membership.view"    # see every member's plan, credits, adhésion, orders
    membership_manage = "membership.manage"  # plans, passes, subscriptions, credits, join requests


_MEMBER = {Perm.space_view, Perm.booking_create, Perm.event_propose, Perm.directory_view}
_ANIMATOR = _MEMBER | {Perm.member_view, Perm.event_manage}
_ACCOUNTANT = {Perm.space_view, Perm.directory_view, Perm.member_view, Perm.audit_view, Perm.billing_view,
               Perm.membership_view}
_MANAGER = _ANIMATOR | {
    Perm.space_manage, Perm.member_manage, Perm.audit_view, Perm.resource_manage, Perm.booking_manage,
    Perm.calendar_manage, Perm.billing_view, Perm.billing_manage, Perm.membership_view, Perm.membership_manage,
}
_OWNER = _MANAGER | {Perm.owner_manage}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.member: frozenset(_MEMBER),
    Role.animator: frozenset(_ANIMATOR),
    Role.accountant: frozenset(_ACCOUNTANT),
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


_LABELS: dict[str, str] = {
    Role.owner: N_("owner"), Role.manager: N_("manager"), Role.animator: N_("animator"),
    Role.member: N_("member"), Role.accountant: N_("treasurer"),
}
_PLURALS: dict[str, str] = {
    Role.owner: N_("owners"), Role.manager: N_("managers"), Role.animator: N_("animators"),
    Role.member: N_("members"), Role.accountant: N_("treasurers"),
}


def role_label(role: str) -> str:
    return gettext(_LABELS.get(role, role))


def role_plural(role: str) -> str:
    return gettext(_PLURALS.get(role, role))

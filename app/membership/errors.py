"""Membership errors: each its own code and message (French and English through the catalogue).

Each helper's area adds its own below; one class per refusal a user can meet."""

from __future__ import annotations

from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.i18n import N_


class OrderNotOpen(Conflict):
    code = "order_not_open"
    message = N_("This order is no longer open: it was already paid or cancelled.")


# -- orders, passes bought, the adhésion, joining (app/membership/{orders,adhesion,join}.py) --------

class OrderNotFound(NotFound):
    code = "order_not_found"
    message = N_("This order does not exist.")


class PassUnavailable(Conflict):
    code = "pass_unavailable"
    message = N_("This pass is not on sale (unknown, archived or not public).")


class PassExpired(Conflict):
    code = "pass_expired"
    message = N_("This pass has expired.")


class GrantReasonRequired(ValidationFailed):
    code = "reason_required"
    message = N_("Say why the pass is granted free of charge.")


class AdhesionRequired(Conflict):
    code = "adhesion_required"
    message = N_("A current membership of the association (adhésion) is required for this.")


class AdhesionExists(Conflict):
    code = "adhesion_exists"
    message = N_("This person already holds the adhésion for this period.")


class TierUnavailable(Conflict):
    code = "tier_unavailable"
    message = N_("This adhésion tier is not available (unknown, archived or not public).")


class TierNotFound(NotFound):
    code = "tier_not_found"
    message = N_("This adhésion tier does not exist.")


class NotAMember(ValidationFailed):
    code = "not_a_member"
    message = N_("This person is not a member of the space.")


class JoinClosed(Conflict):
    code = "join_closed"
    message = N_("This space does not take requests to join.")


class JoinRequestNotFound(NotFound):
    code = "join_request_not_found"
    message = N_("This request to join does not exist.")


class JoinRequestDecided(Conflict):
    code = "join_request_decided"
    message = N_("This request to join was already answered.")


class PlanUnavailable(Conflict):
    code = "plan_unavailable"
    message = N_("This plan is not available (unknown, archived or not public).")

"""Membership errors: each its own code and message (French and English through the catalogue).

Each helper's area adds its own below; one class per refusal a user can meet."""

from __future__ import annotations

from app.core.errors import Conflict, FabriqueError, NotFound, ValidationFailed
from app.core.i18n import N_


class OrderNotOpen(Conflict):
    code = "order_not_open"
    message = N_("This order is no longer open: it was already paid or cancelled.")


# -- credits (the ledger, bookings using it) ----------------------------------------------------


class CreditsRunOut(Conflict):
    code = "credits_run_out"
    message = N_("Your credits do not cover this booking, and this space does not take bookings beyond them.")


class CreditsBelowZero(Conflict):
    code = "credits_below_zero"
    message = N_("This adjustment would take the balance below zero (%(left)s left).")


class BucketClosed(Conflict):
    code = "credits_expired"
    message = N_("These credits have expired: they can no longer be adjusted.")


class BucketUnlimited(Conflict):
    code = "credits_unlimited"
    message = N_("This allowance is unlimited: there is no balance to adjust.")
# -- plans and subscriptions (app.membership.plans, .subscriptions) ----------------------------

class PlanNotFound(NotFound):
    code = "plan_not_found"
    message = N_("This plan does not exist.")


class PlanNotAvailable(FabriqueError):
    """A member (subscribing) or a visitor (asking to join) chose a plan not offered to them:
    private (staff assign those), archived, or unknown."""

    status_code = 404
    code = "plan_not_available"
    message = N_("This plan is not offered to members: ask the team.")


class PlanArchived(Conflict):
    code = "plan_archived"
    message = N_("This plan is archived: it can no longer be subscribed to.")


class PassProductNotFound(NotFound):
    code = "pass_product_not_found"
    message = N_("This pass does not exist.")


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    message = N_("This subscription does not exist.")


class SubscriptionEnded(Conflict):
    code = "subscription_ended"
    message = N_("This subscription has ended.")


class SamePlan(Conflict):
    code = "same_plan"
    message = N_("The subscription is already on this plan.")


class ChangeOutsidePeriod(ValidationFailed):
    code = "change_outside_period"
    message = N_("A change of plan takes effect within the current period (from %(start)s to %(end)s).")


class EndBeforeStart(ValidationFailed):
    code = "end_before_start"
    message = N_("The end must come after the start.")


class PauseTooLong(ValidationFailed):
    code = "pause_too_long"
    message = N_("A pause may last %(days)s days at most in this space.")


class PauseOverlaps(Conflict):
    code = "pause_overlaps"
    message = N_("This pause overlaps another pause of the subscription.")


class PauseInThePast(ValidationFailed):
    code = "pause_in_the_past"
    message = N_("A pause cannot start before the current period.")


class NotPaused(Conflict):
    code = "not_paused"
    message = N_("This subscription is not paused.")


class MinCommitmentNotReached(Conflict):
    code = "min_commitment_not_reached"
    message = N_("This subscription is committed until %(date)s: it cannot end before.")


class ForceNeedsReason(ValidationFailed):
    code = "force_needs_reason"
    message = N_("Ending before the commitment needs a reason.")


class FixedResourceTaken(Conflict):
    code = "fixed_resource_taken"
    message = N_("This desk is already held for another member's subscription.")


class FixedResourceInvalid(ValidationFailed):
    code = "fixed_resource_invalid"
    message = N_("Choose a desk of this space for the plan's fixed desk.")



class ChangePeriodDiffers(ValidationFailed):
    code = "change_period_differs"
    message = N_("A plan changes for one of the same period (monthly, quarterly, yearly): end this one and start the other.")
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

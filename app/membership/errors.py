"""Membership errors: each its own code and message (French and English through the catalogue).

Each helper's area adds its own below; one class per refusal a user can meet."""

from __future__ import annotations

from app.core.errors import Conflict
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

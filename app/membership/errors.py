"""Membership errors: each its own code and message (French and English through the catalogue).

Each helper's area adds its own below; one class per refusal a user can meet."""

from __future__ import annotations

from app.core.errors import Conflict
from app.core.i18n import N_


class OrderNotOpen(Conflict):
    code = "order_not_open"
    message = N_("This order is no longer open: it was already paid or cancelled.")

"""Memberships: plans (formules), passes (carnets), the association membership (adhésion), orders,
join requests — and the credit ledger that says, to the unit, what a member may still use.

The shape, in one paragraph (``docs/memberships.md`` has the rules):

- A **plan** has a price per period and **allowances** (N units of some resource kinds per period,
  or unlimited). A **subscription** holds a member to a plan; each of its periods is a
  **subscription period** row — unique ``(subscription_id, starts_on)``, so a period is renewed once
  whatever runs the renewal and however often.
- A **credit bucket** is something units are taken from: a period's allowance (one bucket per
  allowance per period, the allowance's values copied in), a pass bought or granted, or a manual
  grant. It has a validity window; its balance is the **sum of its ledger entries**, never a stored
  number. Taking units locks the bucket row (``FOR UPDATE`` on PostgreSQL), sums, then writes.
- **Credit entries** are the ledger: grant, debit, refund, expiry, rollover, adjustment. Never edited
  nor deleted: a refund is a new entry reversing a debit (``reverses_id`` unique: once).
- An **order** is what a member owes for a plan period, a pass or an adhésion: its lines are
  charges (``app.pricing``, ``source_type = "order"``), the input of invoicing.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, and_, column, event
from sqlmodel import Field

from app.core.clock import now
from app.core.i18n import _l
from app.core.records import kept_record
from app.core.tenancy import SpaceScoped, space_config, space_key, space_ref


class PlanPeriod(StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"


PERIOD_MONTHS = {PlanPeriod.month: 1, PlanPeriod.quarter: 3, PlanPeriod.year: 12}
PERIOD_LABELS = {PlanPeriod.month: _l("Monthly"), PlanPeriod.quarter: _l("Quarterly"), PlanPeriod.year: _l("Yearly")}


class SubscriptionStatus(StrEnum):
    active = "active"
    paused = "paused"
    ended = "ended"


class BucketSource(StrEnum):
    allowance = "allowance"  # a plan's allowance for one period
    pass_ = "pass"  # a pass (carnet, day pass) bought or granted
    grant = "grant"  # units granted by staff, with a reason


class EntryKind(StrEnum):
    grant = "grant"  # units put in a bucket (a period's allowance, a pass, a manual grant)
    debit = "debit"  # units used by a confirmed booking
    refund = "refund"  # a debit given back (a cancellation within the rules, a staff override)
    expiry = "expiry"  # what was left when the bucket expired
    rollover = "rollover"  # left units moved out of (negative) or into (positive) a bucket
    adjust = "adjust"  # a manual correction by staff, with a reason


class OrderStatus(StrEnum):
    open = "open"  # owed
    paid = "paid"  # paid (on site, or online later)
    cancelled = "cancelled"


class OrderPurpose(StrEnum):
    plan = "plan"  # a subscription's period
    pass_ = "pass"
    adhesion = "adhesion"


class AdhesionYear(StrEnum):
    calendar = "calendar"  # 1 January – 31 December
    school = "school"  # 1 September – 31 August
    rolling = "rolling"  # 12 months from the day it starts


class AdhesionTierKind(StrEnum):
    individual = "individual"
    organisation = "organisation"
    reduced = "reduced"  # reduced / solidarity price
    free = "free"


class JoinPolicy(StrEnum):
    closed = "closed"  # no requests taken
    request = "request"  # staff accept or decline each request
    open = "open"  # anyone may join: requests are accepted at once


class JoinStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"


class WhenCreditsRunOut(StrEnum):
    price = "price"  # the booking is priced (member or public price)
    refuse = "refuse"  # the booking is refused


@space_config
class MembershipSettings(SpaceScoped, table=True):
    """A space's membership settings. No row yet means the defaults."""

    __tablename__ = "membership_settings"
    __table_args__ = (UniqueConstraint("space_id", name="uq_membership_settings_space"),)

    id: int | None = Field(default=None, primary_key=True)
    join_policy: str = Field(default=JoinPolicy.request, max_length=8)
    adhesion_year: str = Field(default=AdhesionYear.calendar, max_length=8)
    # What a current adhésion is required for (none of them by default).
    adhesion_for_member_prices: bool = False
    adhesion_for_booking: bool = False
    adhesion_for_plans: bool = False
    when_credits_run_out: str = Field(default=WhenCreditsRunOut.price, max_length=8)
    late_cancel_returns_credits: bool = False  # a late cancellation (a "charge" policy) keeps the units
    max_pause_days: int = 92
    reminder_days: int = 14  # reminder before a pass or the adhésion expires
    updated_at: datetime = Field(default_factory=now)


@space_config
class Plan(SpaceScoped, table=True):
    """A formule: a price per period and what it includes. Archived, never deleted."""

    __tablename__ = "plan"
    __table_args__ = (Index("ix_plan_space_position", "space_id", "position"), space_key("plan"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=2000)
    period: str = Field(default=PlanPeriod.month, max_length=8)
    price_cents: int = 0
    vat_rate_bp: int | None = None  # None: the space's default rate
    rollover_periods: int = 0  # unused allowance is carried over for this many periods (0: not at all)
    fixed_desk: bool = False  # a resource is held for the member for the subscription's length
    domiciliation_only: bool = False  # a business address, no workspace
    min_commitment_periods: int = 0  # 0: none; else the subscription cannot end before
    public: bool = False  # members may subscribe themselves; otherwise staff assign it
    position: int = 0
    archived_at: datetime | None = None
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)

    @property
    def months(self) -> int:
        return PERIOD_MONTHS[PlanPeriod(self.period)]


@space_config
class PlanAllowance(SpaceScoped, table=True):
    """What a plan includes each period: ``quantity`` units (``None``: unlimited) of ``unit`` on
    resources of the listed kinds (empty: any kind), on weekdays only if ``weekdays_only``."""

    __tablename__ = "plan_allowance"
    __table_args__ = (space_key("plan_allowance"), space_ref("plan_id", "plan", ondelete="CASCADE"))

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True, ondelete="CASCADE")
    resource_kinds: str = Field(default="", max_length=200)  # comma-separated ResourceKind values
    unit: str = Field(default="day", max_length=8)  # hour, half_day, day (a resource's unit)
    quantity: int | None = None
    weekdays_only: bool = False


@space_config
class PassProduct(SpaceScoped, table=True):
    """A pass (carnet) on sale: ``units`` units valid ``valid_months`` months; the day pass is a
    one-unit pass. What a unit buys is in its rates (``PassRate``)."""

    __tablename__ = "pass_product"
    __table_args__ = (Index("ix_pass_product_space_position", "space_id", "position"), space_key("pass_product"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=2000)
    units: int = 1
    valid_months: int = 6
    price_cents: int = 0
    vat_rate_bp: int | None = None
    public: bool = True  # members may buy it themselves
    position: int = 0
    archived_at: datetime | None = None
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)


@space_config
class PassRate(SpaceScoped, table=True):
    """What one booking unit costs in pass units on a kind of resource: ``units_per`` pass units
    per ``unit`` (e.g. 2 units per half-day of private office, 1 per hour of meeting room)."""

    __tablename__ = "pass_rate"
    __table_args__ = (
        UniqueConstraint("pass_product_id", "resource_kind", "unit", name="uq_pass_rate"),
        space_ref("pass_product_id", "pass_product", ondelete="CASCADE"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pass_product_id: int = Field(foreign_key="pass_product.id", index=True, ondelete="CASCADE")
    resource_kind: str = Field(max_length=24)
    unit: str = Field(max_length=8)
    units_per: int = 1


_FIXED_LIVE = and_(column("fixed_resource_id").is_not(None), column("status") != "ended")


@kept_record
class Subscription(SpaceScoped, table=True):
    """A member held to a plan. Periods run from ``current_period_start`` to ``current_period_end``
    (exclusive), anchored on the day of the month it started (``anchor_day``: a subscription
    started on the 31st renews on the last day of shorter months)."""

    __tablename__ = "subscription"
    __table_args__ = (
        Index("ix_subscription_space_account", "space_id", "account_id"),
        Index("ix_subscription_space_status_period_end", "space_id", "status", "current_period_end"),
        # A fixed desk is held by one live subscription at a time (app.membership.subscriptions).
        Index("uq_subscription_fixed_resource_live", "fixed_resource_id", unique=True,
              postgresql_where=_FIXED_LIVE, sqlite_where=_FIXED_LIVE),
        space_key("subscription"),
        space_ref("plan_id", "plan", ondelete="RESTRICT"),
        space_ref("fixed_resource_id", "resource", ondelete="RESTRICT"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    account_id: int = Field(foreign_key="account.id", ondelete="RESTRICT")
    plan_id: int = Field(foreign_key="plan.id", ondelete="RESTRICT")
    status: str = Field(default=SubscriptionStatus.active, max_length=8)
    starts_on: date
    anchor_day: int  # 1–31
    current_period_start: date
    current_period_end: date  # exclusive
    ends_on: date | None = None  # exclusive: set when cancelled at the end of a period, or ended
    committed_until: date | None = None  # exclusive: a minimum commitment's end
    fixed_resource_id: int | None = Field(default=None, foreign_key="resource.id", ondelete="RESTRICT")
    created_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    ended_at: datetime | None = None
    end_reason: str = Field(default="", max_length=300)


@kept_record
class SubscriptionPeriod(SpaceScoped, table=True):
    """One period of a subscription, written when it starts (or is renewed): once, by the unique key."""

    __tablename__ = "subscription_period"
    __table_args__ = (
        UniqueConstraint("subscription_id", "starts_on", name="uq_subscription_period_start"),
        space_key("subscription_period"),
        space_ref("subscription_id", "subscription", ondelete="RESTRICT"),
        space_ref("plan_id", "plan", ondelete="RESTRICT"),
        space_ref("order_id", "member_order", ondelete="RESTRICT"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    subscription_id: int = Field(foreign_key="subscription.id", ondelete="RESTRICT")
    plan_id: int = Field(foreign_key="plan.id", ondelete="RESTRICT")
    starts_on: date
    ends_on: date  # exclusive
    # What the period was charged by (None: a free plan, or prorated to nothing).
    order_id: int | None = Field(default=None, foreign_key="member_order.id", ondelete="RESTRICT")
    created_at: datetime = Field(default_factory=now)


@kept_record
class SubscriptionPause(SpaceScoped, table=True):
    """A pause (e.g. summer): no allowance and nothing charged from ``starts_on`` to ``ends_on``."""

    __tablename__ = "subscription_pause"
    __table_args__ = (
        CheckConstraint("ends_on > starts_on", name="ck_subscription_pause_order"),
        space_ref("subscription_id", "subscription", ondelete="RESTRICT"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    subscription_id: int = Field(foreign_key="subscription.id", index=True, ondelete="RESTRICT")
    starts_on: date
    ends_on: date  # exclusive
    reason: str = Field(default="", max_length=300)
    created_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=now)


@kept_record
class CreditBucket(SpaceScoped, table=True):
    """Units a member can use, from one source, valid from ``valid_from`` to ``valid_until``.

    Its balance is the sum of its entries (``CreditEntry``). The row is what a debit locks.
    An allowance's values are copied in when the period starts, so editing a plan changes
    the next periods, never one under way. A pass's units are pass units, converted by its
    product's rates; an allowance's are ``unit`` of the listed ``resource_kinds``.
    """

    __tablename__ = "credit_bucket"
    __table_args__ = (
        Index("ix_credit_bucket_space_account_until", "space_id", "account_id", "valid_until"),
        UniqueConstraint("subscription_period_id", "plan_allowance_id", name="uq_credit_bucket_period_allowance"),
        space_key("credit_bucket"),
        space_ref("subscription_period_id", "subscription_period", ondelete="RESTRICT"),
        space_ref("pass_product_id", "pass_product", ondelete="RESTRICT"),
        space_ref("rolled_from_id", "credit_bucket", ondelete="RESTRICT"),
        space_ref("order_id", "member_order", ondelete="RESTRICT"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    account_id: int = Field(foreign_key="account.id", ondelete="RESTRICT")
    source: str = Field(max_length=10)  # BucketSource
    label: str = Field(max_length=200)
    subscription_period_id: int | None = Field(default=None, foreign_key="subscription_period.id", ondelete="RESTRICT")
    plan_allowance_id: int | None = None  # which allowance it copies (no FK: allowances are edited)
    pass_product_id: int | None = Field(default=None, foreign_key="pass_product.id", ondelete="RESTRICT")
    order_id: int | None = Field(default=None, foreign_key="member_order.id", ondelete="RESTRICT")
    resource_kinds: str = Field(default="", max_length=200)  # allowance / grant: comma-separated, "" any
    unit: str = Field(default="", max_length=8)  # allowance / grant: hour, half_day, day; pass: ""
    unlimited: bool = False
    weekdays_only: bool = False
    valid_from: datetime
    valid_until: datetime
    rolled_from_id: int | None = Field(default=None, foreign_key="credit_bucket.id", ondelete="RESTRICT")
    rollovers_left: int = 0
    expired_at: datetime | None = None  # when the expiry entry was written
    created_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=now)


class CreditEntryIsImmutable(RuntimeError):
    """A ledger entry was changed: write a compensating entry instead."""


@kept_record
class CreditEntry(SpaceScoped, table=True):
    """One movement of units in a bucket (signed). Never edited nor deleted."""

    __tablename__ = "credit_entry"
    __table_args__ = (
        Index("ix_credit_entry_space_bucket", "space_id", "bucket_id"),
        Index("ix_credit_entry_space_booking", "space_id", "booking_id"),
        Index("ix_credit_entry_space_account_created", "space_id", "account_id", "created_at"),
        space_key("credit_entry"),
        space_ref("bucket_id", "credit_bucket", ondelete="RESTRICT"),
        space_ref("booking_id", "booking", ondelete="RESTRICT"),
        space_ref("reverses_id", "credit_entry", ondelete="RESTRICT"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    account_id: int = Field(foreign_key="account.id", ondelete="RESTRICT")
    bucket_id: int = Field(foreign_key="credit_bucket.id", ondelete="RESTRICT")
    kind: str = Field(max_length=10)  # EntryKind
    quantity: int  # signed: grants and refunds positive, debits and expiries negative
    booking_id: int | None = Field(default=None, foreign_key="booking.id", ondelete="RESTRICT")
    reverses_id: int | None = Field(default=None, foreign_key="credit_entry.id", unique=True, ondelete="RESTRICT")  # a debit is refunded once
    reason: str = Field(default="", max_length=300)
    actor_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=now)


@event.listens_for(CreditEntry, "before_update")
def _refuse_entry_change(_mapper: Any, _connection: Any, target: CreditEntry) -> None:
    raise CreditEntryIsImmutable(f"credit entry {target.id} is immutable: write a compensating entry")


@space_config
class AdhesionTier(SpaceScoped, table=True):
    """A price of the yearly association membership: individual, organisation, reduced, free."""

    __tablename__ = "adhesion_tier"
    __table_args__ = (space_key("adhesion_tier"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    kind: str = Field(default=AdhesionTierKind.individual, max_length=12)
    price_cents: int = 0
    vat_rate_bp: int | None = 0  # a membership fee is usually outside the scope of VAT
    public: bool = True
    position: int = 0
    archived_at: datetime | None = None
    created_at: datetime = Field(default_factory=now)


@kept_record
class Adhesion(SpaceScoped, table=True):
    """One year of a person's association membership, from ``starts_on`` to ``ends_on`` (exclusive).

    Current when today is in it and it is paid (``paid_at``) or free."""

    __tablename__ = "adhesion"
    __table_args__ = (
        UniqueConstraint("space_id", "account_id", "starts_on", name="uq_adhesion_account_start"),
        space_key("adhesion"),
        space_ref("tier_id", "adhesion_tier", ondelete="RESTRICT"),
        space_ref("order_id", "member_order", ondelete="RESTRICT"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    account_id: int = Field(foreign_key="account.id", ondelete="RESTRICT")
    tier_id: int = Field(foreign_key="adhesion_tier.id", ondelete="RESTRICT")
    starts_on: date
    ends_on: date
    order_id: int | None = Field(default=None, foreign_key="member_order.id", ondelete="RESTRICT")
    paid_at: datetime | None = None
    cancelled_at: datetime | None = None
    created_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=now)


@kept_record
class Order(SpaceScoped, table=True):
    """What a member owes for a plan period, a pass or an adhésion. Its lines are charges
    (``source_type = "order"``); invoicing invoices it, payments pay it; until then staff may
    mark it paid on site."""

    __tablename__ = "member_order"
    __table_args__ = (
        Index("ix_member_order_space_account", "space_id", "account_id"),
        Index("ix_member_order_space_status", "space_id", "status"),
        space_key("member_order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    account_id: int = Field(foreign_key="account.id", ondelete="RESTRICT")
    purpose: str = Field(max_length=10)  # OrderPurpose
    status: str = Field(default=OrderStatus.open, max_length=10)
    label: str = Field(max_length=200)
    currency: str = Field(default="EUR", max_length=3)
    total_incl_cents: int = 0
    # The pass bought (purpose "pass"): its bucket opens when the order is paid. No foreign key, as
    # ``CreditBucket.plan_allowance_id``: the bucket (with its own guarded key) is the record of it.
    pass_product_id: int | None = None
    paid_at: datetime | None = None
    paid_method: str = Field(default="", max_length=16)  # "on_site"; online payments later
    paid_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")  # staff marking it
    cancelled_at: datetime | None = None
    created_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)


class JoinRequest(SpaceScoped, table=True):
    """A visitor asking to join the space from its public page. Accepting it invites ``email``
    (``app.space`` invitations); the plan chosen is assigned when that invitation is accepted."""

    __tablename__ = "join_request"
    __table_args__ = (
        Index("ix_join_request_space_status", "space_id", "status"),
        # One pending request per address and space: asking twice while pending is one request,
        # decided by the database when two arrive at once (app.membership.join).
        Index("uq_join_request_pending_email", "space_id", "email", unique=True,
              sqlite_where=column("status") == JoinStatus.pending.value,
              postgresql_where=column("status") == JoinStatus.pending.value),
        space_key("join_request"),
        space_ref("plan_id", "plan", ondelete="RESTRICT"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    email: str = Field(max_length=254)
    organisation: str = Field(default="", max_length=200)
    needs: str = Field(default="", max_length=2000)
    plan_id: int | None = Field(default=None, foreign_key="plan.id", ondelete="RESTRICT")
    status: str = Field(default=JoinStatus.pending, max_length=8)
    decided_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    decided_at: datetime | None = None
    decline_message: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=now)


class ReminderKind(StrEnum):
    adhesion = "adhesion"
    pass_ = "pass"


class ExpiryReminder(SpaceScoped, table=True):
    """That a reminder before an adhésion or a pass expires was sent: once per item, by the unique
    key (``app.membership.adhesion.send_reminders`` inserts, and e-mails only what it inserted)."""

    __tablename__ = "expiry_reminder"
    __table_args__ = (UniqueConstraint("space_id", "kind", "item_id", name="uq_expiry_reminder_item"),)

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=10)  # ReminderKind
    item_id: int  # the adhésion's or the credit bucket's id
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE")
    sent_at: datetime = Field(default_factory=now)

"""The demo space "La Fabrique du Val": a small rural tiers-lieu, loaded by ``fabrique demo``.

Idempotent: a second run finds what exists and keeps every change made since. Domains add
their demo data with ``@demo_step`` (resources, bookings, events...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from app.account import service as accounts
from app.account.models import Account
from app.config import get_settings
from app.core import db, jobs
from app.core.errors import NotFound
from app.core.permissions import Role
from app.core.tenancy import set_scope
from app.space import service as spaces
from app.space.models import Space, SpaceMember

DEMO_SLUG = "fabrique-du-val"
DEMO_PASSWORD = "demo-fabrique-2026"
DEMO_PEOPLE = [
    ("owner", "Claire Martin", "claire@demo.fabrique.coop"),
    ("manager", "Julien Bernard", "julien@demo.fabrique.coop"),
    ("animator", "Nadia Haddad", "nadia@demo.fabrique.coop"),
    ("member", "Paul Lefèvre", "paul@demo.fabrique.coop"),
    ("member", "Inès Moreau", "ines@demo.fabrique.coop"),
]


@dataclass
class DemoContext:
    session: AsyncSession
    space: Space
    people: dict[str, Account] = field(default_factory=dict)  # e-mail → account
    members: dict[str, SpaceMember] = field(default_factory=dict)


DemoStep = Callable[[DemoContext], Awaitable[None]]
DEMO_STEPS: list[DemoStep] = []


def demo_step(fn: DemoStep) -> DemoStep:
    DEMO_STEPS.append(fn)
    return fn


async def _account(session: AsyncSession, name: str, email: str) -> Account:
    account = await accounts.get_by_email(session, email)
    if account is None:
        account = await accounts.create_account(
            session, name=name, email=email, password=DEMO_PASSWORD, locale="fr", verified=True
        )
    return account


async def load_demo(*, quiet: bool = False) -> None:
    from app.core.discovery import domain_modules

    domain_modules("demo")  # app/<domain>/demo.py files register their @demo_step
    db.init_engine()
    queue = None
    if get_settings().redis_url:
        # Its jobs and change counters reach the worker and the web processes through Redis.
        from workers.queue import connect

        queue = await connect(get_settings().redis_url)
        jobs.set_queue(queue)
    try:
        async with db.transaction() as session:
            people = {email: await _account(session, name, email) for _role, name, email in DEMO_PEOPLE}
            owner = people[DEMO_PEOPLE[0][2]]
            try:
                space = await spaces.get_space(session, DEMO_SLUG)
                set_scope(session, space.id)
            except NotFound:
                space, _m = await spaces.create_space(
                    session, owner, name="La Fabrique du Val", slug=DEMO_SLUG, timezone="Europe/Paris",
                    locale="fr", legal_form="association", legal_name="Association La Fabrique du Val",
                    vat_regime="association", address="2 place de la Mairie", postcode="26400",
                    town="Val-sur-Drôme", rna="W262000123", invoice_prefix="FDV",
                )
            ctx = DemoContext(session=session, space=space, people=people)
            for role, _name, email in DEMO_PEOPLE:
                member = await spaces.membership(session, people[email].id)
                if member is None:
                    member = SpaceMember(account_id=people[email].id, role=Role(role))
                    session.add(member)
                    await session.flush()
                ctx.members[email] = member
            for step in DEMO_STEPS:
                await step(ctx)
    finally:
        if queue is not None:
            jobs.set_queue(None)
            await queue.aclose()
        await db.dispose_engine()
    if not quiet:
        print("\nDemo space: La Fabrique du Val → /s/" + DEMO_SLUG)
        print(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, name, email in DEMO_PEOPLE:
            print(f"  {role:<9} {name:<16} {email}")
        print()

"""Demo directory: two visible profiles. Idempotent: a person who has a profile keeps it."""

from __future__ import annotations

from app.demo import DemoContext, demo_step
from app.directory import service as directory


@demo_step
async def demo_profiles(ctx: DemoContext) -> None:
    cards = {
        "paul@demo.fabrique.coop": ("Paul Lefèvre", "Menuisier, je donne un coup de main au fablab",
                                    ["menuiserie", "découpe laser", "vélo"]),
        "ines@demo.fabrique.coop": ("Inès Moreau", "Développeuse web indépendante",
                                    ["python", "accessibilité", "comptabilité associative"]),
    }
    for email, (name, headline, skills) in cards.items():
        account = ctx.people[email]
        if await directory.my_profile(ctx.session, account) is None:
            await directory.save_profile(ctx.session, ctx.space, account, directory.ProfileInput(
                display_name=name, headline=headline, skills=skills, visible=True))

"""The audit page shows every action in words, in French and English, never as a code."""

from __future__ import annotations

import re
from pathlib import Path

from app.audit.service import ACTION_LABELS
from app.core.i18n import use_locale

APP = Path(__file__).resolve().parents[2] / "app"


def test_every_action_written_to_the_audit_log_has_a_label_in_both_languages(app):
    codes = {m.group(1) for f in APP.rglob("*.py")
             for m in re.finditer(r'log_action\(\s*\w+,\s*"([a-z_.]+)"', f.read_text())}
    assert codes and not codes - set(ACTION_LABELS), sorted(codes - set(ACTION_LABELS))
    for code in codes:
        with use_locale("fr"):
            french = str(ACTION_LABELS[code])
        assert french and french != code


def test_every_key_written_into_an_entry_has_a_label(app):
    import app.main  # noqa: F401  (every domain registers its labels on import)
    from app.audit.readable import FIELD_LABELS

    keys = set()
    for f in APP.rglob("*.py"):
        for call in re.finditer(r"log_action\((.*?)\)\n", f.read_text(), re.S):
            keys |= set(re.findall(r"\b([a-z_]+)=", call.group(1)))
    keys -= {"space_id", "actor_id", "obj", "object_type", "object_id"}
    keys |= {"title", "starts_at"}  # app.event.service._audit_fields
    assert keys and not keys - set(FIELD_LABELS), sorted(keys - set(FIELD_LABELS))


async def test_the_activity_log_reads_as_sentences_with_names_and_local_times(world, web, api):
    from tests.booking.factories import TOMORROW, create_desk, freeze, iso

    freeze()
    desk = await create_desk(world.a.space, name="Grande table", capacity=6)
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/bookings", json={
        "resource_id": desk.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 18)})
    assert r.status_code == 201, r.text
    page = await (await web(world.a.manager)).get(f"/s/{world.a.slug}/audit", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    row = next(line for line in page.text.split("<tr>") if "Grande table" in line and "Réservation" in line)
    assert world.a.member.name in row
    assert "09:00" in row and "+00:00" not in row and "T08:00" not in row  # Paris time, not UTC ISO
    assert "resource_id" not in page.text and "booking.created" not in page.text

"""CSV exports open right in French Excel and LibreOffice: BOM, `;`, decimal comma, euros, labels."""

from __future__ import annotations

import csv
import io

from app.core.i18n import use_locale
from app.core.spreadsheet import Cents, csv_text, money_header


def _parse(text: str, delimiter: str) -> list[list[str]]:
    assert text.startswith("\ufeff")  # UTF-8 with a BOM
    return list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))


def test_a_french_reader_gets_semicolons_decimal_commas_and_euros():
    with use_locale("fr"):
        text = csv_text([money_header("Prix"), "Nom"], [[Cents(123450), "Élodie"], [Cents(5), "=1+1"]])
    rows = _parse(text, ";")
    assert rows == [["Prix (€)", "Nom"], ["1234,50", "Élodie"], ["0,05", "'=1+1"]]


def test_an_english_reader_gets_commas_and_decimal_points():
    with use_locale("en"):
        text = csv_text([money_header("Price"), "Name"], [[Cents(123450), "Ann, Bob"]])
    assert _parse(text, ",") == [["Price (€)", "Name"], ["1234.50", "Ann, Bob"]]


async def test_the_attendance_list_in_french_has_labels_not_codes(world):
    from app.core import db
    from app.event import registration as registrations
    from app.event.export import attendance_response
    from tests.event.factories import create_event, register

    event = await create_event(world.a.space, world.a.animator, price_member_cents=1250)
    await register(world.a.space, event, world.a.member)
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        rows = await registrations.list_registrations(session, event)
    with use_locale("fr"):
        body = attendance_response(event, rows).body.decode("utf-8")
    table = _parse(body, ";")
    assert table[0][:3] == ["Nom", "E-mail", "Statut"] and "Prix (€)" in table[0]
    assert table[1][2] == "confirmée" and "12,50" in table[1] and "confirmed" not in body

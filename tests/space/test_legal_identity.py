"""The legal identity invoices will print: the API and the settings page accept and refuse the same."""

from __future__ import annotations

import html

import pytest

from app.core import db
from app.space.models import Space

VALID = {
    "legal_form": "company", "legal_name": "Fabrique SAS", "siret": "732 829 320 00074",
    "vat_number": "FR 44 732829320", "vat_regime": "vat", "address": "1 rue de la Paix", "postcode": "75002",
    "town": "Paris", "invoice_prefix": "fab-", "payment_terms_days": "45", "rna": "",
}

# (what is typed, the field at fault, the code): each refusal has its own code.
BAD = [
    ({"siret": "12345"}, "siret", "siret_invalid"),
    ({"siret": "73282932000075"}, "siret", "siret_checksum"),
    ({"rna": "X12345"}, "rna", "rna_invalid"),
    ({"vat_number": "FR00123"}, "vat_number", "vat_number_invalid"),
    ({"vat_number": "FR40303265045"}, "vat_number", "vat_number_siren_mismatch"),
    ({"postcode": "7500"}, "postcode", "postcode_invalid"),
    ({"town": ""}, "town", "address_incomplete"),
    ({"invoice_prefix": "F/2026"}, "invoice_prefix", "invoice_prefix_invalid"),
    ({"payment_terms_days": "90"}, "payment_terms_days", "payment_terms_invalid"),
    ({"payment_terms_days": "thirty"}, "payment_terms_days", "payment_terms_invalid"),
    ({"legal_form": "sarl"}, "legal_form", "legal_form_invalid"),
    ({"vat_regime": "exempt"}, "vat_regime", "vat_regime_invalid"),
    ({"vat_regime": "association"}, "vat_regime", "vat_regime_needs_association"),
    ({"legal_name": "x" * 201}, "legal_name", "legal_text_too_long"),
]


async def _space(world) -> Space:
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        return await session.get(Space, world.a.space.id)


def _api_body(values: dict) -> dict:
    body = {k: (v or None) for k, v in values.items()}
    if isinstance(body["payment_terms_days"], str) and body["payment_terms_days"].isdigit():
        body["payment_terms_days"] = int(body["payment_terms_days"])
    return body


async def test_a_valid_identity_is_stored_normalised_through_the_api(world, api):
    r = await api(world.a.tokens["owner"]).patch(f"/api/v1/spaces/{world.a.slug}", json=_api_body(VALID))
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["siret"] == "73282932000074" and data["vat_number"] == "FR44732829320"
    assert data["invoice_prefix"] == "FAB-" and data["payment_terms_days"] == 45 and data["vat_mention"] is None
    assert (await _space(world)).town == "Paris"


async def test_the_settings_page_stores_the_same_identity(world, web):
    owner = await web(world.a.owner)
    r = await owner.post(f"/s/{world.a.slug}/settings", {"name": "Atelier", "timezone": "Europe/Paris",
                                                          "locale": "fr", **VALID})
    assert r.status_code == 303
    space = await _space(world)
    assert (space.siret, space.vat_number, space.invoice_prefix, space.payment_terms_days) == (
        "73282932000074", "FR44732829320", "FAB-", 45)


@pytest.mark.parametrize(("typed", "field", "code"), BAD, ids=[c for _t, _f, c in BAD])
async def test_the_api_and_the_page_refuse_the_same_input_with_the_same_message(world, api, web, typed, field, code):
    values = {**VALID, **typed}
    r = await api(world.a.tokens["owner"]).patch(f"/api/v1/spaces/{world.a.slug}", json=_api_body(values))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == code and field in error["fields"]

    owner = await web(world.a.owner)
    page = await owner.post(f"/s/{world.a.slug}/settings", {"name": "Atelier", "timezone": "Europe/Paris",
                                                             "locale": "fr", **values})
    assert page.status_code == 422
    assert f'id="e-{field}"' in page.text
    assert html.escape(error["fields"][field], quote=True) in page.text or error["fields"][field] in page.text
    if typed[field] and field not in ("legal_form", "vat_regime"):  # lists show their choices
        assert f'value="{html.escape(typed[field], quote=True)}"' in page.text  # what was typed is kept
    space = await _space(world)
    assert space.name != "Atelier" and space.siret is None  # nothing written


async def test_creating_a_space_checks_the_identity_the_same_way(world, api, web):
    r = await api(world.a.tokens["owner"]).post("/api/v1/spaces", json={
        "name": "Autre lieu", "slug": "autre-lieu", "siret": "73282932000075"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "siret_checksum"
    page = await (await web(world.a.owner)).post("/spaces/new", {"name": "Autre lieu", "slug": "autre-lieu",
                                                                   "siret": "73282932000075"})
    assert page.status_code == 422 and 'id="e-siret"' in page.text and 'value="73282932000075"' in page.text


async def test_an_association_prints_its_exemption_and_the_api_says_it_in_the_callers_language(world, api):
    body = {"legal_form": "association", "vat_regime": "association", "rna": "w751234567"}
    r = await api(world.a.tokens["owner"], **{"Accept-Language": "fr"}).patch(
        f"/api/v1/spaces/{world.a.slug}", json=body)
    assert r.status_code == 200 and r.json()["rna"] == "W751234567"
    assert r.json()["vat_mention"] == "TVA non applicable, art. 261-7-1° du CGI"
    r = await api(world.a.tokens["owner"], **{"Accept-Language": "en"}).get(f"/api/v1/spaces/{world.a.slug}")
    assert r.json()["vat_mention"] == "VAT not applicable, art. 261-7-1° of the CGI"


async def test_a_vat_number_given_later_is_checked_against_the_siren_given_before(world, api):
    owner = api(world.a.tokens["owner"])
    assert (await owner.patch(f"/api/v1/spaces/{world.a.slug}", json={"siret": "732829320"})).status_code == 200
    r = await owner.patch(f"/api/v1/spaces/{world.a.slug}", json={"vat_number": "FR40303265045"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "vat_number_siren_mismatch"


async def test_control_characters_and_line_breaks_never_reach_an_invoice(world, api):
    owner = api(world.a.tokens["owner"])
    r = await owner.patch(f"/api/v1/spaces/{world.a.slug}", json={"legal_name": "Atelier\x00 du\n  Val\x07"})
    assert r.status_code == 422 and set(r.json()["error"]["fields"]) == {"legal_name"}  # a name is one line
    r = await owner.patch(f"/api/v1/spaces/{world.a.slug}", json={"legal_name": "Atelier du   Val "})
    assert r.status_code == 200 and r.json()["legal_name"] == "Atelier du Val"


async def test_a_settings_form_without_the_legal_fields_leaves_the_identity_alone(world, api, web):
    owner_api = api(world.a.tokens["owner"])
    assert (await owner_api.patch(f"/api/v1/spaces/{world.a.slug}", json={"siret": "732829320"})).status_code == 200
    owner = await web(world.a.owner)
    r = await owner.post(f"/s/{world.a.slug}/settings", {"name": "Renamed", "timezone": "Europe/Paris", "locale": "fr"})
    assert r.status_code == 303
    assert (await _space(world)).siret == "732829320"
    r = await owner.post(f"/s/{world.a.slug}/settings", {"name": "Renamed", "timezone": "Europe/Paris",
                                                          "locale": "fr", "siret": ""})
    assert r.status_code == 303 and (await _space(world)).siret is None  # an emptied field is cleared

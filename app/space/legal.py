"""A space's legal identity: what its invoices will print, checked in one place.

``check_legal_identity`` is the only place that decides what is accepted: the API and the settings
page (``app.space.service.set_legal_identity`` and ``create_space``) both call it with what was
sent, so they accept and refuse exactly the same things. Pure functions, no I/O.

Identifiers are checked with python-stdnum (check digits, not only lengths):
- SIRET (14 digits) or SIREN (9 digits): Luhn key;
- RNA (associations, *Répertoire national des associations*): ``W`` and 9 digits;
- EU VAT number: the country's own check; for a French number the key must belong to the SIREN
  when both are given (``FRkk`` + SIREN).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from stdnum import vatin
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from app.core.errors import FabriqueError, ValidationFailed
from app.core.i18n import N_
from app.core.text import SINGLE_LINE_MESSAGE, has_line_break_or_control
from app.space.errors import (
    AddressIncomplete,
    InvoicePrefixInvalid,
    LegalFormInvalid,
    LegalTextTooLong,
    PaymentTermsInvalid,
    PostcodeInvalid,
    RnaInvalid,
    SiretChecksum,
    SiretInvalid,
    VatNumberInvalid,
    VatNumberSirenMismatch,
    VatRegimeInvalid,
    VatRegimeNeedsAssociation,
)


class LegalForm(StrEnum):
    association = "association"
    company = "company"
    public = "public"
    other = "other"


class VatRegime(StrEnum):
    vat = "vat"                  # subject to VAT: invoices show VAT per rate
    franchise = "franchise"      # franchise en base, art. 293 B du CGI
    association = "association"  # non-profit exemption, art. 261-7-1° du CGI


# What an invoice must print under each regime (translated when rendered: the French text is the
# legal wording). None: VAT lines are printed, no mention is needed.
VAT_MENTIONS: dict[VatRegime, str | None] = {
    VatRegime.vat: None,
    VatRegime.franchise: N_("VAT not applicable, art. 293 B of the CGI"),
    VatRegime.association: N_("VAT not applicable, art. 261-7-1° of the CGI"),
}

# Every field of the legal identity, in the order the form shows them.
LEGAL_FIELDS = ("legal_form", "legal_name", "siret", "rna", "vat_number", "vat_regime", "address",
                "postcode", "town", "invoice_prefix", "payment_terms_days")
TEXT_LIMITS = {"legal_name": 200, "address": 300, "town": 100}
DEFAULT_PAYMENT_TERMS_DAYS = 30
MAX_PAYMENT_TERMS_DAYS = 60  # French law (art. L441-10 du code de commerce): 60 days from the invoice date
RNA_RE = re.compile(r"^W\d{9}$")
POSTCODE_RE = re.compile(r"^\d{5}$")
INVOICE_PREFIX_RE = re.compile(r"^[A-Z0-9](?:[A-Z0-9-]{0,9})$")


def vat_mention(regime: str | None) -> str | None:
    """The msgid of the legal wording an invoice prints for ``regime`` (None: no mention)."""
    try:
        return VAT_MENTIONS[VatRegime(regime)]
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    # One line, single spaces, no control characters (PostgreSQL refuses NUL): what an invoice prints.
    text = "".join(ch for ch in " ".join(str(value).split()) if ch.isprintable())
    return text or None


def _compact(value: Any) -> str | None:
    text = _text(value)
    return re.sub(r"[\s.\-]", "", text).upper() if text else None


def check_legal_identity(values: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise and check a whole legal identity; returns the values to store.

    ``values`` holds the fields of ``LEGAL_FIELDS`` (strings as typed, or None/"" for none; the
    payment terms as an int or the typed string). Raises the first refusal, carrying the messages of
    every field at fault so a form can show them all.
    """
    out: dict[str, Any] = {}
    errors: list[FabriqueError] = []

    def refuse(error: FabriqueError) -> None:
        errors.append(error)

    for name, limit in TEXT_LIMITS.items():
        if values.get(name) is not None and has_line_break_or_control(str(values.get(name)).strip()):
            refuse(ValidationFailed(fields={name: SINGLE_LINE_MESSAGE}, code="invalid_text"))
            out[name] = None
            continue  # one line, like the API's SingleLine: refused, not flattened
        out[name] = _text(values.get(name))
        if out[name] is not None and len(out[name]) > limit:
            refuse(LegalTextTooLong(name, limit))

    form = _text(values.get("legal_form"))
    out["legal_form"] = form
    if form is not None and form not in set(LegalForm):
        refuse(LegalFormInvalid())

    regime = _text(values.get("vat_regime"))
    out["vat_regime"] = regime
    if regime is not None and regime not in set(VatRegime):
        refuse(VatRegimeInvalid())
    elif regime == VatRegime.association and form != LegalForm.association:
        refuse(VatRegimeNeedsAssociation())

    siret = _compact(values.get("siret"))
    out["siret"] = siret
    if siret is not None:
        if not (siret.isdigit() and len(siret) in (9, 14)):
            refuse(SiretInvalid())
        elif not (stdnum_siret.is_valid(siret) if len(siret) == 14 else stdnum_siren.is_valid(siret)):
            refuse(SiretChecksum())

    rna = _compact(values.get("rna"))
    out["rna"] = rna
    if rna is not None and not RNA_RE.match(rna):
        refuse(RnaInvalid())

    vat_number = _compact(values.get("vat_number"))
    out["vat_number"] = vat_number
    if vat_number is not None:
        try:
            vat_number = vatin.validate(vat_number)
            out["vat_number"] = vat_number
        except (StdnumError, ValueError):
            refuse(VatNumberInvalid())
        else:
            if vat_number.startswith("FR") and siret is not None and siret.isdigit() and len(siret) in (9, 14) \
                    and vat_number[4:] != siret[:9]:
                refuse(VatNumberSirenMismatch())

    postcode = _compact(values.get("postcode"))
    out["postcode"] = postcode
    if postcode is not None and not POSTCODE_RE.match(postcode):
        refuse(PostcodeInvalid())
    given = [out["address"], postcode, out["town"]]
    if any(given) and not all(given):
        refuse(AddressIncomplete([n for n, v in zip(("address", "postcode", "town"), given, strict=True) if not v]))

    prefix = _text(values.get("invoice_prefix"))
    prefix = prefix.upper() if prefix else None
    out["invoice_prefix"] = prefix
    if prefix is not None and not INVOICE_PREFIX_RE.match(prefix):
        refuse(InvoicePrefixInvalid())

    terms = values.get("payment_terms_days")
    if terms is None or (isinstance(terms, str) and not terms.strip()):
        out["payment_terms_days"] = DEFAULT_PAYMENT_TERMS_DAYS
    else:
        text = str(terms).strip()
        if isinstance(terms, bool) or not (text.isascii() and text.isdigit()) \
                or not 0 <= int(text) <= MAX_PAYMENT_TERMS_DAYS:
            refuse(PaymentTermsInvalid())
        else:
            out["payment_terms_days"] = int(text)

    if errors:
        first = errors[0]
        for other in errors[1:]:
            for name, message in other.fields.items():
                first.fields.setdefault(name, message)
        raise first
    return out

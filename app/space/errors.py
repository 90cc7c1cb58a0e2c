from app.core.errors import Conflict, Gone, ValidationFailed
from app.core.i18n import N_


class SlugInvalid(ValidationFailed):
    code = "slug_invalid"
    message = N_("The web address may only contain lowercase letters, digits and hyphens (3 to 48 characters).")

    def __init__(self) -> None:
        super().__init__(fields={"slug": self.message})


class SlugReserved(ValidationFailed):
    code = "slug_reserved"
    message = N_("This web address is reserved. Choose another one.")

    def __init__(self) -> None:
        super().__init__(fields={"slug": self.message})


class SlugTaken(Conflict):
    code = "slug_taken"
    message = N_("Another space already uses this web address. Choose another one.")

    def __init__(self) -> None:
        super().__init__(fields={"slug": self.message})


class InvalidTimezone(ValidationFailed):
    code = "invalid_timezone"
    message = N_("Unknown time zone.")

    def __init__(self) -> None:
        super().__init__(fields={"timezone": self.message})


class LastOwner(Conflict):
    code = "last_owner"
    message = N_("A space must keep at least one owner. Make someone else owner first.")


class AlreadyMember(Conflict):
    code = "already_member"
    message = N_("This person is already a member of the space.")

    def __init__(self) -> None:
        super().__init__(fields={"email": self.message})


class InvitationInvalid(Gone):
    code = "invitation_invalid"
    message = N_("This invitation has expired, was revoked or has already been used. Ask for a new one.")


# -- legal identity (app.space.legal): one code and one message per refusal ------------------------

class _LegalFieldError(ValidationFailed):
    field: str = ""

    def __init__(self) -> None:
        super().__init__(fields={self.field: self.message})


class LegalTextTooLong(ValidationFailed):
    code = "legal_text_too_long"
    message = N_("This is too long to print on an invoice: shorten it.")

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(fields={field: self.message}, extra={"limit": limit})


class LegalFormInvalid(_LegalFieldError):
    code = "legal_form_invalid"
    field = "legal_form"
    message = N_("Choose a legal form from the list.")


class VatRegimeInvalid(_LegalFieldError):
    code = "vat_regime_invalid"
    field = "vat_regime"
    message = N_("Choose a VAT regime from the list.")


class VatRegimeNeedsAssociation(_LegalFieldError):
    code = "vat_regime_needs_association"
    field = "vat_regime"
    message = N_("The association exemption (art. 261-7-1° of the CGI) is for associations: choose the legal form "
                 "Association, or another VAT regime.")


class SiretInvalid(_LegalFieldError):
    code = "siret_invalid"
    field = "siret"
    message = N_("A SIRET number has 14 digits, a SIREN number 9.")


class SiretChecksum(_LegalFieldError):
    code = "siret_checksum"
    field = "siret"
    message = N_("This SIRET or SIREN number does not exist (its check digit is wrong): check for a typing error.")


class RnaInvalid(_LegalFieldError):
    code = "rna_invalid"
    field = "rna"
    message = N_("An RNA number is the letter W followed by 9 digits, e.g. W751234567.")


class VatNumberInvalid(_LegalFieldError):
    code = "vat_number_invalid"
    field = "vat_number"
    message = N_("This is not a valid EU VAT number (e.g. FR40303265045): check the country code and the digits.")


class VatNumberSirenMismatch(_LegalFieldError):
    code = "vat_number_siren_mismatch"
    field = "vat_number"
    message = N_("This French VAT number belongs to another SIREN than the one given above.")


class PostcodeInvalid(_LegalFieldError):
    code = "postcode_invalid"
    field = "postcode"
    message = N_("A postcode has 5 digits.")


class AddressIncomplete(ValidationFailed):
    code = "address_incomplete"
    message = N_("An invoice needs the whole address: street, postcode and town.")

    def __init__(self, missing: list[str]) -> None:
        super().__init__(fields={name: self.message for name in missing})


class InvoicePrefixInvalid(_LegalFieldError):
    code = "invoice_prefix_invalid"
    field = "invoice_prefix"
    message = N_("An invoice prefix is 1 to 10 capital letters, digits or hyphens, starting with a letter or digit.")


class PaymentTermsInvalid(_LegalFieldError):
    code = "payment_terms_invalid"
    field = "payment_terms_days"
    message = N_("Payment terms are a whole number of days, from 0 (on receipt) to 60.")

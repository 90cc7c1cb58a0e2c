"""Billing refusals: each its own code and message (English msgids, French in the catalogue)."""

from __future__ import annotations

from app.core.errors import Conflict, FabriqueError, NotFound, ValidationFailed
from app.core.i18n import N_


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    message = N_("This invoice does not exist.")


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = N_("This payment does not exist.")


class UnknownMember(ValidationFailed):
    code = "unknown_member"
    message = N_("This person is not a member of the space.")

    def __init__(self) -> None:
        super().__init__(fields={"account_id": self.message})


class BuyerRequired(ValidationFailed):
    code = "buyer_required"
    message = N_("Name the member or the buyer the invoice is for.")

    def __init__(self) -> None:
        super().__init__(fields={"buyer_name": self.message})


class EmptyInvoice(ValidationFailed):
    code = "empty_invoice"
    message = N_("An invoice needs at least one line and a total above zero.")


class InvoiceAlreadyIssued(Conflict):
    code = "invoice_already_issued"
    message = N_("This invoice is already issued: correct it with a credit note.")


class InvoiceNotIssued(Conflict):
    code = "invoice_not_issued"
    message = N_("This invoice is not issued yet.")


class NotAnInvoice(Conflict):
    code = "not_an_invoice"
    message = N_("A credit note is not paid nor credited: use the invoice it corrects.")


class PaymentAboveDue(ValidationFailed):
    code = "payment_above_due"
    message = N_("This payment is above what is still due on the invoice (%(due)s).")

    def __init__(self, due: str) -> None:
        super().__init__(fields={"amount_cents": self.message}, params={"due": due})


class PaymentAmountInvalid(ValidationFailed):
    code = "invalid_payment_amount"
    message = N_("A payment is an amount above zero.")

    def __init__(self) -> None:
        super().__init__(fields={"amount_cents": self.message})


class RefundAbovePayment(ValidationFailed):
    code = "refund_above_payment"
    message = N_("This refund is above what is left of the payment (%(left)s).")

    def __init__(self, left: str) -> None:
        super().__init__(fields={"amount_cents": self.message}, params={"left": left})


class RefundOfRefund(Conflict):
    code = "refund_of_refund"
    message = N_("A refund cannot itself be refunded.")


class PeriodClosed(ValidationFailed):
    code = "period_closed"
    message = N_("This date falls in a closed period: nothing can be dated in it any more.")

    def __init__(self, field: str = "date") -> None:
        super().__init__(fields={field: self.message})


class CreditAboveInvoice(Conflict):
    code = "credit_above_invoice"
    message = N_("Some of these lines are already credited: a credit note never exceeds what remains of the invoice.")


class NothingToCredit(ValidationFailed):
    code = "nothing_to_credit"
    message = N_("Nothing is left to credit on this invoice.")


class LineNotOnInvoice(ValidationFailed):
    code = "line_not_on_invoice"
    message = N_("These lines are not lines of this invoice.")

    def __init__(self) -> None:
        super().__init__(fields={"line_ids": self.message})


class PeriodNotOver(ValidationFailed):
    code = "period_not_over"
    message = N_("A period can be closed once it is over.")


class PeriodAlreadyClosed(Conflict):
    code = "period_already_closed"
    message = N_("This period is already closed.")


class InvalidPeriod(ValidationFailed):
    code = "invalid_period"
    message = N_("Name a month as YYYY-MM or a year as YYYY.")

    def __init__(self) -> None:
        super().__init__(fields={"period": self.message})


class LedgerBroken(FabriqueError):
    """Not an HTTP answer: what ``fabrique verify-ledger`` reports."""

    status_code = 500
    code = "ledger_broken"
    message = N_("The ledger's hash chain is broken.")


class SirenRequired(ValidationFailed):
    code = "siren_required"
    message = N_("The FEC is named after the space's SIREN: enter the SIRET in the space's legal identity first.")


class InvalidRange(ValidationFailed):
    code = "invalid_date_range"
    message = N_("The end of the period comes before its start.")

    def __init__(self) -> None:
        super().__init__(fields={"end": self.message})

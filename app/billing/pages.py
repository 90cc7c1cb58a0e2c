"""Billing pages: the staff invoices list and invoice (printable, with the payment form), and the
member's "My invoices". Thin: the same services as the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from app.billing import payments, periods, repository, service
from app.billing.errors import InvoiceNotFound
from app.billing.models import ClosureKind, Invoice, InvoiceStatus, PaymentMethod
from app.core import money
from app.core.errors import FabriqueError, ValidationFailed
from app.core.i18n import N_, _, _l
from app.core.permissions import Perm
from app.core.web import SessionDep, form_data, page_router, redirect, register_space_nav, render
from app.pricing.vat import Amounts, summarise
from app.space.deps import SpaceContext, space_access
from app.space.service import spaces_of

router = page_router()
register_space_nav(25, Perm.space_view, _l("My invoices"), "my/invoices")
register_space_nav(70, Perm.billing_view, _l("Invoices"), "invoices")

BillingView = Annotated[SpaceContext, Depends(space_access(Perm.billing_view))]
BillingManage = Annotated[SpaceContext, Depends(space_access(Perm.billing_manage))]
Member = Annotated[SpaceContext, Depends(space_access(Perm.space_view))]

FILTER_LABELS = {"draft": _l("Drafts"), "issued": _l("Issued"), "unpaid": _l("Unpaid"), "overdue": _l("Overdue"),
                 "paid": _l("Paid")}
METHOD_LABELS = {PaymentMethod.cash: _l("Cash"), PaymentMethod.cheque: _l("Cheque"),
                 PaymentMethod.transfer: _l("Bank transfer"), PaymentMethod.card_terminal: _l("Card terminal"),
                 PaymentMethod.voucher: _l("Voucher (chèques vacances)")}
CLOSURE_LABELS = {ClosureKind.month: _l("Month (YYYY-MM)"), ClosureKind.year: _l("Fiscal year (YYYY)")}
STATUS_LABELS = {"paid": _l("paid"), "unpaid": _l("unpaid"), "overdue": _l("overdue"), "draft": _l("draft")}


async def _page(request: Request, session: SessionDep, ctx: SpaceContext) -> None:
    request.state.my_spaces = await spaces_of(session, int(ctx.account.id or 0))


@router.get("/s/{slug}/invoices")
async def invoices_page(request: Request, session: SessionDep, ctx: BillingView,
                        status: str | None = None) -> Response:
    await _page(request, session, ctx)
    chosen = status if status in repository.FILTERS else None
    today = service.local_today(ctx.space)
    invoices = await repository.list_invoices(session, today=today, status=chosen, limit=500)
    settled = await service.settlements(session, invoices)
    return render(request, "billing/list.html", {
        "ctx": ctx, "invoices": invoices, "settled": settled, "today": today, "chosen": chosen,
        "filters": FILTER_LABELS, "status_labels": STATUS_LABELS,
        "total_due": sum(s.due_cents for s in settled.values() if s.due_cents > 0),
    })


async def _invoice_page(request: Request, session: SessionDep, ctx: SpaceContext, invoice: Invoice, *,
                        staff: bool, error: FabriqueError | None = None, form: dict[str, Any] | None = None) -> Response:
    await _page(request, session, ctx)
    key = int(invoice.id or 0)
    lines = (await service.lines_of(session, [key]))[key]
    today = service.local_today(ctx.space)
    settled = (await service.settlements(session, [invoice]))[key]
    corrected = await service.get_invoice(session, invoice.corrects_id) if invoice.corrects_id else None
    return render(request, "billing/invoice.html", {
        "ctx": ctx, "invoice": invoice, "lines": lines, "settled": settled, "today": today, "staff": staff,
        "status": settled.status(invoice, today), "status_labels": STATUS_LABELS, "corrected": corrected,
        "summary": summarise([(x.vat_rate_bp, Amounts(x.amount_excl_cents, x.vat_cents, x.amount_incl_cents))
                              for x in lines]),
        "payments": (await payments.of_invoices(session, [key]))[key], "methods": METHOD_LABELS,
        "base": f"/s/{ctx.space.slug}/{'invoices' if staff else 'my/invoices'}",
    }, error=error, form=form or {"paid_on": today.isoformat()})


@router.get("/s/{slug}/invoices/{invoice_id:int}")
async def invoice_page(request: Request, session: SessionDep, ctx: BillingView, invoice_id: int) -> Response:
    invoice = await service.get_invoice(session, invoice_id)
    return await _invoice_page(request, session, ctx, invoice, staff=True)


@router.post("/s/{slug}/invoices/{invoice_id:int}/payments")
async def record_payment(request: Request, session: SessionDep, ctx: BillingManage, invoice_id: int) -> Response:
    invoice = await service.get_invoice(session, invoice_id)
    form = await form_data(request)
    try:
        method = form.get("method", "")
        if method not in set(PaymentMethod):
            raise ValidationFailed(fields={"method": N_("Choose how it was paid.")})
        amount = money.parse_cents(form.get("amount", ""), "amount")
        try:
            paid_on = date.fromisoformat(form.get("paid_on", "").strip())
        except ValueError:
            raise ValidationFailed(fields={"paid_on": N_("A date is expected (YYYY-MM-DD).")}) from None
        await payments.record(session, invoice_id, method=PaymentMethod(method), amount_cents=amount,
                              paid_on=paid_on, reference=form.get("reference", "").strip()[:100] or None,
                              cheque_bank=form.get("cheque_bank", "").strip()[:100] or None, actor_id=ctx.account.id)
    except FabriqueError as exc:
        if "amount_cents" in exc.fields:
            exc.fields["amount"] = exc.fields.pop("amount_cents")
        # (The 4xx answer rolls the request's transaction back: nothing is written.)
        return await _invoice_page(request, session, ctx, invoice, staff=True, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/invoices/{invoice_id}", message=_("Payment recorded."))


@router.post("/s/{slug}/invoices/{invoice_id:int}/credit-note")
async def cancel_by_credit_note(request: Request, session: SessionDep, ctx: BillingManage, invoice_id: int) -> Response:
    """Cancel what remains of an invoice by a credit note (every line not credited yet)."""
    invoice = await service.get_invoice(session, invoice_id)
    try:
        note = await service.credit_invoice(session, ctx.space, invoice_id, line_ids=None,
                                            today=service.local_today(ctx.space), actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _invoice_page(request, session, ctx, invoice, staff=True, error=exc)
    return redirect(f"/s/{ctx.space.slug}/invoices/{note.id}",
                    message=_("Credit note %(number)s issued.") % {"number": note.number})


@router.get("/s/{slug}/period-closures")
async def closures_page(request: Request, session: SessionDep, ctx: BillingView) -> Response:
    return await _closures(request, session, ctx)


async def _closures(request: Request, session: SessionDep, ctx: SpaceContext, *, error: FabriqueError | None = None,
                    form: dict[str, Any] | None = None) -> Response:
    await _page(request, session, ctx)
    last_month = service.local_today(ctx.space).replace(day=1) - timedelta(days=1)
    return render(request, "billing/closures.html", {
        "ctx": ctx, "closures": await repository.closures(session), "kinds": CLOSURE_LABELS,
    }, error=error, form=form or {"kind": "month", "period": last_month.strftime("%Y-%m")})


@router.post("/s/{slug}/period-closures")
async def close_period(request: Request, session: SessionDep, ctx: BillingManage) -> Response:
    form = await form_data(request)
    try:
        kind = form.get("kind", "")
        if kind not in set(ClosureKind):
            raise ValidationFailed(fields={"kind": N_("Choose a month or a year.")})
        closure = await periods.close(session, kind=kind, period=form.get("period", ""),
                                      today=service.local_today(ctx.space), actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _closures(request, session, ctx, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/period-closures",
                    message=_("Period closed: from %(start)s to %(end)s, nothing more can be dated in it.") % {
                        "start": closure.starts_on.strftime("%d/%m/%Y"), "end": closure.ends_on.strftime("%d/%m/%Y")})


@router.get("/s/{slug}/my/invoices")
async def my_invoices_page(request: Request, session: SessionDep, ctx: Member) -> Response:
    await _page(request, session, ctx)
    invoices = await repository.issued_to(session, int(ctx.account.id or 0))
    today = service.local_today(ctx.space)
    settled = await service.settlements(session, invoices)
    return render(request, "billing/mine.html", {"ctx": ctx, "invoices": invoices, "settled": settled,
                                                 "today": today, "status_labels": STATUS_LABELS})


@router.get("/s/{slug}/my/invoices/{invoice_id:int}")
async def my_invoice_page(request: Request, session: SessionDep, ctx: Member, invoice_id: int) -> Response:
    invoice = await service.get_invoice(session, invoice_id)
    if invoice.account_id != ctx.account.id or invoice.status != InvoiceStatus.issued:
        raise InvoiceNotFound()
    return await _invoice_page(request, session, ctx, invoice, staff=False)

"""The billing API under /api/v1/spaces/{slug}/: invoices, credit notes, payments, closures, the
billing run, and "my invoices" for a member. Thin: every rule is in the services."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Response, status

from app.billing import csv_export, fec, payments, periods, repository, run, service
from app.billing.errors import BuyerRequired, InvoiceNotFound
from app.billing.models import Invoice, InvoiceStatus, Payment
from app.billing.schemas import (
    ClosureCreate,
    ClosureRead,
    CreditNoteCreate,
    InvoiceCreate,
    InvoiceRead,
    PaymentCreate,
    PaymentRead,
    RefundCreate,
    RunRead,
)
from app.billing.service import Buyer
from app.core.permissions import Perm
from app.core.schemas import IdPath
from app.core.web import MAX_ID, SessionDep, api_router
from app.space.deps import SpaceContext, space_access

router = api_router(prefix="/api/v1/spaces/{slug}", tags=["billing"])

BillingView = Annotated[SpaceContext, Depends(space_access(Perm.billing_view))]
BillingManage = Annotated[SpaceContext, Depends(space_access(Perm.billing_manage))]
Member = Annotated[SpaceContext, Depends(space_access(Perm.space_view))]


async def existing_invoice(session: SessionDep, _ctx: BillingManage, invoice_id: IdPath) -> Invoice:
    """The invoice named by the path, found before the body is read: another space's is a 404."""
    return await service.get_invoice(session, invoice_id)


async def existing_payment(session: SessionDep, _ctx: BillingManage, payment_id: IdPath) -> Payment:
    return await payments.get(session, payment_id)


ExistingInvoice = Annotated[Invoice, Depends(existing_invoice)]
ExistingPayment = Annotated[Payment, Depends(existing_payment)]
StatusFilter = Literal["draft", "issued", "unpaid", "overdue", "paid"]


async def _read(session: SessionDep, ctx: SpaceContext, invoice: Invoice, *, full: bool = True) -> InvoiceRead:
    today = service.local_today(ctx.space)
    settled = (await service.settlements(session, [invoice]))[int(invoice.id or 0)]
    if not full:
        return InvoiceRead.of(invoice, settled, today)
    lines = (await service.lines_of(session, [int(invoice.id or 0)]))[int(invoice.id or 0)]
    paid = (await payments.of_invoices(session, [int(invoice.id or 0)]))[int(invoice.id or 0)]
    return InvoiceRead.of(invoice, settled, today, lines, paid)


async def _reads(session: SessionDep, ctx: SpaceContext, invoices: list[Invoice]) -> list[InvoiceRead]:
    today = service.local_today(ctx.space)
    settled = await service.settlements(session, invoices)
    return [InvoiceRead.of(i, settled[int(i.id or 0)], today) for i in invoices]


@router.get("/invoices", response_model=list[InvoiceRead])
async def list_invoices(
    session: SessionDep, ctx: BillingView,
    status_: Annotated[StatusFilter | None, Query(alias="status")] = None,
    kind: Literal["invoice", "credit_note"] | None = None,
    account_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[InvoiceRead]:
    invoices = await repository.list_invoices(session, today=service.local_today(ctx.space), status=status_,
                                              kind=kind, account_id=account_id, limit=limit, offset=offset)
    return await _reads(session, ctx, invoices)


@router.get("/invoices/{invoice_id}", response_model=InvoiceRead)
async def get_invoice(session: SessionDep, ctx: BillingView, invoice_id: IdPath) -> InvoiceRead:
    return await _read(session, ctx, await service.get_invoice(session, invoice_id))


@router.post("/invoices", response_model=InvoiceRead, status_code=status.HTTP_201_CREATED)
async def create_invoice(session: SessionDep, ctx: BillingManage, body: InvoiceCreate) -> InvoiceRead:
    """A manual invoice with free lines (e.g. a room hired by the town hall), issued at once unless
    ``issue`` is false (a draft, without a number)."""
    if body.account_id is not None:
        member = await service.buyer_of_member(session, body.account_id)
        buyer = Buyer(body.buyer.name, body.buyer.address, body.buyer.siren, body.buyer.vat_number,
                      body.buyer.is_business) if body.buyer else member
    elif body.buyer is not None:
        buyer = Buyer(body.buyer.name, body.buyer.address, body.buyer.siren, body.buyer.vat_number,
                      body.buyer.is_business)
    else:
        raise BuyerRequired()
    lines = [service.free_line(ctx.space, label=x.label, quantity=x.quantity, unit_price_cents=x.unit_price_cents,
                               vat_rate_bp=x.vat_rate_bp) for x in body.lines]
    invoice, rows = await service.create_draft(session, ctx.space, buyer=buyer, lines=lines,
                                               account_id=body.account_id, actor_id=ctx.account.id)
    if body.issue:
        await service.issue(session, ctx.space, invoice, rows, today=service.local_today(ctx.space))
    return await _read(session, ctx, invoice)


@router.post("/invoices/{invoice_id}/issue", response_model=InvoiceRead)
async def issue_invoice(session: SessionDep, ctx: BillingManage, invoice_id: IdPath) -> InvoiceRead:
    """Give a draft its number (the next of its series, gapless) and its place in the hash chain."""
    invoice = await service.issue_draft(session, ctx.space, invoice_id, today=service.local_today(ctx.space))
    return await _read(session, ctx, invoice)


@router.post("/invoices/{invoice_id}/credit-notes", response_model=InvoiceRead,
             status_code=status.HTTP_201_CREATED)
async def create_credit_note(session: SessionDep, ctx: BillingManage, invoice_id: IdPath,
                             body: CreditNoteCreate) -> InvoiceRead:
    """Cancel (every line not credited yet) or correct (some lines) an issued invoice by a credit note."""
    note = await service.credit_invoice(session, ctx.space, invoice_id, line_ids=body.line_ids,
                                        today=service.local_today(ctx.space), actor_id=ctx.account.id)
    return await _read(session, ctx, note)


@router.post("/invoices/{invoice_id}/payments", response_model=PaymentRead, status_code=status.HTTP_201_CREATED)
async def record_payment(session: SessionDep, ctx: BillingManage, invoice: ExistingInvoice,
                         body: PaymentCreate) -> PaymentRead:
    payment = await payments.record(session, int(invoice.id or 0), method=body.method, amount_cents=body.amount_cents,
                                    paid_on=body.paid_on or service.local_today(ctx.space), reference=body.reference,
                                    cheque_bank=body.cheque_bank, actor_id=ctx.account.id)
    return PaymentRead.of(payment)


@router.post("/payments/{payment_id}/refunds", response_model=PaymentRead, status_code=status.HTTP_201_CREATED)
async def refund_payment(session: SessionDep, ctx: BillingManage, original: ExistingPayment,
                         body: RefundCreate) -> PaymentRead:
    refund = await payments.refund(session, int(original.id or 0), amount_cents=body.amount_cents,
                                   paid_on=body.paid_on or service.local_today(ctx.space), method=body.method,
                                   reference=body.reference, actor_id=ctx.account.id)
    return PaymentRead.of(refund)


@router.get("/period-closures", response_model=list[ClosureRead])
async def list_closures(session: SessionDep, ctx: BillingView) -> list[ClosureRead]:
    return [ClosureRead.of(c) for c in await repository.closures(session)]


@router.post("/period-closures", response_model=ClosureRead, status_code=status.HTTP_201_CREATED)
async def close_period(session: SessionDep, ctx: BillingManage, body: ClosureCreate) -> ClosureRead:
    """Close a month (``2026-11``) or a fiscal year (``2026``) that is over: its totals go into the
    hash chain, and nothing dated in it is accepted afterwards."""
    closure = await periods.close(session, kind=body.kind, period=body.period,
                                  today=service.local_today(ctx.space), actor_id=ctx.account.id)
    return ClosureRead.of(closure)


@router.post("/billing/run", response_model=RunRead)
async def run_billing(session: SessionDep, ctx: BillingManage) -> RunRead:
    """Invoice now what the daily run would: every member's un-invoiced charges."""
    result = await run.invoice_due(session, ctx.space, service.local_today(ctx.space))
    return RunRead(invoices=len(result.invoices), credit_notes=len(result.credit_notes),
                   numbers=[str(i.number) for i in result.invoices + result.credit_notes])


@router.get("/exports/fec", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "The FEC file"}})
async def export_fec(session: SessionDep, ctx: BillingView,
                     year: Annotated[int, Query(ge=2000, le=2200, description="The fiscal (calendar) year")]) -> Response:
    """The FEC of a fiscal year: 18 columns, tab-separated, one balanced entry per EcritureNum."""
    name, content = await fec.export_year(session, ctx.space, year)
    return Response(content.encode(), media_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}, "description": "A CSV file (;-separated, decimal comma)"}}


def _csv(content: str, name: str) -> Response:
    return Response(content.encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/exports/invoices.csv", response_class=Response, responses=_CSV)
async def export_invoices(session: SessionDep, ctx: BillingView, start: Annotated[date, Query()],
                          end: Annotated[date, Query()]) -> Response:
    """Invoices and credit notes issued in the period, French spreadsheet conventions."""
    return _csv(await csv_export.invoices_csv(session, start, end), f"invoices-{start}-{end}.csv")


@router.get("/exports/payments.csv", response_class=Response, responses=_CSV)
async def export_payments(session: SessionDep, ctx: BillingView, start: Annotated[date, Query()],
                          end: Annotated[date, Query()]) -> Response:
    """Payments and refunds dated in the period, French spreadsheet conventions."""
    return _csv(await csv_export.payments_csv(session, start, end), f"payments-{start}-{end}.csv")


@router.get("/my/invoices", response_model=list[InvoiceRead])
async def my_invoices(session: SessionDep, ctx: Member) -> list[InvoiceRead]:
    """The caller's issued invoices and credit notes, with what is still due."""
    return await _reads(session, ctx, await repository.issued_to(session, int(ctx.account.id or 0)))


@router.get("/my/invoices/{invoice_id}", response_model=InvoiceRead)
async def my_invoice(session: SessionDep, ctx: Member, invoice_id: IdPath) -> InvoiceRead:
    invoice = await service.get_invoice(session, invoice_id)
    if invoice.account_id != ctx.account.id or invoice.status != InvoiceStatus.issued:
        raise InvoiceNotFound()
    return await _read(session, ctx, invoice)


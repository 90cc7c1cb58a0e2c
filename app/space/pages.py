from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import col, select

from app.account.deps import CurrentAccount, OptionalAccount
from app.account.models import Account
from app.audit.readable import readable
from app.audit.service import space_entries_page
from app.core.errors import FabriqueError, FieldErrors, ValidationFailed
from app.core.i18n import N_, _, _l
from app.core.permissions import Perm, Role
from app.core.web import SessionDep, form_data, form_email, page_router, redirect, register_space_nav, render
from app.pricing import vat
from app.pricing.forms import vat_choices
from app.space import service
from app.space.deps import AuditView, MemberManage, MemberView, SpaceContext, SpaceManage
from app.space.legal import LEGAL_FIELDS
from app.space.models import PUBLIC_BLOCKS, Space, SpaceMember

router = page_router()

register_space_nav(80, Perm.member_view, _l("People"), "members")
register_space_nav(90, Perm.space_manage, _l("Settings"), "settings", group="manage")
register_space_nav(95, Perm.audit_view, _l("Activity log"), "audit", group="manage")

async def _remember_spaces(request: Request, session, account) -> None:
    request.state.my_spaces = await service.spaces_of(session, account.id)


def _legal(form: dict[str, str]) -> dict[str, str | None]:
    """The legal identity as typed (the fields the form sent; an empty one clears the value):
    ``app.space.legal`` checks it, as for the API."""
    return {k: form[k] for k in LEGAL_FIELDS if k in form}


@router.get("/spaces/new")
async def new_space_form(request: Request, account: CurrentAccount, session: SessionDep) -> Response:
    await _remember_spaces(request, session, account)
    return render(request, "manage/space_new.html", {"timezones": sorted(service.TIMEZONES)},
                  form={"timezone": "Europe/Paris", "locale": "fr", "payment_terms_days": "30"})


@router.post("/spaces/new")
async def create_space(request: Request, account: CurrentAccount, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        if len(form.get("name", "").strip()) < 2:
            raise ValidationFailed(fields={"name": N_("Give the space a name (at least 2 characters).")})
        locale = form.get("locale") if form.get("locale") in ("fr", "en") else "fr"
        space, _member = await service.create_space(
            session, account, name=form["name"], slug=form.get("slug") or None,
            timezone=form.get("timezone") or "Europe/Paris", locale=locale, **_legal(form),
        )
    except FabriqueError as exc:
        await _remember_spaces(request, session, account)
        return render(request, "manage/space_new.html", {"timezones": sorted(service.TIMEZONES)},
                      error=exc, form=form)
    return redirect(f"/s/{space.slug}", message=_("Your space is ready. Invite your team!"))


async def member_home(request: Request, ctx: SpaceContext, session: SessionDep) -> Response:
    """The space's home for its members; ``/s/{slug}`` is routed by app.public, which shows
    visitors the public page instead."""
    await _remember_spaces(request, session, ctx.account)
    members = await service.list_members(session) if ctx.can(Perm.member_view) else []
    invitations = await service.pending_invitations(session) if ctx.can(Perm.member_manage) else []
    counts = {r.value: sum(1 for m in members if m.member.role == r) for r in Role}
    return render(request, "manage/home.html", {"ctx": ctx, "counts": counts, "invitations": invitations})


@router.get("/s/{slug}/members")
async def members_page(request: Request, ctx: MemberView, session: SessionDep) -> Response:
    return await _members(request, ctx, session)


async def _members(request: Request, ctx, session, **extra) -> Response:
    await _remember_spaces(request, session, ctx.account)
    q = request.query_params.get("q") or None
    rows = await service.list_members(session, q=q)
    invitations = await service.pending_invitations(session) if ctx.can(Perm.member_manage) else []
    grantable = [r for r in Role if r != Role.owner or ctx.can(Perm.owner_manage)]
    error = extra.pop("error", None)
    form = extra.pop("form", None)
    return render(request, "manage/members.html", {
        "ctx": ctx, "rows": rows, "invitations": invitations, "roles": list(Role), "grantable": grantable,
        "q": q or "", **extra,
    }, error=error, form=form)


@router.post("/s/{slug}/members/invite")
async def invite(request: Request, ctx: MemberManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        email = form_email(form.get("email"))
        try:
            role = Role(form.get("role", "member"))
        except ValueError as exc:
            raise ValidationFailed(fields={"role": N_("Choose a role.")}) from exc
        await service.invite(session, ctx.space, ctx.account, ctx.role, email=email, role=role)
    except FabriqueError as exc:
        return await _members(request, ctx, session, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/members", message=_("Invitation sent to %(email)s.") % {"email": email})


@router.post("/s/{slug}/members/{member_id}/role")
async def change_role(request: Request, member_id: int, ctx: MemberManage, session: SessionDep) -> Response:
    member = await service.get_member(session, member_id)
    form = await form_data(request)
    try:
        try:
            role = Role(form.get("role", ""))
        except ValueError as exc:
            raise ValidationFailed(fields={"role": N_("Choose a role.")}) from exc
        await service.change_role(session, ctx.space, ctx.account, ctx.role, member, role)
    except FabriqueError as exc:
        return await _members(request, ctx, session, error=exc)
    return redirect(f"/s/{ctx.space.slug}/members", message=_("The role has been changed."))


async def _member_page(request: Request, ctx, session, member, *, error: FabriqueError | None = None,
                       form: dict | None = None) -> Response:
    account = await session.get(Account, member.account_id)
    await _remember_spaces(request, session, ctx.account)
    values = form if form is not None else {"tags": ", ".join(sorted(member.tag_set)), "note": member.note}
    return render(request, "manage/member.html", {"ctx": ctx, "member": member, "person": account},
                  error=error, form=values)


@router.get("/s/{slug}/members/{member_id:int}")
async def member_page(request: Request, member_id: int, ctx: MemberManage, session: SessionDep) -> Response:
    """A person of the space for the team: tags (what they may book, e.g. trained on the laser cutter)
    and a private note."""
    return await _member_page(request, ctx, session, await service.get_member(session, member_id))


@router.post("/s/{slug}/members/{member_id:int}/details")
async def member_details(request: Request, member_id: int, ctx: MemberManage, session: SessionDep) -> Response:
    member = await service.get_member(session, member_id)
    form = await form_data(request)
    try:
        await service.set_member_tags(session, ctx.space, ctx.account, member, (form.get("tags") or "").split(","))
        await service.set_member_note(session, ctx.space, ctx.account, member, form.get("note") or "")
    except FabriqueError as exc:
        return await _member_page(request, ctx, session, member, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/members", message=_("Tags and note saved."))


@router.get("/s/{slug}/members/{member_id}/remove")
async def remove_confirm(request: Request, member_id: int, ctx: MemberManage, session: SessionDep) -> Response:
    """Ask first (the Remove button links here; with JavaScript the same question opens in a dialog)."""
    member = await service.get_member(session, member_id)
    account = await session.get(Account, member.account_id)
    await _remember_spaces(request, session, ctx.account)
    return render(request, "confirm/page.html", {"ctx": ctx, "kind": "remove_member", "args": {
        "slug": ctx.space.slug, "member": member, "name": account.name if account else ""}})


@router.post("/s/{slug}/members/{member_id}/remove")
async def remove(request: Request, member_id: int, ctx: MemberManage, session: SessionDep) -> Response:
    member = await service.get_member(session, member_id)
    try:
        await service.remove_member(session, ctx.space, ctx.account, ctx.role, member)
    except FabriqueError as exc:
        return await _members(request, ctx, session, error=exc)
    if member.account_id == ctx.account.id:
        return redirect("/", message=_("You have left the space."))
    return redirect(f"/s/{ctx.space.slug}/members", message=_("The person has been removed from the space."))


@router.post("/s/{slug}/invitations/{invitation_id}/revoke")
async def revoke(invitation_id: int, ctx: MemberManage, session: SessionDep) -> Response:
    await service.revoke_invitation(session, ctx.space, ctx.account, invitation_id)
    return redirect(f"/s/{ctx.space.slug}/members", message=_("The invitation has been revoked."))


# -- pricing settings (app.pricing): the default VAT rate and whether prices include VAT ----------

def _pricing(form: dict[str, str]) -> dict[str, object]:
    """The pricing fields sent (a field left out changes nothing)."""
    values: dict[str, object] = {}
    if "default_vat_rate" in form:
        values["default_vat_rate_bp"] = vat.parse_rate(form["default_vat_rate"], "default_vat_rate")
    if form.get("prices_include_vat") in ("included", "excluded"):
        values["prices_include_vat"] = form["prices_include_vat"] == "included"
    return values


def _pricing_form(space: Space) -> dict[str, str]:
    return {"default_vat_rate": vat.rate_label(space.default_vat_rate_bp),
            "prices_include_vat": "included" if space.prices_include_vat else "excluded"}


PUBLIC_BLOCK_LABELS = {
    "presentation": _l("Presentation (the text below)"),
    "address": _l("Address and map link"),
    "hours": _l("Opening hours and closures"),
    "resources": _l("Resources and their capacity"),
    "prices": _l("Public prices of the resources"),
    "events": _l("Upcoming public events"),
    "join": _l("How to join"),
}


def _public_form(space: Space) -> dict[str, str]:
    form = {"public_text": space.public_text, "public_page": "on" if space.public_page else ""}
    form |= {f"block_{b}": "on" for b in space.public_blocks.split(",") if b in PUBLIC_BLOCKS}
    return form


def _settings_context(ctx: SpaceContext) -> dict[str, object]:
    return {"ctx": ctx, "timezones": sorted(service.TIMEZONES), "vat_rates": vat_choices(default_choice=False),
            "public_blocks": [(b, PUBLIC_BLOCK_LABELS[b]) for b in PUBLIC_BLOCKS]}

# -- end of pricing settings


@router.get("/s/{slug}/settings")
async def settings_form(request: Request, ctx: SpaceManage, session: SessionDep) -> Response:
    await _remember_spaces(request, session, ctx.account)
    s = ctx.space
    form = {k: "" if getattr(s, k) is None else str(getattr(s, k)) for k in ("name", "timezone", "locale", *LEGAL_FIELDS)}
    form |= _pricing_form(s) | _public_form(s)
    return render(request, "manage/settings.html", _settings_context(ctx), form=form)


@router.post("/s/{slug}/settings")
async def save_settings(request: Request, ctx: SpaceManage, session: SessionDep) -> Response:
    form = await form_data(request)
    errors = FieldErrors()  # every section's errors at once; any error leaves the space unchanged
    try:
        if len(form.get("name", "").strip()) < 2:
            errors.add("name", N_("Give the space a name (at least 2 characters)."))
        try:
            await service.update_space(
                session, ctx.space, ctx.account, name=form.get("name", "").strip() or None,
                timezone=form.get("timezone") or None,
                locale=form.get("locale") if form.get("locale") in ("fr", "en") else None,
                **_pricing(form),
            )
        except ValidationFailed as exc:
            errors.merge(exc)
        try:
            await service.set_legal_identity(session, ctx.space, ctx.account, _legal(form))
        except ValidationFailed as exc:
            errors.merge(exc)
        if "public_text" in form:  # the form's public page section (a form without it changes nothing)
            try:
                await service.set_public_page(
                    session, ctx.space, ctx.account, published=form.get("public_page") == "on",
                    blocks={b for b in PUBLIC_BLOCKS if form.get(f"block_{b}") == "on"}, text=form.get("public_text"))
            except ValidationFailed as exc:
                errors.merge(exc)
        errors.raise_if_any()
    except FabriqueError as exc:
        await _remember_spaces(request, session, ctx.account)
        return render(request, "manage/settings.html", _settings_context(ctx), error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/settings", message=_("Settings saved."))


async def _member_names(session, account_ids: set[int]) -> dict[int, str]:
    """The names of those of these accounts who are members of the session's space (the audit page
    names the actors of the entries shown, not the space's thousands of members)."""
    if not account_ids:
        return {}
    rows = await session.exec(
        select(Account.id, Account.name).join(SpaceMember, col(SpaceMember.account_id) == Account.id)
        .where(col(Account.id).in_(sorted(account_ids))))
    return {account_id: name for account_id, name in rows.all()}


@router.get("/s/{slug}/audit")
async def audit_page(request: Request, ctx: AuditView, session: SessionDep) -> Response:
    await _remember_spaces(request, session, ctx.account)
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    entries, older = await space_entries_page(session, limit=50, offset=(page - 1) * 50)
    actors = await _member_names(session, {e.actor_id for e in entries if e.actor_id})
    rows = await readable(session, entries, tz=ctx.space.timezone, currency=ctx.space.currency, actors=actors)
    return render(request, "manage/audit.html", {
        "ctx": ctx, "entries": rows, "page": page, "older": older,
    })


@router.get("/invitations/{token}")
async def invitation_page(request: Request, token: str, account: OptionalAccount, session: SessionDep) -> Response:
    try:
        invitation, space = await service.find_invitation(session, token)
    except FabriqueError as exc:
        return render(request, "errors/error.html", {"error": exc, "status": exc.status_code},
                      status_code=exc.status_code)
    if account:
        await _remember_spaces(request, session, account)
    return render(request, "account/invitation.html", {"invitation": invitation, "space": space, "token": token})


@router.post("/invitations/{token}/accept")
async def accept(request: Request, token: str, account: CurrentAccount, session: SessionDep) -> Response:
    try:
        space, _member = await service.accept_invitation(session, token, account)
    except FabriqueError as exc:
        return render(request, "errors/error.html", {"error": exc, "status": exc.status_code},
                      status_code=exc.status_code)
    return redirect(f"/s/{space.slug}", message=_("Welcome to %(space)s!") % {"space": space.name})

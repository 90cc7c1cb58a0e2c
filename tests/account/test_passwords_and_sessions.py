from __future__ import annotations

from datetime import timedelta

import httpx
from sqlmodel import select

from app.account.models import ApiToken, AuthSession
from app.core import clock, db
from tests.fixtures.factories import PASSWORD, api_token, create_account, create_space
from tests.fixtures.harness import link_in

NEW_PASSWORD = "a-brand-new-passphrase"


async def test_forgotten_password_link_sets_a_new_password_once(client, web, outbox):
    await create_account(email="forgot@example.org")
    b = await web()
    r = await b.post("/forgot-password", {"email": "forgot@example.org"})
    assert r.status_code == 200
    mails = await outbox()
    assert len(mails) == 1
    path = link_in(mails[0], "/reset-password/")
    assert (await b.get(path)).status_code == 200
    r = await b.post(path, {"password": NEW_PASSWORD})
    assert r.status_code == 303
    # the old password no longer works, the new one does
    r = await client.post("/api/v1/auth/token", data={"username": "forgot@example.org", "password": PASSWORD})
    assert r.status_code == 401
    r = await client.post("/api/v1/auth/token", data={"username": "forgot@example.org", "password": NEW_PASSWORD})
    assert r.status_code == 200
    # the link is single use
    r = await b.post(path, {"password": "yet-another-passphrase"})
    assert r.status_code == 410
    assert "already been used" in r.text or "expir" in r.text


async def test_forgotten_password_for_an_unknown_address_reveals_nothing(web, outbox):
    b = await web()
    r = await b.post("/forgot-password", {"email": "nobody@example.org"})
    assert r.status_code == 200
    assert await outbox() == []


async def test_reset_link_expires_after_an_hour(client, outbox):
    await create_account(email="late@example.org")
    await client.post("/api/v1/auth/password-reset", json={"email": "late@example.org"})
    token = link_in((await outbox())[0], "/reset-password/").rsplit("/", 1)[1]
    import time

    real = time.time
    time.time = lambda: real() + 3601  # itsdangerous reads the wall clock
    try:
        r = await client.post("/api/v1/auth/password-reset/confirm",
                              json={"token": token, "new_password": NEW_PASSWORD})
    finally:
        time.time = real
    assert r.status_code == 410
    assert r.json()["error"]["code"] == "expired_link"


async def test_tampered_reset_link_is_refused(client):
    r = await client.post("/api/v1/auth/password-reset/confirm", json={"token": "abc.def", "new_password": NEW_PASSWORD})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_link"


async def test_email_verification_link_confirms_the_address(client, outbox):
    await client.post("/api/v1/accounts", json={"name": "V", "email": "v@example.org", "password": PASSWORD})
    token = link_in((await outbox())[0], "/verify-email/").rsplit("/", 1)[1]
    r = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert r.status_code == 200
    assert r.json()["email_verified"] is True


async def test_change_password_needs_the_current_one(api):
    account = await create_account()
    c = api(await api_token(account))
    r = await c.post("/api/v1/me/password", json={"current_password": "wrong-password", "new_password": NEW_PASSWORD})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "wrong_password"
    r = await c.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 204


async def test_changing_the_password_logs_out_other_browsers(web):
    account = await create_account()
    here, elsewhere = await web(account), await web(account)
    r = await here.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 303
    assert (await here.get("/account")).status_code == 200
    assert (await elsewhere.get("/account")).status_code == 303  # sent to the login page


async def test_session_survives_a_server_restart(app, web):
    """Sessions live in the database, signed with the key in var/: a new app instance accepts the cookie."""
    from app.main import create_app

    account = await create_account(name="Restart")
    b = await web(account)
    cookie = b.client.cookies["fabrique_session"]
    fresh = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fresh), base_url="http://testserver") as c:
        c.cookies.set("fabrique_session", cookie)
        r = await c.get("/account")
    assert r.status_code == 200
    assert "Restart" in r.text


async def test_logout_ends_the_session(web):
    account = await create_account()
    b = await web(account)
    r = await b.post("/logout")
    assert r.status_code == 303
    b.client.cookies.set("fabrique_session", "stale")
    assert (await b.get("/account")).status_code == 303
    async with db.transaction() as session:
        assert (await session.exec(select(AuthSession).where(AuthSession.account_id == account.id))).all() == []


async def test_expired_session_is_refused(web):
    account = await create_account()
    b = await web(account)
    clock.freeze(clock.now() + timedelta(days=31))
    assert (await b.get("/account")).status_code == 303


async def test_personal_token_is_shown_once_stored_hashed_and_revocable(api):
    account = await create_account()
    c = api(await api_token(account))
    r = await c.post("/api/v1/me/tokens", json={"name": "script"})
    assert r.status_code == 201
    raw = r.json()["token"]
    assert raw.startswith("fab_")
    listed = (await c.get("/api/v1/me/tokens")).json()
    assert all("token" not in t for t in listed)
    async with db.transaction() as session:
        stored = (await session.exec(select(ApiToken).where(ApiToken.id == r.json()["id"]))).one()
    assert stored.token_hash != raw and raw not in stored.token_hash
    new = api(raw)
    assert (await new.get("/api/v1/me")).status_code == 200
    assert (await c.delete(f"/api/v1/me/tokens/{r.json()['id']}")).status_code == 204
    r = await new.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_token"


async def test_token_limited_to_one_space_cannot_reach_another(api):
    account = await create_account()
    one = await create_space(account, slug="limited-one")
    await create_space(account, slug="limited-two")
    c = api(await api_token(account))
    r = await c.post("/api/v1/me/tokens", json={"name": "only one", "space": one.slug})
    assert r.status_code == 201
    limited = api(r.json()["token"])
    assert (await limited.get("/api/v1/spaces/limited-one")).status_code == 200
    assert (await limited.get("/api/v1/spaces/limited-two")).status_code == 404
    # Nor act on the account: mint an unlimited token, change the password, create or list spaces.
    for method, path, body in (("post", "/api/v1/me/tokens", {"name": "escape"}), ("get", "/api/v1/me/tokens", None),
                               ("post", "/api/v1/spaces", {"name": "Ailleurs"}), ("get", "/api/v1/spaces", None)):
        r = await getattr(limited, method)(path, **({"json": body} if body is not None else {}))
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["code"] == "token_limited_to_a_space"
    assert len((await c.get("/api/v1/me/tokens")).json()) == 2  # nothing was minted


async def test_a_nul_character_in_a_lookup_is_a_client_error_on_every_database(client):
    """PostgreSQL refuses NUL in text where SQLite stores it: found by the API fuzzer as a 500."""
    r = await client.post("/api/v1/auth/password-reset", json={"email": "a\u0000@example.org"})
    assert r.status_code in (202, 422), r.text  # 202 on SQLite (no such account), 422 on PostgreSQL
    if r.status_code == 422:
        assert r.json()["error"]["code"] == "invalid_text"


async def test_account_page_shows_the_authorization_header_to_send(web):
    """The `<token>` placeholder was swallowed as an HTML tag: "Authorization : Bearer ."."""
    page = await web(await create_account())
    for lang in ("fr", "en"):
        page.client.cookies.set("fabrique_lang", lang)
        html = (await page.get("/account")).text
        assert "Bearer &lt;token&gt;." in html

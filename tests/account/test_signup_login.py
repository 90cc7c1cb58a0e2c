from __future__ import annotations

from app.config import get_settings
from app.core.security import verify_password
from tests.fixtures.factories import PASSWORD, create_account
from tests.fixtures.harness import link_in, mail_text


async def test_sign_up_through_the_api_creates_an_account_and_sends_a_verification_mail(client, outbox):
    r = await client.post("/api/v1/accounts", json={"name": "Léa", "email": "Lea@Example.org", "password": PASSWORD})
    assert r.status_code == 202, r.text
    assert r.json()["email"] == "lea@example.org"
    assert "password" not in r.text and "argon2" not in r.text
    mails = await outbox()
    assert [m["To"] for m in mails] == ["lea@example.org"]
    assert "/verify-email/" in link_in(mails[0], "/verify-email/")
    r = await client.post("/api/v1/auth/token", data={"username": "lea@example.org", "password": PASSWORD})
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["name"] == "Léa" and me.json()["email_verified"] is False


async def test_sign_up_answers_the_same_whether_the_address_has_an_account_or_not(client, outbox):
    await create_account(name="Owner", email="taken@example.org")
    taken = await client.post("/api/v1/accounts", json={"name": "X", "email": "TAKEN@example.org", "password": PASSWORD})
    fresh = await client.post("/api/v1/accounts", json={"name": "X", "email": "FRESH@example.org", "password": PASSWORD})
    assert taken.status_code == fresh.status_code == 202
    assert taken.json() | {"email": ""} == fresh.json() | {"email": ""}
    mails = {m["To"]: m for m in await outbox()}
    # the owner of the address is told, and nothing of theirs changed
    told = mail_text(mails["taken@example.org"])
    assert "/login" in told and "/forgot-password" in told and "/verify-email/" not in told
    assert "/verify-email/" in mail_text(mails["fresh@example.org"])
    r = await client.post("/api/v1/auth/token", data={"username": "taken@example.org", "password": PASSWORD})
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["name"] == "Owner"


async def test_account_exists_mails_are_limited_per_recipient_like_reset_mails(client, outbox):
    await create_account(email="taken@example.org")
    for _ in range(get_settings().mail_max_per_recipient + 3):
        r = await client.post("/api/v1/accounts", json={"name": "X", "email": "taken@example.org", "password": PASSWORD})
        assert r.status_code == 202
    assert len([m for m in await outbox() if m["To"] == "taken@example.org"]) == get_settings().mail_max_per_recipient


async def test_sign_up_with_a_weak_password_is_refused_with_a_message_in_the_callers_language(client):
    r = await client.post("/api/v1/accounts", json={"name": "X", "email": "w@example.org", "password": "short"},
                          headers={"Accept-Language": "en"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "weak_password"
    assert err["fields"]["password"] == "Use at least 10 characters."
    r = await client.post("/api/v1/accounts", json={"name": "X", "email": "w@example.org", "password": "short"},
                          headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert r.json()["error"]["fields"]["password"] == "Utilisez au moins 10 caractères."


async def test_malformed_payload_is_a_422_with_field_messages(client):
    r = await client.post("/api/v1/accounts", json={"email": "not-an-email"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    assert {"name", "email", "password"} <= set(err["fields"])


async def test_oauth2_password_flow_gives_a_token_that_authenticates(client):
    account = await create_account(email="tok@example.org")
    r = await client.post("/api/v1/auth/token", data={"username": "tok@example.org", "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["id"] == account.id


async def test_wrong_password_is_a_401_and_the_account_is_throttled_after_ten_failures(client):
    await create_account(email="brute@example.org")
    for _ in range(10):
        r = await client.post("/api/v1/auth/token", data={"username": "brute@example.org", "password": "nope-nope-nope"})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_credentials"
    r = await client.post("/api/v1/auth/token", data={"username": "brute@example.org", "password": PASSWORD})
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "too_many_requests"
    assert int(r.headers["Retry-After"]) > 0


async def test_api_ignores_the_session_cookie(web, client):
    account = await create_account()
    b = await web(account)
    assert (await b.get("/account")).status_code == 200
    r = await b.client.get("/api/v1/me")
    assert r.status_code == 401


async def test_password_hashes_are_argon2(app):
    account = await create_account()
    assert account.password_hash.startswith("$argon2")
    assert verify_password(PASSWORD, account.password_hash)


async def test_a_token_lifetime_beyond_ten_years_is_a_form_error_that_keeps_the_name(web):
    account = await create_account()
    browser = await web(account)
    for typed in ("9999999", "²", "-3"):
        r = await browser.post("/account/tokens", {"name": "Script compta", "expires_in_days": typed})
        assert r.status_code == 422, (typed, r.text)
        assert 'value="Script compta"' in r.text and 'aria-invalid="true"' in r.text
    r = await browser.post("/account/tokens", {"name": "Script compta", "expires_in_days": "30"})
    assert r.status_code == 200 and "fab_" in r.text

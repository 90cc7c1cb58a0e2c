"""Accounts under attack and under concurrency: single-use reset links, the login throttle,
revocation of tokens and sessions, argon2 off the event loop. Runs on SQLite and on PostgreSQL
(FABRIQUE_TEST_DATABASE_URL): the concurrent requests go through the HTTP API."""

from __future__ import annotations

import asyncio
import threading

import httpx

from tests.fixtures.factories import PASSWORD, create_account
from tests.fixtures.harness import Browser, link_in

NEW_PASSWORD = "a-brand-new-passphrase"
WRONG = "nope-nope-nope"


def _from(app, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 40000)),
                             base_url="http://testserver")


async def _token(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


def _count_password_checks(monkeypatch) -> list[str]:
    """Every password check made from now on (argon2 runs in worker threads: list.append is safe)."""
    from app.core import security

    checked: list[str] = []
    real = security.verify_password

    def counting(password, password_hash):
        checked.append(password)
        return real(password, password_hash)

    monkeypatch.setattr(security, "verify_password", counting)
    return checked


async def test_one_reset_link_used_eight_times_at_once_sets_the_password_once(client, outbox):
    await create_account(email="race-reset@example.org")
    await client.post("/api/v1/auth/password-reset", json={"email": "race-reset@example.org"})
    token = link_in((await outbox())[0], "/reset-password/").rsplit("/", 1)[1]
    tries = [f"{NEW_PASSWORD}-{i}" for i in range(8)]
    responses = await asyncio.gather(*(
        client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": p})
        for p in tries))
    codes = sorted(r.status_code for r in responses)
    assert codes == [204] + [410] * 7, [r.text for r in responses]
    winner = tries[[r.status_code for r in responses].index(204)]
    assert (await _token(client, "race-reset@example.org", winner)).status_code == 200
    for loser in tries:
        if loser != winner:
            assert (await _token(client, "race-reset@example.org", loser)).status_code == 401


async def test_forty_parallel_wrong_passwords_check_at_most_ten(client, monkeypatch):
    await create_account(email="crowd@example.org")
    checked = _count_password_checks(monkeypatch)
    responses = await asyncio.gather(*(_token(client, "crowd@example.org", WRONG) for _ in range(40)))
    codes = [r.status_code for r in responses]
    assert codes.count(401) == 10, codes
    assert codes.count(429) == 30, codes
    assert len(checked) == 10


async def test_failures_from_one_address_do_not_refuse_others_behind_it(app):
    await create_account(email="victim@example.org")
    await create_account(email="colleague@example.org")
    async with _from(app, "203.0.113.7") as office:
        for _ in range(10):
            assert (await _token(office, "victim@example.org", WRONG)).status_code == 401
        assert (await _token(office, "victim@example.org", PASSWORD)).status_code == 429
        # a colleague behind the same address logs in
        assert (await _token(office, "colleague@example.org", PASSWORD)).status_code == 200


async def test_attackers_locking_an_account_do_not_lock_the_owner_out_of_a_known_browser(app):
    await create_account(email="owner@example.org")
    async with _from(app, "198.51.100.1") as home, _from(app, "198.51.100.1") as new_browser:
        browser = Browser(home)
        assert (await browser.login("owner@example.org", PASSWORD)).status_code == 303
        assert "fabrique_device" in home.cookies
        await browser.post("/logout")
        codes = []
        for n in range(6):  # 60 guesses from six addresses: beyond the per-account limit of 50
            async with _from(app, f"203.0.113.{n + 1}") as attacker:
                for _ in range(10):
                    codes.append((await _token(attacker, "owner@example.org", WRONG)).status_code)
        assert (codes.count(401), codes.count(429)) == (50, 10)
        # the account is now slowed for every browser it does not know...
        assert (await _token(home, "owner@example.org", PASSWORD)).status_code == 429
        assert (await Browser(new_browser).login("owner@example.org", PASSWORD)).status_code != 303
        # ...but the owner's browser was seen before: it still gets in
        assert (await browser.login("owner@example.org", PASSWORD)).status_code == 303


async def test_a_correct_password_forgets_the_failures(client):
    await create_account(email="typo@example.org")
    for _ in range(9):
        assert (await _token(client, "typo@example.org", WRONG)).status_code == 401
    assert (await _token(client, "typo@example.org")).status_code == 200
    for _ in range(9):
        assert (await _token(client, "typo@example.org", WRONG)).status_code == 401
    assert (await _token(client, "typo@example.org")).status_code == 200


async def test_a_password_reset_revokes_every_token_and_session(client, web, outbox):
    await create_account(email="stolen@example.org")
    oauth = (await _token(client, "stolen@example.org")).json()["access_token"]
    auth = {"Authorization": f"Bearer {oauth}"}
    personal = (await client.post("/api/v1/me/tokens", json={"name": "script"}, headers=auth)).json()["token"]
    b = await web()
    assert (await b.login("stolen@example.org", PASSWORD)).status_code == 303
    await client.post("/api/v1/auth/password-reset", json={"email": "stolen@example.org"})
    token = link_in((await outbox())[-1], "/reset-password/").rsplit("/", 1)[1]
    r = await client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert r.status_code == 204
    for raw in (oauth, personal):
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_token"
    assert (await b.get("/account")).status_code in (302, 303, 401)


async def test_a_password_change_revokes_all_tokens_but_the_one_making_it(client, web):
    await create_account(email="change@example.org")
    current = (await _token(client, "change@example.org")).json()["access_token"]
    other = (await _token(client, "change@example.org")).json()["access_token"]
    b = await web()
    assert (await b.login("change@example.org", PASSWORD)).status_code == 303
    r = await client.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                          headers={"Authorization": f"Bearer {current}"})
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {current}"})).status_code == 200
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"})).status_code == 401
    assert (await b.get("/account")).status_code in (302, 303, 401)


async def test_a_password_change_in_the_browser_keeps_that_browser_and_revokes_tokens(client, web):
    await create_account(email="change2@example.org")
    oauth = (await _token(client, "change2@example.org")).json()["access_token"]
    b = await web()
    assert (await b.login("change2@example.org", PASSWORD)).status_code == 303
    r = await b.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 303
    assert (await b.get("/account")).status_code == 200
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {oauth}"})).status_code == 401


async def test_healthz_answers_while_logins_hash_passwords(app, client, monkeypatch):
    from app.core import security

    await create_account(email="busy@example.org")
    started, release = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    real = security.verify_password

    def slow_verify(password, password_hash):  # blocks its thread until /healthz has answered
        if threading.current_thread() is threading.main_thread():
            raise AssertionError("argon2 ran on the event loop")
        loop.call_soon_threadsafe(started.set)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result()
        return real(password, password_hash)

    monkeypatch.setattr(security, "verify_password", slow_verify)
    logins = [asyncio.create_task(_token(client, "busy@example.org")) for _ in range(4)]
    # a hash on the event loop fails its login at once instead of starting: no hang, a failure
    await asyncio.wait([asyncio.create_task(started.wait()), *logins], return_when=asyncio.FIRST_COMPLETED)
    assert started.is_set(), [t.result().status_code for t in logins if t.done()]
    health = await client.get("/healthz")  # would never come back if hashing blocked the loop
    assert health.status_code == 200
    assert not any(t.done() for t in logins)
    release.set()
    assert [r.status_code for r in await asyncio.gather(*logins)] == [200] * 4


async def test_six_reset_requests_send_three_e_mails_and_answer_the_same(client, outbox):
    await create_account(email="flooded@example.org")
    responses = await asyncio.gather(*(
        client.post("/api/v1/auth/password-reset", json={"email": "flooded@example.org"}) for _ in range(6)))
    assert {(r.status_code, r.text) for r in responses} == {
        (202, (await client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.org"})).text)}
    assert len(await outbox()) == 3


async def test_one_address_cannot_mail_many_recipients_without_limit(app, outbox):
    for n in range(25):
        await create_account(email=f"target-{n}@example.org")
    async with _from(app, "192.0.2.50") as spammer:
        for n in range(25):
            r = await spammer.post("/api/v1/auth/password-reset", json={"email": f"target-{n}@example.org"})
            assert r.status_code == 202
    assert len(await outbox()) == 20


async def test_six_visitor_registrations_for_one_address_send_three_e_mails(world, web, outbox):
    from tests.event.factories import create_event

    event = await create_event(world.a.space, world.a.animator)
    visitor = await web()
    answers = []
    for _ in range(6):
        r = await visitor.post(f"/p/{world.a.slug}/events/{event.id}/register",
                               {"name": "Ada", "email": "visitor@example.org"})
        answers.append((r.status_code, r.headers.get("location")))
    assert len(set(answers)) == 1 and answers[0][0] == 303
    assert len(await outbox()) == 3


async def test_with_secure_cookies_the_language_cookie_is_secure_like_the_session(app, monkeypatch):
    from app.config import get_settings

    await create_account(email="lang@example.org", locale="fr")
    # what production (or an https:// base URL) turns on
    monkeypatch.setattr(type(get_settings()), "secure_cookies", property(lambda self: True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as c:
        r = await Browser(c).login("lang@example.org", PASSWORD)
    assert r.status_code == 303
    cookies = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
    assert "secure" in cookies["fabrique_session"]
    assert "secure" in cookies["fabrique_lang"]
    assert "secure" in cookies["fabrique_device"]

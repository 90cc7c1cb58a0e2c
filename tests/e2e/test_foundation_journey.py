"""Sign up → the e-mailed link → create a space → invite a member → the member accepts, logs in, switches to English."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import latest_link

PASSWORD = "un-mot-de-passe-solide"


def test_sign_up_create_space_invite_accept_and_switch_to_english(live_server, browser):
    owner = browser.new_context(base_url=live_server, locale="fr-FR")
    page = owner.new_page()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_role("button", name="Créer un compte").first.click()  # a link styled as a button
    page.get_by_label("Votre nom").fill("Marion Roux")
    page.get_by_label("Adresse e-mail").fill("marion@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    # the same answer whether the address has an account or not: the e-mailed link logs in
    expect(page.get_by_test_id("signup-sent")).to_contain_text("marion@example.org")
    page.goto(latest_link("marion@example.org", "/verify-email/", live_server))
    expect(page).to_have_url(re.compile(r"/spaces/new$"))
    page.get_by_label("Nom de l’espace").fill("Le Moulin Partagé")
    page.get_by_role("button", name="Créer l’espace").click()
    expect(page).to_have_url(re.compile(r"/s/le-moulin-partage$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Le Moulin Partagé")

    page.goto("/s/le-moulin-partage/members")
    form = page.get_by_test_id("invite-form")
    form.get_by_label("Adresse e-mail").fill("lucas@example.org")
    form.get_by_role("button").click()
    expect(page.locator(".flash")).to_contain_text("lucas@example.org")

    link = latest_link("lucas@example.org", "/invitations/", live_server)
    member = browser.new_context(base_url=live_server, locale="fr-FR")
    mpage = member.new_page()
    mpage.goto(link)
    expect(mpage.get_by_role("heading", level=1)).to_contain_text("Le Moulin Partagé")
    mpage.get_by_role("button", name="Créer mon compte").click()
    expect(mpage.get_by_label("Adresse e-mail")).to_have_value("lucas@example.org")
    mpage.get_by_label("Votre nom").fill("Lucas Petit")
    mpage.get_by_label("Mot de passe").fill(PASSWORD)
    mpage.get_by_role("button", name="Créer mon compte").click()
    expect(mpage.get_by_test_id("signup-sent")).to_be_visible()
    mpage.goto(latest_link("lucas@example.org", "/verify-email/", live_server))
    mpage.get_by_test_id("accept-invitation").click()
    expect(mpage).to_have_url(re.compile(r"/s/le-moulin-partage$"))

    # log out and back in
    mpage.get_by_role("button", name="Se déconnecter").click()
    mpage.goto("/login")
    mpage.get_by_label("Adresse e-mail").fill("lucas@example.org")
    mpage.get_by_label("Mot de passe").fill(PASSWORD)
    mpage.get_by_role("button", name="Se connecter").click()
    expect(mpage).to_have_url(re.compile(r"/s/le-moulin-partage$"))

    # switch to English: remembered across pages
    mpage.get_by_test_id("lang-switcher").get_by_role("button", name="English").click()
    expect(mpage.locator("html")).to_have_attribute("lang", "en")
    expect(mpage.get_by_role("button", name="Log out")).to_be_visible()
    mpage.goto("/account")
    expect(mpage.locator("html")).to_have_attribute("lang", "en")
    expect(mpage.get_by_role("heading", level=1)).to_have_text("My account")

    # the owner sees Lucas among the people of the space
    page.goto("/s/le-moulin-partage/members")
    expect(page.get_by_test_id("members-table")).to_contain_text("lucas@example.org")
    owner.close()
    member.close()

from playwright.sync_api import expect


def test_owner_signs_in_and_sees_acme_resources(page, live_server, demo, sign_in, shoot):
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shoot(page, "sign-in")

    sign_in(page, "owner@example.com")
    expect(page.get_by_role("heading", name="Acme Hosting")).to_be_visible()
    for name in ["acme.example", "acme.dev", "www.acme.example", "Acme website"]:
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    shoot(page, "overview")

    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "overview-phone")


def test_wrong_password_shows_a_clear_error(page, live_server, demo, sign_in):
    sign_in(page, "owner@example.com", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("do not match")


def test_account_switcher_moves_to_the_other_account(page, live_server, demo, sign_in, shoot):
    sign_in(page, "owner@example.com")
    page.get_by_label("Switch account").click()
    shoot(page, "switcher-open", full_page=False)
    page.get_by_role("menuitem", name="Solo Studio").click()
    expect(page.get_by_role("heading", name="Solo Studio")).to_be_visible()
    expect(page.get_by_text("solo.example", exact=True).first).to_be_visible()

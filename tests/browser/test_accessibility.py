"""axe-core on every panel page, at desktop and phone width: no serious or critical violation.

axe-core comes from npm (`make install` runs `npm ci`). It is injected into pages of a
browser context created with `bypass_csp=True`: the site's CSP stays as strict as in
production, only this test's browser ignores it for the injected script.

One crawl per test process visits every page once (a live server, the demo data), runs
axe at 1280 px, narrows the window to 390 px and runs it again; each (page, width) is then
its own test, so a failure names both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, BrowserContext, Page, expect

from accounts.models import Membership
from tests.browser.conftest import SCREENSHOTS
from tokens.models import Token

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)
HEIGHTS = {1280: 860, 390: 844}
FAILING_IMPACTS = ("serious", "critical")
PASSWORD = "keyward-demo"

# Runs axe with its experimental rules too (label-content-name-mismatch is one of them)
# and returns the serious and critical violations, one entry per rule.
RUN_AXE = """
async (impacts) => {
  const rules = {};
  for (const rule of axe.getRules(["experimental"])) rules[rule.ruleId] = { enabled: true };
  const result = await axe.run(document, { rules, resultTypes: ["violations"] });
  return result.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(" ")),
    }));
}
"""


@dataclass
class Step:
    """One page: how to reach it from where the crawl stands, and its main heading."""

    name: str
    who: str  # "anonymous", "owner", "viewer" or "support": whose browser context
    go: Callable[[Page, str, dict[str, int]], None]
    heading: str | re.Pattern[str] | None  # the h1, or None for a page without one
    title: str | re.Pattern[str] = ""  # the <title>, checked when there is no h1


def _visit(path: str) -> Callable[[Page, str, dict[str, int]], None]:
    def go(page: Page, base: str, ids: dict[str, int]) -> None:
        page.goto(base + path.format(**ids))

    return go


def _open_menus(page: Page, base: str, ids: dict[str, int]) -> None:
    page.goto(f"{base}/a/acme/")
    page.evaluate(
        "document.querySelectorAll('details[data-dismissable]').forEach(d => d.open = true)"
    )


def _confirm_sudo(page: Page, base: str, ids: dict[str, int]) -> None:
    """From the sudo page on screen: the password, then the wizard."""
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm password").click()


def _review(page: Page, base: str, ids: dict[str, int]) -> None:
    """From the wizard on screen: a read-only token, then its review."""
    page.get_by_label("Name", exact=True).fill("axe check")
    page.get_by_role("checkbox", name=re.compile(r"^zones:read ")).check()
    page.get_by_role("button", name="Review token").click()


def _generate(page: Page, base: str, ids: dict[str, int]) -> None:
    """From the review on screen: Generate token, then its one-time reveal."""
    page.get_by_role("button", name="Generate token").click()


def _stale_form(page: Page, base: str, ids: dict[str, int]) -> None:
    """The sign-in form sent after its CSRF cookie is gone: the CSRF failure page."""
    page.goto(f"{base}/sign-in/")
    page.context.clear_cookies()
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _admin_sign_in(page: Page, base: str, ids: dict[str, int]) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")


def _admin_submit(page: Page, base: str, ids: dict[str, int]) -> None:
    page.get_by_label("Email").fill("support@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


STEPS = [
    Step("sign-in", "anonymous", _visit("/sign-in/"), "Sign in"),
    Step("sign-in-sso", "anonymous", _visit("/sign-in/sso/"), "Sign in with SSO"),
    Step("overview", "owner", _visit("/a/acme/"), "Acme Hosting"),
    Step("menus-open", "owner", _open_menus, "Acme Hosting"),
    Step("personal-tokens", "owner", _visit("/tokens/"), "Personal tokens"),
    Step("account-tokens", "owner", _visit("/a/acme/tokens/"), "Account tokens"),
    Step("token-detail", "owner", _visit("/tokens/{laptop}/"), "Laptop CLI"),
    Step("edit", "owner", _visit("/tokens/{laptop}/edit/"), "Edit “Laptop CLI”"),
    Step("delete", "owner", _visit("/tokens/{laptop}/delete/"), "Delete “Laptop CLI”?"),
    Step("event-log", "owner", _visit("/a/acme/events/"), "Event log"),
    Step("members", "owner", _visit("/a/acme/members/"), "Members"),
    Step(
        "member-remove",
        "owner",
        _visit("/a/acme/members/{viewer_membership}/remove/"),
        "Remove viewer@example.com?",
    ),
    Step("policies", "owner", _visit("/a/acme/policies/"), "Token policies"),
    Step("sso", "owner", _visit("/a/globex/sso/"), "Single sign-on"),
    Step("plan", "owner", _visit("/a/acme/plan/"), "Plan"),
    Step("profile", "owner", _visit("/profile/"), "Profile"),
    Step("sudo", "owner", _visit("/sudo/?next=/tokens/new/"), "Confirm your password"),
    Step("wizard", "owner", _confirm_sudo, "Create token"),
    Step("review", "owner", _review, "Review “axe check”"),
    Step("reveal", "owner", _generate, "Token “axe check” created"),
    Step("roll", "owner", _visit("/tokens/{laptop}/roll/"), "Roll the secret of “Laptop CLI”"),
    Step("security", "owner", _visit("/security/"), "Security"),
    Step(
        "security-app", "owner", _visit("/security/authenticator-app/"), "Set up an authenticator"
    ),
    Step("security-passkey", "owner", _visit("/security/passkeys/add/"), "Add a passkey"),
    Step("404", "owner", _visit("/tokens/999999/"), re.compile("not found", re.I)),
    Step("403", "owner", _visit("/__fail/403/"), re.compile("not allowed", re.I)),
    Step("400", "anonymous", _visit("/__fail/400/"), re.compile("bad request", re.I)),
    Step("500", "anonymous", _visit("/__fail/500/"), re.compile("went wrong", re.I)),
    Step("403-csrf", "anonymous", _stale_form, "This form expired"),
    Step(
        "403-account-tokens",
        "viewer",
        _visit("/a/acme/tokens/"),
        "Only superusers see the account's tokens",
    ),
    Step(
        "members-forbidden", "viewer", _visit("/a/acme/members/"), "Only superusers manage members"
    ),
    Step("sudo-user-role", "viewer", _visit("/sudo/?next=/tokens/new/"), "Confirm your password"),
    Step("wizard-user-role", "viewer", _confirm_sudo, "Create token"),
    Step(
        "admin-sign-in", "support", _admin_sign_in, None, re.compile(r"^Log in \| Keyward support")
    ),
    Step("admin-index", "support", _admin_submit, "Tokens, accounts and the event log"),
    Step("admin-tokens", "support", _visit("/admin/tokens/token/"), re.compile("token", re.I)),
    Step(
        "admin-token-change",
        "support",
        _visit("/admin/tokens/token/{laptop}/change/"),
        re.compile(r"^(View|Change) token$"),
    ),
]

# The crawl's results, per test process: (page, width) -> violations, or the error that
# kept the crawl from reaching the page. Screenshots: screenshots/axe--<page>-<width>.png.
_results: dict[tuple[str, int], list[dict[str, Any]] | str] = {}


def _context(browser: Browser, base: str, who: str) -> BrowserContext:
    context = browser.new_context(
        bypass_csp=True, base_url=base, viewport={"width": 1280, "height": HEIGHTS[1280]}
    )
    if who in ("owner", "viewer"):
        page = context.new_page()
        page.goto(f"{base}/sign-in/")
        page.get_by_label("Email").fill(f"{who}@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_load_state("networkidle")
    return context


def _axe(page: Page) -> list[dict[str, Any]]:
    page.wait_for_load_state("networkidle")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(RUN_AXE, list(FAILING_IMPACTS))


def _crawl(browser: Browser, base: str) -> None:
    call_command("seed_demo", verbosity=0)
    ids = {
        "laptop": Token.objects.get(name="Laptop CLI").pk,
        "viewer_membership": Membership.objects.get(
            account__slug="acme", user__email="viewer@example.com"
        ).pk,
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    contexts: dict[str, BrowserContext] = {}
    pages: dict[str, Page] = {}
    try:
        for step in STEPS:
            if step.who not in contexts:
                contexts[step.who] = _context(browser, base, step.who)
                pages[step.who] = contexts[step.who].new_page()
            page = pages[step.who]
            try:
                page.set_viewport_size({"width": 1280, "height": HEIGHTS[1280]})
                step.go(page, base, ids)
                if step.heading is None:
                    expect(page).to_have_title(step.title)
                else:
                    expect(page.get_by_role("heading", level=1)).to_contain_text(step.heading)
                for width in WIDTHS:
                    page.set_viewport_size({"width": width, "height": HEIGHTS[width]})
                    _results[(step.name, width)] = _axe(page)
                    shot = SCREENSHOTS / f"axe--{step.name}-{width}.png"
                    page.screenshot(path=str(shot), full_page=True)
            except Exception as error:  # the page's own tests say what broke; name it here
                for width in WIDTHS:
                    _results.setdefault((step.name, width), f"could not check: {error}")
    finally:
        for context in contexts.values():
            context.close()


@pytest.fixture
def axe_report(browser, live_server, transactional_db, settings):
    if not AXE_JS.exists():
        pytest.fail(
            f"axe-core is not installed ({AXE_JS} is missing): run `make install` "
            "(it runs `npm ci` for package-lock.json)."
        )
    if not _results:
        settings.ROOT_URLCONF = "tests.error_urls"
        _crawl(browser, live_server.url)
    return _results


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", [step.name for step in STEPS])
def test_no_serious_accessibility_violations(axe_report, name, width):
    found = axe_report[(name, width)]
    if isinstance(found, str):
        pytest.fail(f"{name} at {width} px: {found}", pytrace=False)
    if found:
        lines = [
            f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["targets"][:10])
            for v in found
        ]
        pytest.fail(f"{name} at {width} px:\n" + "\n".join(lines), pytrace=False)

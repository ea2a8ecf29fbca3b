"""Playwright harness: a real Chromium against Django's live server.

The Chromium comes from KEYWARD_CHROMIUM (set by `make test`) or a system
install; without one the browser tests fail loudly rather than skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from
# test code are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Not under test-results/: pytest-playwright empties that folder when a session starts.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium_path() -> str:
    for candidate in (
        os.environ.get("KEYWARD_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "No Chromium found for the browser tests. Run them with `make test` (it finds or "
        "installs one), or set KEYWARD_CHROMIUM=/path/to/chromium."
    )


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": _chromium_path(),
        "args": CHROMIUM_FLAGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}}


@pytest.fixture
def demo(transactional_db):
    """The demo data of SPEC 8, in the live server's database."""
    call_command("seed_demo", verbosity=0)


@pytest.fixture
def shoot(request):
    """shoot(page, "name") saves a screenshot under screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{request.node.name}--{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture
def sign_in(live_server):
    """sign_in(page, email) signs in through the real sign-in page."""

    def do(page, email: str, password: str = "keyward-demo") -> None:
        page.goto(f"{live_server.url}/sign-in/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_load_state("networkidle")

    return do

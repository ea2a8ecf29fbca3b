"""Newer / Older through a big account's event log and tokens, with htmx and without JavaScript."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect


@pytest.fixture
def scale(transactional_db):
    call_command("seed_scale", tokens=120, zones=6, events=300, stdout=StringIO())


def _first_cell(page, column: str) -> str:
    return page.get_by_role("row").nth(1).locator(f'td[data-label="{column}"]').inner_text()


def test_older_and_newer_keep_the_filter_in_the_url(page, live_server, scale, sign_in, shoot):
    sign_in(page, "scale-owner@example.com")
    page.goto(f"{live_server.url}/a/scale/events/")
    page.get_by_label("What").select_option(label="API write")
    expect(page).to_have_url(re.compile(r"kind=api\.write"))
    first = _first_cell(page, "What")

    page.get_by_role("link", name="Older").click()
    expect(page).to_have_url(re.compile(r"\?kind=api\.write&before=\d+-\d+$"))
    expect(page.get_by_role("link", name="Newer")).to_be_visible()
    what = page.locator('td[data-label="What"] .badge')
    expect(what).to_have_count(50)
    expect(what.filter(has_not_text="API write")).to_have_count(0)
    assert _first_cell(page, "What") != first
    expect(page.get_by_label("What")).to_have_value("api.write")
    shoot(page, "event-log-older")

    page.get_by_role("link", name="Newer").click()
    expect(page).to_have_url(re.compile(r"\?kind=api\.write&after=\d+-\d+$"))
    expect(page.get_by_role("link", name="Newer")).to_have_count(0)  # back at the newest
    assert _first_cell(page, "What") == first

    page.goto(f"{live_server.url}/a/scale/tokens/")
    page.get_by_label("Type").select_option(label="User tokens")
    expect(page).to_have_url(re.compile(r"type=user"))
    page.get_by_role("link", name="Older").click()
    expect(page).to_have_url(re.compile(r"type=user.*&before=\d+-\d+$"))
    badges = page.locator('td[data-label="Type"] .badge')
    expect(badges.first).to_be_visible()
    expect(badges.filter(has_not_text="User token")).to_have_count(0)
    shoot(page, "account-tokens-older")


def test_paging_works_without_javascript(browser, live_server, scale, sign_in):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "scale-owner@example.com")
    page.goto(f"{live_server.url}/a/scale/tokens/?state=active")
    names = page.locator('td[data-label="Name"] .cell-title')
    expect(names.first).to_be_visible()
    first = names.first.inner_text()

    page.get_by_role("link", name="Older").click()
    expect(page).to_have_url(re.compile(r"\?state=active&before=\d+-\d+$"))
    expect(page.locator('td[data-label="Expires"] .badge-danger')).to_have_count(0)
    assert names.first.inner_text() != first
    expect(page.get_by_label("State")).to_have_value("active")
    context.close()


def test_search_account_tokens_by_name_count_and_pages(page, live_server, scale, sign_in, shoot):
    sign_in(page, "scale-owner@example.com")
    page.goto(f"{live_server.url}/a/scale/tokens/")
    expect(page.get_by_text("120 tokens act in Scale Hosting · 25 per page")).to_be_visible()
    names = page.locator('td[data-label="Name"] .cell-title')
    expect(names).to_have_count(25)

    page.get_by_label("Name").fill("purge")  # htmx asks as the person types
    expect(page).to_have_url(re.compile(r"q=purge"))
    status = page.locator(".list-count")
    expect(status).to_contain_text(re.compile(r"^\d+ tokens? match(es)? “purge”\.$"))
    purges = int(status.inner_text().split()[0])
    assert 0 < purges <= 25  # seed_scale names a seventh of them "cdn purge ..."
    expect(names).to_have_count(purges)
    expect(names.filter(has_not_text="purge")).to_have_count(0)
    expect(page.get_by_role("link", name="Older")).to_have_count(0)
    shoot(page, "account-tokens-search")

    # "o": ci deploy, terraform, monitoring, laptop: more than a page.
    page.get_by_label("Name").fill("o")
    expect(status).to_contain_text(re.compile(r"^\d+ tokens match “o” · 25 per page"))
    matching = int(status.inner_text().split()[0])
    assert 25 < matching < 120
    page.get_by_role("link", name="Older").click()
    expect(page).to_have_url(re.compile(r"\?q=o&before=\d+-\d+$"))
    expect(page.get_by_label("Name")).to_have_value("o")
    expect(names.filter(has_not_text="o")).to_have_count(0)
    expect(status).to_contain_text(f"{matching} tokens match “o”")

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_label("Name").fill("no such token")
    expect(page.get_by_role("heading", name="No tokens match “no such token”")).to_be_visible()
    shoot(page, "account-tokens-search-phone")

"""The water-user page in a real headless Chromium at phone width, screenshots checked."""

from __future__ import annotations

import io

import psycopg
import pytest
from PIL import Image

from budget import repository as budget_repo
from tests.integration.browser_support import chromium, fonts_used, needs_chromium, serve
from tests.integration.report_support import at, card_session, daily_use, roll_up, seed_district
from waterbudget.api import create_app

pytestmark = [pytest.mark.integration, needs_chromium]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def household(database_url):
    with psycopg.connect(database_url) as conn:
        ids = seed_district(conn)
        daily_use(conn, meter="W1-F", site="W1", first=at(4), days=91, m3=500)
        card_session(conn, session="S1", card="C1", start=at(6, 10, 8), hours=4, m3=120,
                     balance=880)
        card_session(conn, session="S2", card="C1", start=at(6, 20, 8), hours=3, m3=90,
                     balance=790)
        roll_up(conn)  # H1 gets the flow meter's 500 m³ of 10 and of 20 June (its card's days)
        conn.execute(
            "INSERT INTO monitor_periods (period, kind, year, first_day, last_day) "
            "VALUES ('2024', 'year', 2024, '2024-01-01', '2024-12-31') ON CONFLICT DO NOTHING")
        conn.execute(  # as the monitor records one (H1 at 50 % raises none of its own)
            "INSERT INTO monitor_alerts (subject, kind, period, seq, status, severity, detail, "
            "node_id, opened_at, last_seen_at, evaluated_at) VALUES ('node/%s', 'budget_level', "
            "'2024', 1, 'open', 'warning', 'warning: 50%%', %s, %s, %s, %s)",
            (ids["H1"], ids["H1"], at(6, 20, 11), at(6, 20, 11), at(6, 20, 11)))
        token = budget_repo.create_token(conn, name="张三", role="water_user",
                                         node_id=ids["H1"])
        operator = budget_repo.create_token(conn, name="op", role="operator", node_id=ids["XM"])
    return {"token": token, "operator": operator}


def not_blank(png: bytes) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width == PHONE["width"]
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50, "the screenshot looks blank"
    background = max(colours)[1]
    ink = sum(n for n, c in colours if c != background) / (image.width * image.height)
    assert ink > 0.05, f"only {ink:.1%} of the screenshot differs from the background"
    top = image.crop((0, 0, image.width, 60))
    dark = sum(top.convert("L").histogram()[:60])  # pixels darker than 60 of 255
    assert dark > 100, "no dark text at the top"  # the title


def test_the_page_on_a_phone(database_url, household, tmp_path):
    with serve(create_app(database_url)) as base, chromium() as browser:
        page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        response = page.goto(f"{base}/my/login?code={household['token']}")
        assert response is not None
        assert response.ok
        assert page.url == f"{base}/my", "the code must leave the address bar"
        assert page.locator("h1").inner_text().startswith("我的用水")
        assert page.locator("#budget-m3").inner_text() == "2,000"
        assert page.locator("#used-m3").inner_text() == "1,000"
        assert page.locator("#remaining-m3").inner_text() == "1,000"
        for figure in ("#budget-m3", "#used-m3", "#remaining-m3"):
            assert page.locator(figure).is_visible()
        assert "预算执行预警" in page.locator("#warnings").inner_text()
        sessions = page.locator("#sessions tbody tr")
        assert sessions.count() == 2
        assert "90" in sessions.nth(0).inner_text()
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"horizontal overflow: {width}"
        drawn_with = fonts_used(page, "h1")
        assert any("CJK" in f for f in drawn_with), drawn_with
        shot = page.screenshot(full_page=True)
        (tmp_path / "water-user-page.png").write_bytes(shot)
        not_blank(shot)

        page.goto(f"{base}/my?lang=en")
        assert page.locator("h1").inner_text().startswith("My water")
        not_blank(page.screenshot(full_page=True))


def test_wrong_codes_and_other_roles_do_not_open_the_page(database_url, household):
    with serve(create_app(database_url)) as base, chromium() as browser:
        page = browser.new_page(viewport=PHONE, is_mobile=True)
        response = page.goto(f"{base}/my/login?code=not-a-code")
        assert response is not None
        assert response.status == 401
        assert page.locator("#login-failed").is_visible()
        page.goto(f"{base}/my/login?code={household['operator']}")
        assert page.locator("#login-failed").is_visible()
        page.goto(f"{base}/my")
        assert page.locator("#code").is_visible()  # the form, no figures
        assert page.locator("#budget-m3").count() == 0
        page.fill("#code", household["token"])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/my")
        assert page.locator("#budget-m3").inner_text() == "2,000"
        cookie = next(c for c in page.context.cookies() if c["name"] == "wb_water_user")
        assert cookie["httpOnly"]

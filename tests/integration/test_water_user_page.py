"""The water-user page in a real headless Chromium at phone width, screenshots checked."""

from __future__ import annotations

import io
import os
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from PIL import Image

from budget import repository as budget_repo
from monitor.charges import GROUNDWATER_TIERS
from monitor.charges_service import compute_charges
from monitor.repository import charges as charges_repo
from tests.integration.browser_support import chromium, fonts_used, needs_chromium, serve
from tests.integration.report_support import at, card_session, daily_use, roll_up, seed_district
from water_user_page import repository as water_user_repo
from waterbudget.api import create_app

pytestmark = [pytest.mark.integration, needs_chromium]
PHONE = {"width": 390, "height": 844}
# Where the screenshots go to be looked at (WATERBUDGET_SCREENSHOTS=dir); else the test's tmp dir
SCREENSHOTS = os.environ.get("WATERBUDGET_SCREENSHOTS")


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


def _alert(conn, *, node_id: int, kind: str, seq: int, severity: str, when) -> None:
    conn.execute(  # as the monitor records one (its own budget_level alert is there already)
        "INSERT INTO monitor_alerts (subject, kind, period, seq, status, severity, detail, "
        "node_id, opened_at, last_seen_at, evaluated_at) VALUES (%s, %s, '2024', %s, 'open', "
        "%s, '', %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (f"node/{node_id}", kind, seq, severity, node_id, when, when, when))


@pytest.fixture
def overrun_household(database_url):
    """张三 past his 2,000 m³: his card days in June (the last one a session crossing
    midnight) take the flow meter's 500 m³ a day; a groundwater tariff of 0.10 元/m³;
    the 宁夏 8.2 a over-quota check and a silent meter on his node."""
    with psycopg.connect(database_url) as conn:
        ids = seed_district(conn)
        daily_use(conn, meter="W1-F", site="W1", first=at(4), days=91, m3=500)
        for n, day in enumerate((5, 10, 15)):
            card_session(conn, session=f"S0{n}", card="C1", start=at(6, day, 8), hours=4,
                         m3=120, balance=3_260 - 120 * n)
        card_session(conn, session="S1", card="C1", start=at(6, 20, 8), hours=3, m3=90,
                     balance=2_810)
        card_session(conn, session="S2", card="C1", start=at(6, 25, 22), hours=4, m3=154,
                     balance=2_656)
        conn.execute(
            "INSERT INTO monitor_periods (period, kind, year, first_day, last_day) "
            "VALUES ('2024', 'year', 2024, '2024-01-01', '2024-12-31') ON CONFLICT DO NOTHING")
        roll_up(conn)
        _alert(conn, node_id=ids["H1"], kind="over_quota", seq=1, severity="warning",
               when=at(6, 26, 3))
        _alert(conn, node_id=ids["H1"], kind="meter_silent", seq=1, severity="warning",
               when=at(6, 27, 3))
        charges_repo.save_tariff(conn, year=2024, area_node_id=None,
                                 source_family="groundwater", crop_class=None,
                                 price_per_m3=Decimal("0.10"), schedule=GROUNDWATER_TIERS,
                                 by="test")
        clock = conn.execute("SELECT data_clock FROM monitor_state").fetchone()
        assert clock is not None
        assert clock[0] is not None
        assert compute_charges(conn, at=clock[0]) >= 1
        used = conn.execute(
            "SELECT sum(total_m3) FROM monitor_node_day WHERE node_id = %s",
            (ids["H1"],)).fetchone()
        token = budget_repo.create_token(conn, name="张三", role="water_user",
                                         node_id=ids["H1"])
    assert used is not None
    return {"token": token, "used": Decimal(used[0])}


def _shot(page, tmp_path: Path, name: str) -> None:
    shot = page.screenshot(full_page=True)
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(shot)
    not_blank(shot)


def _no_horizontal_overflow(page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"horizontal overflow: {width}"


def test_an_overrun_on_a_phone(database_url, overrun_household, tmp_path):
    over = overrun_household["used"] - 2000
    assert over > 0, overrun_household
    with serve(create_app(database_url)) as base, chromium() as browser:
        page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        page.goto(f"{base}/my/login?code={overrun_household['token']}")
        assert page.url == f"{base}/my"
        budget_card = page.locator("#budget").inner_text()
        assert "超用" in budget_card
        assert "剩余水量" not in budget_card
        assert "-" not in page.locator("#over-m3").inner_text()
        assert page.locator("#over-m3").inner_text() == f"{over:,.0f}"
        assert f"已超用 {over:,.0f} m³" in page.locator("#level-message").inner_text()
        charges = page.locator("#charges").inner_text()
        assert "×1.5" in charges
        assert "元" in charges
        assert "当前档" in charges
        assert "元" in page.locator("#charge-total").inner_text()
        balance = page.locator("#balance").inner_text()
        assert "2,656 m³" in balance
        assert "2,000 m³" in balance
        warnings = page.locator("#warnings").inner_text()
        assert "预算执行预警" in warnings
        assert "超定额" not in warnings
        assert "无数据" not in warnings
        notes = page.locator("#notes").inner_text()
        assert "不是处罚" in notes
        assert "离线" in notes
        rows = [page.locator("#sessions tbody tr").nth(i).inner_text() for i in range(3)]
        assert "06-25 22:00 – 06-26 02:00" in rows[0]
        assert "06-20 08:00–11:00" in rows[1]
        _no_horizontal_overflow(page)
        _shot(page, tmp_path, "overrun-zh.png")

        page.goto(f"{base}/my?lang=en")
        assert "over budget" in page.locator("#budget").inner_text()
        assert "yuan" in page.locator("#charges").inner_text()
        assert "on your card" in page.locator("#balance").inner_text()
        assert "offline" in page.locator("#notes").inner_text()
        _no_horizontal_overflow(page)
        _shot(page, tmp_path, "overrun-en.png")


def test_sign_in_by_short_code_with_a_limit_on_wrong_tries(database_url, household,
                                                           tmp_path):
    with psycopg.connect(database_url) as conn:
        code = water_user_repo.create_code(conn, secret=household["token"])
    assert len(code) == 8
    typed = f"{code[:4]}-{code[4:]}".lower()  # as a farmer may type it
    with serve(create_app(database_url)) as base, chromium() as browser:
        page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        page.goto(f"{base}/my")
        assert "ABCD-EFGH" in page.locator("form").inner_text()
        _no_horizontal_overflow(page)
        _shot(page, tmp_path, "login-zh.png")
        page.fill("#code", typed)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/my")
        assert page.locator("#budget-m3").inner_text() == "2,000"

        stranger = browser.new_page(viewport=PHONE, is_mobile=True)
        wrong = "2345-6789" if code != "23456789" else "3456-789A"
        for _ in range(5):
            response = stranger.goto(f"{base}/my/login?code={wrong}")
            assert response is not None
            assert response.status == 401
        response = stranger.goto(f"{base}/my/login?code={typed}")  # even the right one now
        assert response is not None
        assert response.status == 429
        assert response.headers["retry-after"] == "60"
        assert stranger.locator("#login-too-many").inner_text() == "输错次数过多，请 1 分钟后再试"
        assert stranger.locator("#budget-m3").count() == 0
        assert page.locator("#budget-m3").count() == 1  # the farmer signed in before

    with psycopg.connect(database_url) as conn:  # revoking the token locks its code too
        conn.execute("UPDATE budget_api_tokens SET revoked_at = now()")
    with serve(create_app(database_url)) as base, chromium() as browser:
        page = browser.new_page(viewport=PHONE, is_mobile=True)
        response = page.goto(f"{base}/my/login?code={typed}")
        assert response is not None
        assert response.status == 401

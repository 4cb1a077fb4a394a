"""The QR code the water office prints (issue 15, part 3): ``waterbudget budget token
--qr FILE.png --base-url URL`` run as a subprocess, the PNG read back module by module
against the personal link, and the link opened in Chromium at phone size."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest
import segno
from fastapi.testclient import TestClient
from PIL import Image

from budget import repository as budget_repo
from tests.integration.browser_support import chromium, needs_chromium, serve
from tests.integration.report_support import seed_district
from water_user_page.qr import QR_BORDER, QR_SCALE
from waterbudget.api import create_app

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "waterbudget.cli"]


def modules(png: Image.Image, size: int) -> list[list[int]]:
    """Dark (1) or light (0) at the centre of each module of a QR code of size × size."""
    grey = png.convert("L")
    assert grey.size == ((size + 2 * QR_BORDER) * QR_SCALE,) * 2
    def dark(r: int, c: int) -> int:
        value = grey.getpixel(((c + QR_BORDER) * QR_SCALE + QR_SCALE // 2,
                               (r + QR_BORDER) * QR_SCALE + QR_SCALE // 2))
        assert isinstance(value, (int, float))
        return 1 if value < 128 else 0
    return [[dark(r, c) for c in range(size)] for r in range(size)]


def tokens(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM budget_api_tokens").fetchone()
    assert row is not None
    return int(row[0])


def token_cli(database_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WATERBUDGET_DATABASE_URL": database_url}
    return subprocess.run([*CLI, "budget", "token", "--name", "张三", "--role", "water_user",
                           "--node", "H1", *extra], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def district(database_url):
    with psycopg.connect(database_url) as conn:
        seed_district(conn)


@needs_chromium
def test_the_printed_qr_code_opens_the_farmers_page(database_url, district, tmp_path):
    png = tmp_path / "张三.png"
    with serve(create_app(database_url)) as base, chromium() as browser:
        run = token_cli(database_url, "--qr", str(png), "--base-url", base + "/")
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        secret = lines[1]
        link = f"{base}/my/login?code={secret}"
        assert f"personal link: {link}" in lines
        assert any(line.startswith("sign-in code for /my, shown once: ") for line in lines)
        expected = segno.make(link, error="m", micro=False)
        size = len(expected.matrix)
        assert modules(Image.open(png), size) == [list(row) for row in expected.matrix]

        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        page.goto(link)
        assert page.url == f"{base}/my"
        assert page.locator("h1").inner_text() == "我的用水 · 张三"


def test_qr_needs_a_base_url_and_a_water_user_and_makes_no_token_without(database_url,
                                                                         district, tmp_path):
    png = tmp_path / "qr.png"
    before = tokens(database_url)
    run = token_cli(database_url, "--qr", str(png))
    assert run.returncode == 2
    assert "--base-url" in run.stderr
    run = token_cli(database_url, "--qr", str(png), "--base-url", "water.example.cn")
    assert run.returncode == 2
    assert "http(s)" in run.stderr
    assert "Traceback" not in run.stderr
    assert tokens(database_url) == before
    assert not png.exists()
    plain = token_cli(database_url)  # the token link without a QR code still works as before
    assert plain.returncode == 0, plain.stderr
    assert tokens(database_url) == before + 1


def test_a_water_user_token_made_through_the_api_comes_with_its_short_code(database_url,
                                                                          district):
    with psycopg.connect(database_url) as conn:
        admin = budget_repo.create_token(conn, name="admin", role="administrator",
                                         node_id=None)
        h1 = conn.execute("SELECT node_id FROM budget_nodes WHERE code = 'H1'").fetchone()
    assert h1 is not None
    with TestClient(create_app(database_url)) as client:
        made = client.post("/budget/tokens", headers={"Authorization": f"Bearer {admin}"},
                           json={"name": "张三", "role": "water_user", "node_id": h1[0]})
        assert made.status_code == 201, made.text
        code = made.json()["sign_in_code"]
        assert code is not None
        assert len(code) == 9  # ABCD-EFGH
        signed_in = client.get("/my/login", params={"code": code.lower()},
                               follow_redirects=False)
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/my"
        operator = client.post("/budget/tokens", headers={"Authorization": f"Bearer {admin}"},
                               json={"name": "op", "role": "operator", "node_id": h1[0]})
        assert operator.json()["sign_in_code"] is None

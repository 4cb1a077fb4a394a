"""The farmer's personal link as a QR code the water office prints (segno: pure Python).

``waterbudget budget token --role water_user --node CODE --qr FILE.png --base-url URL``
writes the PNG: the phone's camera opens ``URL/my/login?code=<token>``, the page signs
in and moves the code out of the address bar (water_user_page.routes).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import segno

QR_SCALE = 8  # pixels per module: a typical link (37 modules) is 360 px, 3 cm at 300 dpi
QR_BORDER = 4  # the quiet zone the QR standard asks for, in modules


class LinkError(ValueError):
    pass


def personal_link(base_url: str, secret: str) -> str:
    """``https://host[/prefix]/my/login?code=<token>``; the base must be an http(s) address."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LinkError(f"--base-url must be the page's http(s) address, not {base_url!r}")
    return f"{base_url.rstrip('/')}/my/login?code={quote(secret, safe='')}"


def write_qr(path: Path, link: str) -> None:
    """A PNG of the link, error correction M (15 %: survives a smudged receipt)."""
    segno.make(link, error="m", micro=False).save(str(path), kind="png", scale=QR_SCALE,
                                                  border=QR_BORDER)

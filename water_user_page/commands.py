"""What the CLI does for the farmers' page: a water_user token's short sign-in code."""

from __future__ import annotations

import psycopg

from water_user_page import repository as repo
from water_user_page.codes import shown


def sign_in_code(database_url: str, *, secret: str) -> str:
    """A new short code for the token, as printed for the farmer (``ABCD-EFGH``)."""
    with psycopg.connect(database_url) as conn:
        return shown(repo.create_code(conn, secret=secret))

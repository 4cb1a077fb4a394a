"""SQL for API tokens: stored as SHA-256 of a random secret, never the secret."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from budget.repository.connection import Conn


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    name: str
    role: str  # administrator | operator | water_user
    node_id: int | None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_token(conn: Conn, *, name: str, role: str, node_id: int | None) -> str:
    """A new API token; only its SHA-256 is stored, the secret is returned once."""
    secret = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO budget_api_tokens (token_sha256, name, role, node_id) VALUES (%s, %s, %s, %s)",
        (_digest(secret), name, role, node_id),
    )
    return secret


def principal(conn: Conn, *, secret: str) -> Principal | None:
    row = conn.execute(
        "SELECT token_id, name, role, node_id FROM budget_api_tokens "
        "WHERE token_sha256 = %s AND revoked_at IS NULL",
        (_digest(secret),),
    ).fetchone()
    return Principal(*row) if row else None

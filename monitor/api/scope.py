"""What the caller may see, as node sets for listings, and the data clock for manual actions."""

from __future__ import annotations

from datetime import UTC, datetime

from budget.api.deps import Access
from budget.repository.connection import Conn
from monitor.repository import budgets


def visible_nodes(access: Access) -> list[int] | None:
    """None: every node (administrators)."""
    principal = access.principal
    if principal.role == "administrator":
        return None
    if principal.node_id is None:
        return []
    if principal.role == "water_user":
        return [principal.node_id]
    return access.hierarchy.subtree(principal.node_id)


def action_time(conn: Conn) -> datetime:
    """A person's acknowledge or resolve counts at the data clock (alert times are data
    times); before any data, at the server's clock."""
    return budgets.data_clock(conn) or datetime.now(UTC)

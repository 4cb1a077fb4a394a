"""SQL for the hierarchy: nodes, contacts, attachments and plan profiles."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from budget.hierarchy import Contact, Hierarchy, Node, NodeLevel
from budget.kinds import Sector
from budget.repository.connection import Conn


def create_node(
    conn: Conn,
    *,
    code: str,
    name: str,
    level: NodeLevel,
    parent_id: int | None,
    contacts: Sequence[Contact] = (),
) -> int:
    row = conn.execute(
        "INSERT INTO budget_nodes (code, name, level, parent_id) VALUES (%s, %s, %s, %s) "
        "RETURNING node_id",
        (code, name, level.value, parent_id),
    ).fetchone()
    assert row is not None
    for contact in contacts:
        conn.execute(
            "INSERT INTO budget_contacts (node_id, name, phone, email, role) "
            "VALUES (%s, %s, %s, %s, %s)",
            (row[0], contact.name, contact.phone, contact.email, contact.role),
        )
    return int(row[0])


def attach(conn: Conn, *, node_id: int, kind: str, ref: str, sector: Sector | None) -> None:
    conn.execute(
        "INSERT INTO budget_attachments (kind, ref, node_id, sector) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (kind, ref) DO UPDATE SET node_id = EXCLUDED.node_id, "
        "sector = EXCLUDED.sector",
        (kind, ref, node_id, sector.value if sector else None),
    )


def attachment_owners(conn: Conn, *, kind: str, ref: str) -> set[int]:
    """The nodes whose water a registry thing already counts against, so that attaching
    it elsewhere would move their draw: for a site, its own attachment and its meters';
    for a meter, its own and its site's; for an IC card, its own and the nodes of the
    sites (or their meters) where it has drawn water."""
    queries = {
        "site": "SELECT a.node_id FROM budget_attachments a WHERE a.kind = 'site' "
        "AND a.ref = %(ref)s UNION SELECT a.node_id FROM meters m JOIN budget_attachments a "
        "ON a.kind = 'meter' AND a.ref = m.meter_id WHERE m.site_id = %(ref)s",
        "meter": "SELECT a.node_id FROM budget_attachments a WHERE a.kind = 'meter' "
        "AND a.ref = %(ref)s UNION SELECT a.node_id FROM meters m JOIN budget_attachments a "
        "ON a.kind = 'site' AND a.ref = m.site_id WHERE m.meter_id = %(ref)s",
        "card": "SELECT a.node_id FROM budget_attachments a WHERE a.kind = 'card' "
        "AND a.ref = %(ref)s UNION SELECT a.node_id FROM card_sessions cs "
        "JOIN meters m ON m.meter_id = cs.meter_id JOIN meters peer ON peer.site_id = m.site_id "
        "JOIN budget_attachments a ON (a.kind = 'site' AND a.ref = m.site_id) "
        "OR (a.kind = 'meter' AND a.ref = peer.meter_id) WHERE cs.card_id = %(ref)s",
    }
    return {int(r[0]) for r in conn.execute(queries[kind], {"ref": ref})}


def load_hierarchy(conn: Conn) -> Hierarchy:
    contacts: dict[int, list[Contact]] = {}
    for node_id, name, phone, email, role in conn.execute(
        "SELECT node_id, name, phone, email, role FROM budget_contacts ORDER BY contact_id"
    ):
        contacts.setdefault(node_id, []).append(Contact(name, phone, email, role))
    nodes = [
        Node(node_id, code, name, NodeLevel(level), parent_id, tuple(contacts.get(node_id, ())))
        for node_id, code, name, level, parent_id in conn.execute(
            "SELECT node_id, code, name, level, parent_id FROM budget_nodes ORDER BY node_id"
        )
    ]
    return Hierarchy.of(nodes)


def plan_profile(conn: Conn, *, node_id: int) -> list[Decimal] | None:
    row = conn.execute(
        "SELECT weights FROM budget_plan_profiles WHERE node_id = %s", (node_id,)
    ).fetchone()
    return list(row[0]) if row else None


def set_plan_profile(conn: Conn, *, node_id: int, weights: Sequence[Decimal]) -> None:
    conn.execute(
        "INSERT INTO budget_plan_profiles (node_id, weights) VALUES (%s, %s) "
        "ON CONFLICT (node_id) DO UPDATE SET weights = EXCLUDED.weights",
        (node_id, list(weights)),
    )

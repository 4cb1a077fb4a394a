"""Every write route commits before its response is sent (issue 11, "reply before commit").

FastAPI ends a ``yield`` dependency of the default scope after the response has gone
out, so the request's transaction committed after the client had its 204: a GET right
after a POST, on another connection, could miss the row. Against a real uvicorn, as a
client would see it.
"""

from __future__ import annotations

import psycopg
import pytest

from budget import repository as repo
from budget.hierarchy import NodeLevel
from tests.integration.api_server import client, served

pytestmark = pytest.mark.integration
ROUNDS = 100


def test_a_write_is_visible_to_another_connection_when_its_answer_arrives(database_url) -> None:
    with psycopg.connect(database_url) as conn:
        token = repo.create_token(conn, name="admin", role="administrator", node_id=None)
        node_id = repo.create_node(conn, code="D", name="甘州区", level=NodeLevel.DISTRICT,
                                   parent_id=None)
    misses = []
    with served(database_url) as base, client(base, token) as http, \
            psycopg.connect(database_url, autocommit=True) as other:
        for i in range(ROUNDS):
            card = f"CARD-{i}"
            answer = http.post(f"/budget/nodes/{node_id}/attachments",
                               json={"kind": "card", "ref": card})
            assert answer.status_code == 204, answer.text
            row = other.execute("SELECT node_id FROM budget_attachments WHERE kind = 'card' "
                                "AND ref = %s", (card,)).fetchone()
            if row is None:
                misses.append(card)
            # and through the API itself: a protected-volumes write read straight back
            put = http.put(f"/budget/nodes/{node_id}/protected-volumes",
                           json={"year": 2024, "grain_irrigation_m3": str(i),
                                 "basic_ecological_flow_m3": "0"})
            assert put.status_code == 200, put.text
            got = other.execute("SELECT grain_irrigation_m3 FROM budget_protected_volumes "
                                "WHERE node_id = %s AND year = 2024", (node_id,)).fetchone()
            if got is None or int(got[0]) != i:
                misses.append(f"protected {i}")
    assert misses == [], f"{len(misses)} of {2 * ROUNDS} writes not yet visible: {misses[:5]}"

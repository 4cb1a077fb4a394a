"""FastAPI dependencies of the budget API: the connection, the caller, and what it may do.

Bearer tokens (``budget_api_tokens``, stored hashed) carry a role:
administrator (everything), operator (one township or irrigation district and
below: reads and proposes there, approves strictly below it), water user (own
node only, read only). Every object a request touches — the path's node, and
every node, alert, report, contact, site, meter or card its body or query names —
is checked against the caller's scope (docs/budget.md, "What each route checks");
one outside it is answered 404, as if it did not exist, and no message names it.

Every request runs in one transaction that ends — committed, or rolled back on any
error — when the route function returns, *before* the response is sent
(``Depends(get_conn, scope="function")``): a client that got its answer finds the
change on any other connection. A refused change stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated

import psycopg
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from budget import repository as repo
from budget.api.views import violations
from budget.hierarchy import Hierarchy, Node
from budget.service import FourEyesError
from budget.year_ledger import RuleError
from waterbudget.web.errors import MESSAGES, ApiError, not_found

_bearer = HTTPBearer(auto_error=False)


def get_conn(request: Request) -> Iterator[repo.Conn]:
    """One connection and transaction per request: committed when the route returns,
    rolled back on any error.

    FastAPI runs the exit code of a ``yield`` dependency of the default scope
    ("request") after the response has been sent — the commit would race the
    client's next request. ``ConnDep`` therefore uses ``scope="function"``: the
    transaction ends before the response goes out (a failed commit is an error
    answer, never a success for a change that was lost).
    """
    with psycopg.connect(request.app.state.database_url) as conn:
        yield conn
        conn.commit()


ConnDep = Annotated[repo.Conn, Depends(get_conn, scope="function")]


def get_principal(
    conn: ConnDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> repo.Principal:
    found = repo.principal(conn, secret=credentials.credentials) if credentials else None
    if found is None:
        raise ApiError(
            status.HTTP_401_UNAUTHORIZED, "unauthorized", headers={"WWW-Authenticate": "Bearer"}
        )
    return found


PrincipalDep = Annotated[repo.Principal, Depends(get_principal)]


class Access:
    """What the caller may see and do, over the current hierarchy."""

    def __init__(self, principal: repo.Principal, hierarchy: Hierarchy) -> None:
        self.principal = principal
        self.hierarchy = hierarchy

    def sees(self, node_id: int) -> bool:
        p = self.principal
        if p.role == "administrator":
            return True
        if p.node_id is None:
            return False
        if p.role == "water_user":
            return node_id == p.node_id
        return self.hierarchy.is_within(node_id, p.node_id)

    def read(self, node_id: int, *, what: str = "node", ref: object = None) -> Node:
        """The node, if the caller sees it; else 404 — for ``what`` ``ref`` when the node
        was reached through another object (an entry, an alert …), so the node's id is
        not revealed."""
        if node_id not in self.hierarchy.nodes or not self.sees(node_id):
            raise not_found(what, node_id if ref is None else ref)
        return self.hierarchy.nodes[node_id]

    def write(self, node_id: int, *, what: str = "node", ref: object = None) -> Node:
        node = self.read(node_id, what=what, ref=ref)
        if self.principal.role == "water_user":
            raise ApiError(status.HTTP_403_FORBIDDEN, "read_only")
        return node

    def approve(self, node_id: int, *, what: str = "node", ref: object = None) -> Node:
        node = self.write(node_id, what=what, ref=ref)
        if self.principal.role == "operator" and node_id == self.principal.node_id:
            raise ApiError(status.HTTP_403_FORBIDDEN, "own_node_from_above")
        return node

    def admin(self) -> None:
        if self.principal.role != "administrator":
            raise ApiError(status.HTTP_403_FORBIDDEN, "admins_only")

    def staff(self) -> None:
        """Administrators and operators (not water users)."""
        if self.principal.role == "water_user":
            raise ApiError(status.HTTP_403_FORBIDDEN, "operators_only")

    def write_all(self, node_ids: Iterable[int], *, what: str, ref: object) -> None:
        """Every node an object already belongs to must be writable by the caller:
        404 for the object otherwise (e.g. a card attached to another township)."""
        for node_id in node_ids:
            self.write(node_id, what=what, ref=ref)


def get_access(conn: ConnDep, principal: PrincipalDep) -> Access:
    return Access(principal, repo.load_hierarchy(conn))


AccessDep = Annotated[Access, Depends(get_access)]


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None, field: str) -> datetime | None:
    """A query-string time must carry its zone; 422 naming the field otherwise."""
    if value is not None and value.tzinfo is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"{field}: give a time zone (e.g. 2024-06-01T00:00:00+08:00)",
        )
    return value


def four_eyes_error(error: FourEyesError) -> HTTPException:
    return HTTPException(
        status.HTTP_403_FORBIDDEN,
        {"error": "rule_violation", "rule": error.rule, "message": error.message},
    )


def rule_error(error: RuleError, access: Access) -> HTTPException:
    """409 naming every broken rule — but a violation on a node outside the caller's
    scope (a parent above an operator's node, the far side of a trade) names neither
    the node nor its figures: only the rule, its section and "a node outside your
    scope"."""
    shown = []
    for violation in violations(error):
        node_id = violation.get("node_id")
        if isinstance(node_id, int) and (
            node_id not in access.hierarchy.nodes or not access.sees(node_id)
        ):
            violation = {
                **violation,
                "node_id": None,
                "message": MESSAGES["outside_scope"][0],
                "excess_m3": None,
            }
        shown.append(violation)
    return HTTPException(
        status.HTTP_409_CONFLICT, {"error": "rule_violation", "violations": shown}
    )

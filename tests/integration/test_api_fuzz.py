"""OpenAPI-driven fuzzing of every route with each role (schemathesis + hypothesis),
against a real uvicorn and the real database (issue 11).

For every operation of the OpenAPI document and every role (administrator, operator of
township TA, water user of household A1), valid and invalid requests generated from the
schema: no 5xx, every status code documented, every response body conforming to its
schema. Then, for the operator and the water user, every route pointed at an object of
township TB (a node, an alert, an entry, a trade, an override, a report) is 403 or 404,
and every route without a token is 401.

Generation is derandomized and bounded (``EXAMPLES`` per operation, role and mode): the
same requests every run, so the test is as reliable as the API.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.api_server import served
from tests.integration.scope_support import two_townships
from waterbudget.api import create_app

pytestmark = pytest.mark.integration
EXAMPLES = 4
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
PUBLIC = ("/healthz", "/my")  # no token: the health check, the farmers' page (own login)


def operations_of(schema: Any) -> list[Any]:
    """Every operation of the document; a part schemathesis cannot read fails the test."""
    found = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(f"unreadable OpenAPI operation: {result.err()}")
        found.append(result.ok())
    return found


def call(client: httpx.Client, case: Any, base: str,
         headers: dict[str, str] | None) -> httpx.Response:
    """Send the case with httpx (schemathesis' own requests transport does not work with
    the urllib3 that another dependency installs here)."""
    sent = case.as_transport_kwargs(base_url=base, headers=headers)
    if headers is None:
        sent["headers"] = {k: v for k, v in sent["headers"].items()
                           if k.lower() != "authorization"}
    body: dict[str, Any] = {}
    if "json" in sent:
        body["json"] = sent["json"]
    elif isinstance(sent.get("data"), bytes | str):
        body["content"] = sent["data"]
    elif sent.get("data") is not None:
        body["data"] = sent["data"]
    return client.request(sent["method"], sent["url"], headers=sent["headers"],
                          params=sent.get("params") or None, cookies=sent.get("cookies") or None,
                          **body)


def _fuzz(client: httpx.Client, operation: Any, base: str, headers: dict[str, str],
          mode: GenerationMode,
          record: Callable[[str], None]) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        response = call(client, case, base, headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # collect every failure, go on
            told = " | ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            record(f"{case.method} {operation.path} ({mode.value}): "
                   f"{response.status_code} {told[:400]}")

    with contextlib.suppress(Unsatisfiable):  # nothing to negate in this operation
        run()


def test_every_route_with_every_role(database_url, request) -> None:
    if "timescaledb" in request.node.callspec.id:
        pytest.skip("the API does not change with hypertables: fuzzed on plain tables only")
    ids = two_townships(database_url)
    spec = create_app(database_url).openapi()
    schema = schemathesis.openapi.from_dict(spec)
    operations = operations_of(schema)
    assert len(operations) >= 40
    failures: list[str] = []
    with served(database_url) as base, httpx.Client(timeout=60) as client:
        for operation in operations:
            for role in ("admin", "op_a", "user_a1"):
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    _fuzz(client, operation, base, ids[role], mode, failures.append)
    failures = sorted(set(failures))
    print("\n".join(failures))
    assert failures == []


SCOPED_PARAMETERS = {"node_id": "b1", "alert_id": "alert_b1", "entry_id": "entry_b1",
                     "trade_id": "trade_b", "override_id": "override_b",
                     "report_id": "report_b"}
JUNE = "2025-06-01T00:00:00+08:00"
# a valid body for every route that takes one and names an object in its path: so the
# answer is about the scope, not about the body
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/budget/nodes/{node_id}/attachments"): {"kind": "card", "ref": "C-NEW"},
    ("PUT", "/budget/nodes/{node_id}/plan-profile"): {"weights": ["0.25"] * 4 + ["0"] * 8},
    ("PUT", "/budget/nodes/{node_id}/protected-volumes"): {
        "year": 2025, "grain_irrigation_m3": "1", "basic_ecological_flow_m3": "0"},
    ("PUT", "/budget/nodes/{node_id}/revenue"): {"year": 2025, "volumes": {"groundwater": "1"}},
    ("POST", "/budget/nodes/{node_id}/quota-proposal"): {"year": 2025},
    ("PUT", "/monitor/nodes/{node_id}/levels"): {},
    ("PUT", "/budget/nodes/{node_id}/sector-split"): {
        "year": 2025, "shares": {"agriculture.irrigation": "1"}},
    ("PUT", "/budget/nodes/{node_id}/division-code"): {"division_code": "620702001"},
    ("POST", "/budget/nodes/{node_id}/procedure"): {"year": 2025, "step": "notified"},
}


def body_references(ids: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Requests whose body names an object of township TB."""
    trade = {"year": 2025, "source": "groundwater", "sector": "agriculture.irrigation",
             "volume_m3": "1", "valid_from": JUNE, "reason": "x"}
    return [
        ("POST", "/budget/entries", {**trade, "kind": "issue", "node_id": ids["b1"]}),
        ("POST", "/budget/trades", {**trade, "seller_id": ids["a1"], "buyer_id": ids["b1"]}),
        ("POST", "/budget/trades", {**trade, "seller_id": ids["b1"], "buyer_id": ids["a1"]}),
        ("POST", "/budget/nodes", {"code": "NEW", "name": "新", "level": "household",
                                   "parent_id": ids["tb"]}),
        ("POST", "/monitor/subscriptions", {"contact_id": ids["contacts_b1"][0],
                                            "channel": "email", "address": "x@example.org"}),
        ("POST", "/monitor/enforcement/overrides", {"node_id": ids["tb"], "reason": "x"}),
        ("POST", "/reports", {"kind": "monthly", "node_id": ids["b1"], "period": "2025-06"}),
    ]


def test_routes_outside_the_callers_scope_and_without_a_token(database_url) -> None:
    ids = two_townships(database_url)
    schema = schemathesis.openapi.from_dict(create_app(database_url).openapi())
    wrong: list[str] = []
    checked = 0
    with served(database_url) as base, httpx.Client(base_url=base, timeout=60) as client:
        issued = client.post("/reports", headers=ids["admin"], json={
            "kind": "monthly", "node_id": ids["tb"], "period": "2025-06"})
        assert issued.status_code == 201, issued.text
        ids["report_b"] = issued.json()["report_id"]
        for method, path, body in body_references(ids):
            for role in ("op_a", "user_a1"):
                answer = client.request(method, path, json=body, headers=ids[role])
                checked += 1
                if answer.status_code not in (403, 404):
                    wrong.append(f"{role} {method} {path} {body}: {answer.status_code}")
        for operation in operations_of(schema):
            names = {p.name for p in operation.path_parameters}
            fixed = {n: ids[SCOPED_PARAMETERS[n]] for n in names if n in SCOPED_PARAMETERS}
            key = (operation.method.upper(), operation.path)
            if names and fixed.keys() == names:
                has_body = bool(operation.body)
                assert not has_body or key in VALID_BODIES, f"give a valid body for {key}"
                options: dict[str, Any] = {"path_parameters": fixed}
                if has_body:
                    options["body"] = VALID_BODIES[key]
                strategy = operation.as_strategy(**options)

                @settings(max_examples=3, deadline=None, derandomize=True, database=None,
                          phases=[Phase.explicit, Phase.generate],
                          suppress_health_check=list(HealthCheck))
                @given(case=strategy)
                def outside(case: Any) -> None:
                    for role in ("op_a", "user_a1"):
                        answer = call(client, case, base, ids[role])
                        if answer.status_code not in (403, 404):
                            wrong.append(f"{role} {case.method} {case.formatted_path} "
                                         f"{case.query}: {answer.status_code} "
                                         f"{answer.text[:200]}")
                outside()
                checked += 1
            if not operation.path.startswith(PUBLIC):
                strategy = operation.as_strategy(path_parameters=fixed or None)

                @settings(max_examples=2, deadline=None, derandomize=True, database=None,
                          phases=[Phase.explicit, Phase.generate],
                          suppress_health_check=list(HealthCheck))
                @given(case=strategy)
                def anonymous(case: Any) -> None:
                    answer = call(client, case, base, None)
                    if answer.status_code != 401:
                        wrong.append(f"no token {case.method} {case.formatted_path}: "
                                     f"{answer.status_code} {answer.text[:200]}")
                anonymous()
    print("\n".join(wrong))
    assert checked >= 30
    assert wrong == []

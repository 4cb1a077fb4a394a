"""Every route's parameters and request bodies use the bounded value types
(``waterbudget.web.types``), and every request's transaction ends before its response:
checked over the whole app, so a new route cannot slip past either rule."""

from __future__ import annotations

from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from budget.api.deps import get_conn
from waterbudget.api import create_app
from waterbudget.web.types import BIGINT_MAX

APP = create_app("postgresql://unused/db")
SPEC = APP.openapi()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return dict(SPEC["components"]["schemas"][ref.rsplit("/", 1)[1]])
    return schema


def _loose(schema: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """Integers without both bounds and strings without pattern, enum or format."""
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return []
        seen.add(ref)
    schema = _resolve(schema)
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        parts = schema.get(key, [])
        numeric = any(p.get("type") == "number" for p in parts)
        for i, part in enumerate(parts):
            if numeric and part.get("type") == "string":
                continue  # a decimal's string form: a number or a 422, never stored as text
            found += _loose(part, f"{where}[{i}]", seen)
    kind = schema.get("type")
    if kind == "integer" and not ("minimum" in schema and "maximum" in schema
                                  and schema["maximum"] <= float(BIGINT_MAX)):
        found.append(where)
    if kind == "string" and not {"pattern", "enum", "format", "const"} & schema.keys():
        found.append(where)
    if kind == "array":
        found += _loose(schema.get("items", {}), f"{where}[]", seen)
    for name, prop in schema.get("properties", {}).items():
        found += _loose(prop, f"{where}.{name}", seen)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        found += _loose(extra, f"{where}.*", seen)
    return found


def test_every_parameter_and_body_field_is_bounded() -> None:
    loose: list[str] = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} {parameter['in']}:{parameter['name']}"
                loose += _loose(parameter["schema"], where, set())
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                loose += _loose(media["schema"], f"{method.upper()} {path} body", set())
    assert loose == []


def _calls(dependant: Dependant) -> list[Dependant]:
    found = [dependant]
    for sub in dependant.dependencies:
        found += _calls(sub)
    return found


def test_every_request_transaction_ends_before_the_response() -> None:
    routes = [r for r in APP.routes if isinstance(r, APIRoute)]
    assert routes
    late = [r.path for r in routes for d in _calls(r.dependant)
            if d.call is get_conn and d.scope != "function"]
    assert late == []

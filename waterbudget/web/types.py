"""Value types of the HTTP API, for every route's parameters and body fields.

* ``Id`` — a database id: 1 … 2⁶³−1 (PostgreSQL ``bigint``), so a huge number is a 422
  naming the parameter, never a database error;
* ``Count``, ``Seconds`` — bounded non-negative integers;
* ``Text`` — a string PostgreSQL can store: no NUL, no lone surrogate (422 otherwise).

``tests/unit/test_api_values.py`` walks the OpenAPI document and fails for any integer
without both bounds and any string without a pattern, enum or format, so a new route
cannot slip past these types.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator, StringConstraints

BIGINT_MAX = 2**63 - 1
# not NUL; JSON Schema patterns are ECMA-262, which "\u0000" means for both pydantic and clients
NO_NUL = "^[^\\u0000]*$"


def _storable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text holds an invalid character (lone surrogate)") from None
    return value


Text = Annotated[str, StringConstraints(pattern=NO_NUL), AfterValidator(_storable)]
Id = Annotated[int, Ge(1), Le(BIGINT_MAX)]
Count = Annotated[int, Ge(0), Le(BIGINT_MAX)]
Seconds = Annotated[int, Ge(0), Le(10 * 366 * 24 * 3600)]  # at most ten years
Year = Annotated[int, Ge(2000), Le(2100)]

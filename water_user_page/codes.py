"""Short sign-in codes for the farmers' page: pure, no database.

8 characters from 31 that cannot be mistaken for one another on a phone or a
printed slip (no 0/O, 1/I/L): 31⁸ ≈ 8.5 × 10¹¹ codes, about 40 bits. Typed in any
case, with or without the hyphen or spaces (``abcd-efgh`` = ``ABCDEFGH``). Guessing
is bounded by the page's rate limit (``water_user_page.routes``: 5 failed tries per
minute per client address, then 429): with 50,000 households one guess in
1.7 × 10⁷ hits some code, i.e. about 6 years of non-stop tries per address.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalized(typed: str) -> str | None:
    """The code as stored, or None when the text cannot be a code."""
    code = "".join(typed.split()).replace("-", "").upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def shown(code: str) -> str:
    """As printed for the farmer: ``ABCD-EFGH``."""
    return f"{code[:4]}-{code[4:]}"

"""The connection type every repository function takes; the caller owns the transaction."""

from __future__ import annotations

from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

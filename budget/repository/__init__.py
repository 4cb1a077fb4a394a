"""PostgreSQL adapter of the budget module: the only place with SQL (psycopg 3).

One module per resource — ``nodes`` (hierarchy, contacts, attachments, plan
profiles), ``policy`` (the year's factor, permits, control figures, protected
volumes), ``revenue`` (available water by source), ``ledger`` (entries and
imports), ``sectors`` (sector splits, site sectors), ``trades`` (trades and
counted use), ``tokens`` (API tokens).
Functions are keyword-only and take the connection; the caller owns the
transaction (``budget.service`` wraps each request in one). This package
re-exports them, so ``repo.create_node`` and friends read the same wherever
they are called.
"""

from budget.repository.connection import Conn
from budget.repository.ledger import (
    LEDGER_LOCK,
    StoredEntry,
    approved_entries,
    decide_entry,
    entries,
    entry,
    insert_entry,
    lock_year,
    record_import,
)
from budget.repository.nodes import (
    attach,
    attachment_owners,
    create_node,
    load_hierarchy,
    plan_profile,
    set_plan_profile,
)
from budget.repository.policy import (
    add_permit,
    load_policy,
    protected_record,
    protected_volumes,
    set_control_figure,
    set_protected_volumes,
    set_year,
)
from budget.repository.revenue import record_revenue, revenue_records
from budget.repository.sectors import (
    division_codes,
    sector_splits,
    set_division_code,
    set_sector_split,
    set_site_sector,
    site_of,
)
from budget.repository.tokens import Principal, create_token, principal
from budget.repository.trades import SITE_SOURCES, decide_trade, insert_trade, trade, used_m3
from budget.repository.years import (
    add_procedure_event,
    add_year_event,
    procedure_events,
    year_events,
)

__all__ = [
    "LEDGER_LOCK",
    "SITE_SOURCES",
    "Conn",
    "Principal",
    "StoredEntry",
    "add_permit",
    "add_procedure_event",
    "add_year_event",
    "approved_entries",
    "attach",
    "attachment_owners",
    "create_node",
    "create_token",
    "decide_entry",
    "decide_trade",
    "division_codes",
    "entries",
    "entry",
    "insert_entry",
    "insert_trade",
    "load_hierarchy",
    "load_policy",
    "lock_year",
    "plan_profile",
    "principal",
    "procedure_events",
    "protected_record",
    "protected_volumes",
    "record_import",
    "record_revenue",
    "revenue_records",
    "sector_splits",
    "set_control_figure",
    "set_division_code",
    "set_plan_profile",
    "set_protected_volumes",
    "set_sector_split",
    "set_site_sector",
    "set_year",
    "site_of",
    "trade",
    "used_m3",
    "year_events",
]

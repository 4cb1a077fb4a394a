"""Water budgets: the node hierarchy, the ledger of issued volumes, the seeds' rules.

The pure core (kinds, units, hierarchy, ledger, rules, changes, quota,
accounting, accounting_tables, plan_profile, ganzhou_import) imports only the
standard library. ``repository`` holds the SQL and ``api`` the HTTP edge.
Volumes are ``Decimal`` cubic metres throughout (see ``budget.units``).
"""

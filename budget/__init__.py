"""Water budgets: the node hierarchy, the ledger of issued volumes, the seeds' rules.

The pure core (kinds, units, hierarchy, ledger, year_ledger, rules, quota,
accounting, accounting_tables, plan_profile, ganzhou_import) imports only the
standard library. ``repository/`` holds the SQL, ``service`` the use cases and
``api/`` the HTTP edge, each split by resource.
Volumes are ``Decimal`` cubic metres throughout (see ``budget.units``).
"""

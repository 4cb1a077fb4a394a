"""PostgreSQL adapter of the monitor: the only place with its SQL (psycopg 3).

One module per resource: ``changes`` (the change log), ``rollups`` (draw
roll-ups), ``budgets`` (what execution reads), ``executions`` (snapshots),
``alerts``, ``outbox`` (notifications), ``quality`` (data-quality inputs),
``charges``, ``enforcement``. Functions are keyword-only and take the
connection; the caller owns the transaction.
"""

"""Execution monitoring: execution rate, projections, alerts and over-quota charges.

The pure core (execution, budget_alerts, alert_lifecycle, quality_alerts,
charges) imports only the standard library and the pure parts of ``budget``
and ``ingest``: plain functions over frozen dataclasses, no database, no
broker, no wall clock. Volumes are ``Decimal`` m³ as in ``budget`` (see
``budget.units``); floats from ingestion are converted at the edge with
``Decimal(str(x))``. See docs/monitor.md.
"""

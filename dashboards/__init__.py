"""Grafana for operators: dashboards as code, provisioning and the publisher.

``catalog`` lists the dashboards; each dashboard module builds one with
grafana-foundation-sdk; ``generate`` writes the JSON Grafana provisions;
``publisher`` (the only module importing grafana-client) pushes them to a
running Grafana; ``grafana_sql`` expands the PostgreSQL data source's macros and
variables the way Grafana does, for the tests and the benchmark.
"""

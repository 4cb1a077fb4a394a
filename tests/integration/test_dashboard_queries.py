"""Every panel's SQL, expanded as Grafana expands it, runs on the real database
(TimescaleDB and plain) over seeded data and returns what its panel expects."""

from __future__ import annotations

import psycopg
import pytest

from dashboards.catalog import rendered
from dashboards.panel_queries import all_queries, result_problems
from dashboards.query_runner import open_dashboard, run
from store.database import timescaledb_enabled
from tests.integration.dashboard_seed import Seeded, seed

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded(database_url: str) -> Seeded:
    return seed(database_url)


def _openings(seeded: Seeded) -> list[dict[str, str]]:
    """Variable choices to open each dashboard with: a flow-metered site (a
    quarantined spike, an IC-card controller besides), a card well, a site that
    fell silent (the monitor's meter_silent alert)."""
    return [{"township": seeded.site_township[site], "site": site}
            for site in (seeded.flow_sites[0], seeded.card_sites[0], seeded.silent_site)]


def test_every_panel_query_runs_and_returns_what_its_panel_expects(database_url, seeded):
    problems: list[str] = []
    with_rows: set[str] = set()
    checked = 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        timescaledb = timescaledb_enabled(conn)
        for name, dashboard in rendered().items():
            for choices in _openings(seeded):
                viewing = open_dashboard(conn, dashboard, now=seeded.now,
                                         timescaledb=timescaledb, choose=choices)
                assert all(v.value for v in viewing.variables.values()), \
                    f"{name}: a variable has no option: {viewing.variables}"
                for query in all_queries(dashboard):
                    sql = viewing.sql(query)
                    assert "$" not in sql.replace("$$", ""), f"{query.name}: unexpanded {sql}"
                    try:
                        result = run(conn, sql)
                    except psycopg.Error as exc:
                        problems.append(f"{query.name} {choices}: {exc}\n{sql}")
                        continue
                    checked += 1
                    problems += [f"{query.name} {choices}: {p}" for p in
                                 result_problems(query, result.columns, result.rows)]
                    if result.rows:
                        with_rows.add(query.name)
    every = {q.name for d in rendered().values() for q in all_queries(d)}
    assert not problems, "\n".join(problems)
    assert checked == len(every) * len(_openings(seeded))
    assert not every - with_rows, f"no rows on the seeded data: {sorted(every - with_rows)}"


def test_variables_chain_like_grafana_does(database_url, seeded):
    """The site list follows the township; the first option is taken when the
    asked-for value is not offered."""
    dashboard = rendered()["site-detail.json"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        timescaledb = timescaledb_enabled(conn)
        viewing = open_dashboard(conn, dashboard, now=seeded.now, timescaledb=timescaledb,
                                 choose=_openings(seeded)[1])
        township = viewing.variables["township"].value
        site = viewing.variables["site"].value
        assert (township, site) == (seeded.site_township[seeded.card_sites[0]],
                                    seeded.card_sites[0])
        fallback = open_dashboard(conn, dashboard, now=seeded.now, timescaledb=timescaledb,
                                  choose={"site": "no-such-site"})
        first = conn.execute("SELECT min(site_id) FROM sites WHERE township = %s",
                             (fallback.variables["township"].value,)).fetchone()
        assert first is not None
        assert fallback.variables["site"].value == first[0]


def test_time_group_buckets_the_same_on_both_variants(database_url, seeded):
    """$__timeGroup is time_bucket() with TimescaleDB and epoch arithmetic without;
    both put a reading in the same bucket."""
    dashboard = rendered()["site-detail.json"]
    register = next(q for q in all_queries(dashboard) if q.title == "表码读数")
    with psycopg.connect(database_url, autocommit=True) as conn:
        timescaledb = timescaledb_enabled(conn)
        results = {}
        for option in ({timescaledb, False} if timescaledb else {False}):
            viewing = open_dashboard(conn, dashboard, now=seeded.now, timescaledb=option)
            rows = run(conn, viewing.sql(register)).rows
            results[option] = [(r[0].timestamp() if hasattr(r[0], "timestamp") else float(r[0]),
                                r[1], r[2]) for r in rows]
        assert len({tuple(v) for v in results.values()}) == 1
        assert next(iter(results.values()))


def test_the_overview_leads_with_each_townships_rate_minus_progress(database_url, seeded):
    """Issue 15: the first panel gives 执行率 − 时间进度 in percentage points per township,
    as the monitor's snapshots have them, largest lead first."""
    dashboard = rendered()["overview.json"]
    first = all_queries(dashboard)[0]
    assert first.title == "乡镇 执行率 − 时间进度（个百分点）"
    with psycopg.connect(database_url, autocommit=True) as conn:
        viewing = open_dashboard(conn, dashboard, now=seeded.now,
                                 timescaledb=timescaledb_enabled(conn))
        shown = run(conn, viewing.sql(first)).rows
        expected = conn.execute(
            "SELECT n.name, round((e.execution_rate - e.time_progress) * 100, 1) "
            "FROM monitor_executions e JOIN budget_nodes n USING (node_id) "
            "JOIN budget_nodes d ON d.node_id = n.parent_id "
            "WHERE d.code = %s AND e.period = extract(year FROM %s::timestamptz "
            "AT TIME ZONE 'Asia/Shanghai')::text AND e.source = '' AND e.sector = ''",
            (viewing.variables["district"].value, seeded.now)).fetchall()
    assert len(shown) == len(seeded.townships)
    assert sorted(map(tuple, shown)) == sorted(expected)
    gaps = [row[1] for row in shown]
    assert gaps == sorted(gaps, reverse=True)
    assert any(g != 0 for g in gaps)

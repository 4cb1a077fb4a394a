"""The monitor's part of ``waterbudget demo``: small budgets the replay will overrun.

A district with one township node per simulated township, every site attached to
its township, each township issued a budget small enough that the 30 simulated
days cross the notice, warning and overrun levels — so the demo shows alerts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import psycopg

from budget import repository as budget_repo
from budget.hierarchy import Contact, NodeLevel
from budget.kinds import Sector, Source
from budget.ledger import EntryKind
from budget.year_ledger import year_bounds
from ingest.registry import Registry
from monitor.alert_text import budget_label, describe
from monitor.messages import KIND_LABELS, SEVERITY_LABELS

DEMO_BUDGET_M3 = Decimal(3000)  # per township and year: the replay draws more


def seed_budgets(url: str, registry: Registry, *, start: datetime) -> int:
    """Nodes, attachments and budgets for the simulated sites; returns the townships made."""
    towns: dict[str, list[str]] = defaultdict(list)
    for site in registry.sites.values():
        towns[site.township or "未分乡镇"].append(site.site_id)
    year = start.year
    jan, _ = year_bounds(year)
    with psycopg.connect(url) as conn:
        if budget_repo.load_hierarchy(conn).by_code("DEMO"):
            return 0
        district = budget_repo.create_node(conn, code="DEMO", name="演示区",
                                           level=NodeLevel.DISTRICT, parent_id=None)
        for number, (town, sites) in enumerate(sorted(towns.items()), start=1):
            node = budget_repo.create_node(
                conn, code=f"DEMO-T{number}", name=town, level=NodeLevel.TOWNSHIP,
                parent_id=district, contacts=[Contact(f"{town}水管站", email="demo@localhost")])
            for site_id in sites:
                budget_repo.attach(conn, node_id=node, kind="site", ref=site_id, sector=None)
            for source in (Source.GROUNDWATER, Source.LOCAL_SURFACE):
                budget_repo.insert_entry(
                    conn, node_id=node, year=year, kind=EntryKind.ISSUE, source=source,
                    sector=Sector.IRRIGATION, volume_m3=DEMO_BUDGET_M3, valid_from=jan,
                    reason="demo", proposed_by="demo", approved_at=jan)
        for source in (Source.GROUNDWATER, Source.LOCAL_SURFACE):
            budget_repo.insert_entry(
                conn, node_id=district, year=year, kind=EntryKind.ISSUE, source=source,
                sector=Sector.IRRIGATION, volume_m3=DEMO_BUDGET_M3 * len(towns), valid_from=jan,
                reason="demo", proposed_by="demo", approved_at=jan)
    return len(towns)


def alert_lines(rows: list[tuple[str, str, str, str, str]], lang: str = "zh") -> list[str]:
    """One line per alert (kind, severity, subject, subject name, detail), its facts worded
    in ``lang`` and never cut (issue 15)."""
    lines = []
    for kind, severity, subject, name, detail in rows:
        which = budget_label(subject, lang)
        shown = f"{name}·{which}" if which and lang == "zh" else (
            f"{name} ({which} budget)" if which else name)
        label = KIND_LABELS[lang].get(kind, kind)
        level = SEVERITY_LABELS[lang].get(severity, severity)
        sep = "：" if lang == "zh" else ": "
        lines.append(f"    【{level}】{label} {shown}{sep}{describe(kind, subject, detail, lang)}"
                     if lang == "zh" else
                     f"    [{level}] {label} {shown}{sep}{describe(kind, subject, detail, lang)}")
    return lines


def print_alerts(url: str, lang: str = "zh") -> None:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT a.kind, a.severity, a.subject, coalesce(n.name, a.subject), a.detail "
            "FROM monitor_alerts a LEFT JOIN budget_nodes n USING (node_id) "
            "WHERE a.status <> 'resolved' "
            "ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
            "a.alert_id LIMIT 8").fetchall()
        count = conn.execute("SELECT count(*) FROM monitor_alerts WHERE status <> 'resolved'"
                             ).fetchone()
    live = count[0] if count else 0
    print(f"  当前告警 {live} 条" if lang == "zh" else f"  live alerts: {live}")
    for line in alert_lines(rows, lang):
        print(line)

"""Assessment of one node over one period: snapshots and observations (pure)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from budget.kinds import Sector, Source
from budget.plan_profile import UNIFORM
from monitor.alert_lifecycle import Severity
from monitor.assessment import NodeBudget, assess, node_subject, period_share
from monitor.budget_alerts import DEFAULT_LEVELS, Level
from monitor.periods import month_period, year_period

Z = ZoneInfo("Asia/Shanghai")
AT = datetime(2025, 7, 1, tzinfo=Z)  # half of UNIFORM's year: 0.48
D = Decimal


def node(cells: dict[tuple[Source, Sector], Decimal], factor: str = "0") -> NodeBudget:
    return NodeBudget(7, cells, D(factor), UNIFORM, DEFAULT_LEVELS)


GW = (Source.GROUNDWATER, Sector.IRRIGATION)
RECLAIMED = (Source.RECLAIMED, Sector.IRRIGATION)
SURFACE = (Source.LOCAL_SURFACE, Sector.IRRIGATION)


def kinds(assessment) -> dict[tuple[str, str], bool]:
    return {(o.key.subject, o.key.kind): o.active for o in assessment.observations}


def test_one_source_gives_one_snapshot_and_the_year_alerts() -> None:
    result = assess(node({GW: D(1000)}), year_period(2025), at=AT,
                    drawn={"groundwater": D(850)})
    assert [s.source for s in result.snapshots] == [""]
    snapshot = result.snapshots[0]
    assert snapshot.execution.execution_rate == D("0.85")
    assert snapshot.level is Level.NOTICE
    assert kinds(result) == {("node/7", "budget_level"): True, ("node/7", "budget_pace"): True,
                             ("node/7", "over_quota"): False}


def test_several_sources_add_per_source_snapshots_and_levels() -> None:
    result = assess(node({GW: D(1000), SURFACE: D(1000)}), year_period(2025), at=AT,
                    drawn={"groundwater": D(1000), "local_surface": D(100)})
    assert [s.source for s in result.snapshots] == ["", "groundwater", "local_surface"]
    observed = kinds(result)
    assert observed[("node/7/groundwater", "budget_level")] is True  # its own budget is full
    assert observed[("node/7", "budget_level")] is False  # 1,100 of 2,000 in all
    assert observed[("node/7/local_surface", "budget_level")] is False


def test_non_conventional_water_counts_at_the_years_factor_on_both_sides() -> None:
    result = assess(node({GW: D(1000), RECLAIMED: D(1000)}, factor="0.5"), year_period(2025),
                    at=AT, drawn={"groundwater": D(500), "reclaimed": D(400)})
    total = result.snapshots[0].execution
    assert (total.drawn_m3, total.budget_m3) == (D(700), D(1500))


def test_a_month_gets_its_planned_share_and_no_alerts() -> None:
    july = month_period(2025, 7)
    assert period_share(UNIFORM, july) == D("0.09")
    result = assess(node({GW: D(1000)}), july, at=datetime(2025, 7, 16, tzinfo=Z),
                    drawn={"groundwater": D(90)})
    snapshot = result.snapshots[0].execution
    assert snapshot.budget_m3 == D(90)
    assert snapshot.execution_rate == 1
    assert result.observations == []


def test_the_held_level_keeps_the_alert_within_the_margin() -> None:
    cells = {GW: D(1000)}
    fresh = assess(node(cells), year_period(2025), at=AT, drawn={"groundwater": D(890)})
    held = assess(node(cells), year_period(2025), at=AT, drawn={"groundwater": D(890)},
                  held={node_subject(7): Severity.WARNING})
    assert fresh.snapshots[0].level is Level.NOTICE
    assert held.snapshots[0].level is Level.WARNING  # 89 % ≥ 90 % − 2 points


def test_more_than_20_percent_over_quota_is_an_anomaly() -> None:
    result = assess(node({GW: D(1000)}), year_period(2025), at=AT,
                    drawn={"groundwater": D(1201)})
    assert kinds(result)[("node/7", "over_quota")] is True

"""Request and response bodies of the budget API (pydantic). Volumes in m³."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from budget.hierarchy import AttachmentKind, NodeLevel
from budget.kinds import Sector, Source
from budget.site_sectors import SitePurpose
from waterbudget.web.types import Id, Text

Volume = Decimal


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactIn(Strict):
    name: Text = Field(min_length=1)
    phone: Text | None = None
    email: Text | None = None
    role: Text | None = None


class NodeIn(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=100)
    name: Text = Field(min_length=1, max_length=200)
    level: NodeLevel
    parent_id: Id | None = None
    contacts: list[ContactIn] = []


class NodeOut(BaseModel):
    node_id: int
    code: str
    name: str
    level: NodeLevel
    parent_id: int | None
    contacts: list[ContactIn]


class AttachmentIn(Strict):
    kind: AttachmentKind
    ref: Text = Field(min_length=1)
    sector: Sector | None = Field(
        default=None,
        description="left out: the default of what it is (budget/site_sectors.py: wells and "
        "canal outlets irrigation, cards irrigation …); null: counts against any sector",
    )


class SectorSplitIn(Strict):
    """The water office's sector split of a node's 未分行业 budget (replaces an estimate)."""

    year: int = Field(ge=2000, le=2100)
    shares: dict[Sector, Annotated[Decimal, Field(ge=0, le=1)]] = Field(
        min_length=1, description="fraction of the node's 未分行业 volume per leaf sector"
    )
    reference: Text = ""


class SectorSplitOut(BaseModel):
    node_id: int
    year: int
    basis: Literal["structure", "quota", "operator"] | None = Field(
        description="structure / quota: an estimate; operator: given; null: no split"
    )
    estimate: bool | None
    shares: dict[Sector, Decimal]
    reference: str
    from_node_id: int | None = Field(
        description="the node whose split this is (self or an ancestor)"
    )
    note: str | None = Field(description="the note every table using the split shows")


class DivisionCodeIn(Strict):
    division_code: str = Field(
        pattern=r"^[0-9]{6}([0-9]{3}([0-9]{3})?)?$",
        description="行政区划代码: 6 digits (county), 9 (township) or 12 (village)",
    )


class SiteSectorIn(Strict):
    """What a registry site is, and/or its sector (overrides what it is)."""

    purpose: SitePurpose | None = None
    sector: Sector | None = None


class EntryIn(Strict):
    node_id: Id
    year: int = Field(ge=2000, le=2100)
    kind: Literal["issue", "supplement", "cut"]
    source: Source
    sector: Sector
    volume_m3: Volume = Field(gt=0, max_digits=16, decimal_places=3)
    valid_from: AwareDatetime
    reason: Text = Field(min_length=1)


class EntryOut(BaseModel):
    entry_id: int
    node_id: int
    year: int
    kind: str
    source: Source
    sector: Sector
    volume_m3: Volume
    valid_from: datetime
    reason: str
    status: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    trade_id: int | None


class TradeIn(Strict):
    seller_id: Id
    buyer_id: Id
    year: int = Field(ge=2000, le=2100)
    source: Source
    sector: Sector
    volume_m3: Volume = Field(gt=0, max_digits=16, decimal_places=3)
    valid_from: AwareDatetime
    reason: Text = Field(min_length=1)


class CellOut(BaseModel):
    source: Source
    sector: Sector
    volume_m3: Volume


class BudgetOut(BaseModel):
    node_id: int
    code: str
    year: int
    as_of: datetime
    known_at: datetime | None
    cells: list[CellOut]
    total_m3: Volume
    counted_total_m3: Volume = Field(description="non-conventional water at the year's factor")
    non_conventional_factor: Decimal
    by_source: dict[Source, Volume]
    by_sector: dict[Sector, Volume]
    handed_to_children_m3: Volume
    time_progress: Decimal = Field(description="planned share of the year's budget by as_of")


class ViolationOut(BaseModel):
    rule: str
    section: str
    node_id: int | None
    message: str
    excess_m3: Volume


class FindingOut(BaseModel):
    check: str
    message: str
    amount_m3: Volume


class CutOut(BaseModel):
    item: str
    source: Source
    sector: Sector
    priority: str
    cut_m3: Volume


class KeptOut(BaseModel):
    """A line the cut list keeps whole or in part, and the 7.1.2 reason."""

    item: str
    source: Source
    sector: Sector
    volume_m3: Volume
    protected_m3: Volume
    reason: str


class SourceCutOut(BaseModel):
    """宁夏 7.1.2 for one short source kind: cut from that kind's lines only."""

    source_kind: str = Field(description="4.3.1 source kind (family)")
    revenue_m3: Volume
    expenditure_m3: Volume
    shortfall_m3: Volume
    cut_m3: Volume
    remaining_m3: Volume = Field(description="what 7.1.2 cannot balance: left to the operator")


class SurplusOut(BaseModel):
    """宁夏 7.1.3 for one source kind with water to spare."""

    source_kind: str
    revenue_m3: Volume
    expenditure_m3: Volume
    surplus_m3: Volume
    uses: list[str] = Field(description="7.1.3 clauses open to it: a reserve, b trade, c, d")
    conditional: list[str] = Field(
        description="clauses open if the area is a groundwater overdraft area (c) or "
        "ecologically fragile (d), which is not recorded"
    )


class InflowDeviationOut(BaseModel):
    """宁夏 7.4.3 a): the newest updated inflow against the newest forecast."""

    forecast_m3: Volume
    updated_m3: Volume
    deviation: Decimal | None = Field(description="(updated − forecast) / forecast")
    by_source_kind: dict[str, Decimal | None] = Field(
        description="deviation per 4.3.1 source kind; null: no forecast for the kind"
    )
    triggered: bool = Field(description="beyond ±15 %: dynamic adjustment of the budget")
    findings: list[FindingOut]


class AccountingOut(BaseModel):
    revenue_m3: Volume
    expenditure_m3: Volume
    deviation: Decimal | None
    revenue_basis: Literal["forecast", "updated", "issued_budget"] = Field(
        description="which revenue the balance used: the newest updated inflow, else the "
        "newest forecast, else (nothing recorded) the node's own issued budget"
    )
    revenue_by_source: dict[Source, Volume] = Field(
        description="as counted: non-conventional water at the year's factor, × inflow_factor"
    )
    expenditure_by_source: dict[Source, Volume]
    non_conventional_factor: Decimal
    inflow_factor: Decimal
    dynamic_adjustment: InflowDeviationOut | None = Field(
        description="7.4.3 a): the newest updated revenue (× inflow_factor) against the newest "
        "forecast; with a forecast only, the what-if alone; null when there is nothing to compare"
    )
    findings: list[FindingOut]
    cuts: list[CutOut] | None
    remaining_shortfall_m3: Volume | None
    kept: list[KeptOut] | None = Field(
        default=None,
        description="lines of the short sources the cut list keeps whole or in part, and why",
    )
    cut_by_source: list[SourceCutOut] | None = Field(
        default=None, description="7.1.2 per short source kind; null when no kind is short"
    )
    surplus: list[SurplusOut] = Field(
        default_factory=list, description="7.1.3 per source kind with revenue to spare"
    )


CutFigure = Annotated[Volume, Field(ge=0, max_digits=16, decimal_places=3)]


class ProtectedIn(Strict):
    """What a node records for the 宁夏 7.1.2 cut list of a budget year, in m³.

    A figure left out (or null) is not recorded: its lines are kept whole by the
    cut list (an unknown protected share is not zero)."""

    year: int = Field(ge=2000, le=2100)
    grain_irrigation_m3: CutFigure | None = Field(
        default=None, description="粮食作物灌溉用水, kept (within irrigation; b, e)"
    )
    basic_ecological_flow_m3: CutFigure | None = Field(
        default=None, description="基本生态流量用水, kept (within river-lake; a, e)"
    )
    urban_environment_baseline_m3: CutFigure | None = Field(
        default=None,
        description="城乡环境生态基准需求, kept (within urban environment; a)",
    )
    industry_non_production_m3: CutFigure | None = Field(
        default=None,
        description="高耗水行业非生产必需用水: the only industry a cut may take (c)",
    )
    services_non_essential_m3: CutFigure | None = Field(
        default=None,
        description="特种行业非运营必需用水: the only services a cut may take (d)",
    )
    reference: Text = ""


class ProtectedOut(BaseModel):
    node_id: int
    year: int
    grain_irrigation_m3: Volume | None
    basic_ecological_flow_m3: Volume | None
    urban_environment_baseline_m3: Volume | None = None
    industry_non_production_m3: Volume | None = None
    services_non_essential_m3: Volume | None = None
    reference: str
    recorded: bool = Field(description="false: nothing recorded for the node itself (all null)")
    recorded_by: str | None
    recorded_at: datetime | None


class RevenueIn(Strict):
    """Available water of a node and budget year by source (宁夏 5, 4.3.1), in m³."""

    year: int = Field(ge=2000, le=2100)
    basis: Literal["forecast", "updated"] = Field(
        default="forecast",
        description="forecast: the cap handed down plus the forecast inflow; updated: an "
        "actual or updated inflow during the year (compared with the forecast, 7.4.3 a)",
    )
    volumes: dict[Source, Annotated[Volume, Field(ge=0, max_digits=16, decimal_places=3)]] = Field(
        min_length=1, description="m³ by source; a source left out is 0"
    )
    reference: Text = Field(default="", description="the document the figures come from")


class RevenueRecordOut(BaseModel):
    record_id: int
    node_id: int
    year: int
    basis: str
    volumes: dict[Source, Volume]
    total_m3: Volume
    reference: str
    recorded_by: str
    recorded_at: datetime | None


class RevenueOut(BaseModel):
    node_id: int
    year: int
    forecast: RevenueRecordOut | None = Field(description="the newest forecast record")
    updated: RevenueRecordOut | None = Field(description="the newest updated-inflow record")
    dynamic_adjustment: InflowDeviationOut | None
    history: list[RevenueRecordOut] = Field(description="every record, oldest first")


class ImportIn(Strict):
    manifest_yaml: Text
    allocation_csv: Text
    reclaimed_csv: Text | None = None
    acknowledge: list[Text] = Field(
        default=[], description="the 'where' of every reported discrepancy the operator accepts"
    )
    dry_run: bool = False


class DiscrepancyOut(BaseModel):
    kind: str
    where: str
    message: str
    stated: Decimal | None
    computed: Decimal | None
    difference: Decimal | None


class ImportOut(BaseModel):
    import_id: int | None
    year: int
    nodes: int
    issues: int
    discrepancies: list[DiscrepancyOut]


class TokenIn(Strict):
    name: Text = Field(min_length=1)
    role: Literal["administrator", "operator", "water_user"]
    node_id: Id | None = None


class TokenOut(BaseModel):
    token: str
    role: str
    node_id: int | None
    sign_in_code: str | None = Field(
        default=None, description="water users: the short code (ABCD-EFGH) typed at /my")


class ProfileIn(Strict):
    weights: list[Decimal] = Field(min_length=12, max_length=12)


class TableFieldOut(BaseModel):
    label: str
    value: str | Decimal | None


class TableColumnOut(BaseModel):
    key: str
    header: list[str] = Field(description="outermost header first (the seed's merged cells)")


class TableRowOut(BaseModel):
    number: str = Field(description="序号 (appendix A)")
    group: str = Field(description="行政分区 of the first level (appendix B)")
    label: str
    kind: str = Field(description="line | of_which | subtotal | total | extra")
    values: list[Decimal | None] = Field(description="万m³, aligned with columns; null = blank")


class AccountingTableOut(BaseModel):
    """宁夏 附录 A or B as data, in 万m³ with two decimals."""

    appendix: str
    title: str
    unit: str
    fields: list[TableFieldOut]
    columns: list[TableColumnOut]
    rows: list[TableRowOut]
    notes: list[str]


class CropIn(Strict):
    crop: Text = Field(min_length=1)
    area_mu: Decimal = Field(ge=0, description="irrigated area, 亩")
    quota_m3_per_mu: Decimal = Field(ge=0, description="irrigation quota, m³/亩")
    efficiency: Decimal | None = Field(
        default=None, gt=0, le=1, description="this crop's coefficient; default: the body's"
    )
    source: Source
    sector: Literal[Sector.IRRIGATION, Sector.FISH_POND, Sector.LIVESTOCK] = Sector.IRRIGATION


class ProductIn(Strict):
    product: Text = Field(min_length=1)
    declared_output: Decimal = Field(ge=0, description="in the quota's unit (t, 床, m² …)")
    quota_m3_per_unit: Decimal = Field(ge=0)
    source: Source
    sector: Sector = Sector.INDUSTRY


class ResidentsIn(Strict):
    """城乡居民生活用水: population × per-capita norm (capped: 农村 80, 城镇 120 升/(人·天))."""

    population: Decimal = Field(ge=0, description="人")
    norm_l_per_person_day: Decimal = Field(ge=0, description="升/(人·天)")
    source: Source
    sector: Literal[Sector.RURAL_RESIDENTS, Sector.URBAN_RESIDENTS] = Sector.RURAL_RESIDENTS
    days: int = Field(default=365, ge=1, le=366)


class QuotaIn(Strict):
    """Zero-based quota inputs of one node (甘州 附件1)."""

    year: int = Field(ge=2000, le=2100)
    efficiency: Decimal | None = Field(
        default=None, gt=0, le=1, description="农田灌溉水有效利用系数 (Ganzhou 0.625–0.635)"
    )
    crops: list[CropIn] = []
    products: list[ProductIn] = Field(default=[], description="industrial and service outputs")
    residents: list[ResidentsIn] = Field(
        default=[], description="per-capita domestic norms, their own lines"
    )
    record_split: bool = Field(
        default=False,
        description="record the proposal's sector shares as the node's sector split (basis "
        "quota, an estimate) for its budget issued by source only",
    )
    valid_from: AwareDatetime | None = Field(
        default=None, description="valid_from of the draft entries; default 1 January"
    )


class ProposedLineOut(BaseModel):
    source: Source
    sector: Sector
    volume_m3: Volume
    basis: str = Field(description="the working: quota ÷ coefficient × area, output × quota")


class QuotaOut(BaseModel):
    node_id: int
    year: int
    lines: list[ProposedLineOut]
    by_sector: dict[Sector, Volume]
    by_source: dict[Source, Volume]
    total_m3: Volume
    uncapped_total_m3: Volume
    permit_m3: Volume | None
    capped_by_permit: bool
    entries: list[EntryIn] = Field(
        description="draft issue entries: POST each to /budget/entries, then approve"
    )

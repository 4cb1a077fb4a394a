"""The sector of the water drawn at a registry site or by an IC card (issue 12).

Every draw carries a source (the site's) and a sector (宁夏 4.3.2). The sector
comes, first match wins, from:

1. the attachment's own sector (``POST /budget/nodes/{id}/attachments``);
2. the site's recorded sector (``PUT /budget/sites/{id}/sector``);
3. what the site is (its recorded purpose, else the registry kind):

   - irrigation well (机井; registry kind ``well``): 灌溉用水 — the Ganzhou
     wells are irrigation wells;
   - canal outlet (斗口; registry kind ``canal_gate``): 灌溉用水;
   - public-supply works (水厂): 城镇居民 — 宁夏 4.3.2 c) residents are
     accounted with the supply company;
   - industrial intake (工业取水口): 工业;
   - ecological outlet (生态补水口): 河湖生态 (宁夏 4.3.2 f);
   - registry kind ``pump_station`` without a purpose: none — 未分行业 until
     said (a pump station can serve anything);

4. IC cards: the households and farms that hold them irrigate — 灌溉用水 unless
   the attachment says otherwise.
"""

from __future__ import annotations

from enum import StrEnum

from budget.kinds import Sector


class SitePurpose(StrEnum):
    IRRIGATION_WELL = "irrigation_well"
    CANAL_OUTLET = "canal_outlet"
    PUBLIC_SUPPLY = "public_supply"
    INDUSTRIAL_INTAKE = "industrial_intake"
    ECOLOGICAL_OUTLET = "ecological_outlet"


PURPOSE_SECTOR = {
    SitePurpose.IRRIGATION_WELL: Sector.IRRIGATION,
    SitePurpose.CANAL_OUTLET: Sector.IRRIGATION,
    SitePurpose.PUBLIC_SUPPLY: Sector.URBAN_RESIDENTS,
    SitePurpose.INDUSTRIAL_INTAKE: Sector.INDUSTRY,
    SitePurpose.ECOLOGICAL_OUTLET: Sector.RIVER_LAKE,
}

KIND_PURPOSE = {"well": SitePurpose.IRRIGATION_WELL, "canal_gate": SitePurpose.CANAL_OUTLET}

CARD_SECTOR = Sector.IRRIGATION


def default_sector(
    attachment_kind: str,
    *,
    site_kind: str | None = None,
    purpose: str | None = None,
    site_sector: str | None = None,
) -> Sector | None:
    """The sector an attachment without one of its own gets; None: 未分行业
    (the draw counts against any sector of the node, as before)."""
    if attachment_kind == "card":
        return CARD_SECTOR
    if site_sector:
        return Sector(site_sector)
    if purpose:
        return PURPOSE_SECTOR[SitePurpose(purpose)]
    known = KIND_PURPOSE.get(site_kind or "")
    return PURPOSE_SECTOR[known] if known else None

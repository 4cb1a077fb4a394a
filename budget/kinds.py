"""Source and sector kinds of a budget line (Ningxia spec 4.3.1 and 4.3.2).

English identifiers, Chinese names as labels. A budget cell is one
(source, sector) pair; sources and sectors are leaves, grouped into families
for the totals of the accounting tables.
"""

from __future__ import annotations

from enum import StrEnum


class SourceFamily(StrEnum):
    """The six source kinds of Ningxia 4.3.1 a)–f)."""

    YELLOW_RIVER = "yellow_river"
    LOCAL_SURFACE = "local_surface"
    GROUNDWATER = "groundwater"
    NON_CONVENTIONAL = "non_conventional"
    TRANSFERRED = "transferred"
    TRADED = "traded"

    @property
    def label(self) -> str:
        return _SOURCE_FAMILY_LABELS[self]


class Source(StrEnum):
    """Leaf source of a budget cell; non-conventional water by its sub-kind (4.3.1 d)."""

    YELLOW_RIVER = "yellow_river"
    LOCAL_SURFACE = "local_surface"
    GROUNDWATER = "groundwater"
    RECLAIMED = "reclaimed"
    MINE_WATER = "mine_water"
    BRACKISH = "brackish"
    RAINWATER = "rainwater"
    TRANSFERRED = "transferred"
    TRADED = "traded"

    @property
    def label(self) -> str:
        return _SOURCE_LABELS[self]

    @property
    def family(self) -> SourceFamily:
        if self in NON_CONVENTIONAL_SOURCES:
            return SourceFamily.NON_CONVENTIONAL
        return SourceFamily(self.value)

    @property
    def is_non_conventional(self) -> bool:
        return self in NON_CONVENTIONAL_SOURCES


NON_CONVENTIONAL_SOURCES = frozenset(
    {Source.RECLAIMED, Source.MINE_WATER, Source.BRACKISH, Source.RAINWATER}
)

_SOURCE_FAMILY_LABELS = {
    SourceFamily.YELLOW_RIVER: "黄河水",
    SourceFamily.LOCAL_SURFACE: "当地地表水",
    SourceFamily.GROUNDWATER: "地下水",
    SourceFamily.NON_CONVENTIONAL: "非常规水",
    SourceFamily.TRANSFERRED: "外调水",
    SourceFamily.TRADED: "跨区域交易水",
}

_SOURCE_LABELS = {
    Source.YELLOW_RIVER: "黄河水",
    Source.LOCAL_SURFACE: "当地地表水",
    Source.GROUNDWATER: "地下水",
    Source.RECLAIMED: "再生水",
    Source.MINE_WATER: "矿坑(井)水",
    Source.BRACKISH: "(微)咸水",
    Source.RAINWATER: "集蓄雨水",
    Source.TRANSFERRED: "外调水",
    Source.TRADED: "跨区域交易水",
}


class SectorFamily(StrEnum):
    """The four sectors of the expenditure totals (Ningxia 6.5.1)."""

    AGRICULTURE = "agriculture"
    INDUSTRY = "industry"
    DOMESTIC = "domestic"
    ECOLOGY = "ecology"
    UNSPECIFIED = "unspecified"

    @property
    def label(self) -> str:
        return _SECTOR_FAMILY_LABELS[self]


class Sector(StrEnum):
    """Leaf sector of a budget cell (Ningxia 4.3.2, grouped as in 6.1–6.4).

    ``UNSPECIFIED`` is for volumes a source document issues by source only
    (the Ganzhou township table): they are kept visible as 未分行业 so the
    by-sector total shows what is missing instead of guessing a sector.
    """

    IRRIGATION = "agriculture.irrigation"
    FISH_POND = "agriculture.fish_pond"
    LIVESTOCK = "agriculture.livestock"
    INDUSTRY = "industry"
    URBAN_RESIDENTS = "domestic.urban"
    RURAL_RESIDENTS = "domestic.rural"
    SERVICES = "domestic.services"
    CONSTRUCTION = "domestic.construction"
    RIVER_LAKE = "ecology.river_lake"
    URBAN_ENVIRONMENT = "ecology.urban_environment"
    UNSPECIFIED = "unspecified"

    @property
    def label(self) -> str:
        return _SECTOR_LABELS[self]

    @property
    def family(self) -> SectorFamily:
        return SectorFamily(self.value.split(".", 1)[0])

    @property
    def is_residential(self) -> bool:
        """城乡居民生活用水: never cut (Ningxia 7.1.2 e)."""
        return self in (Sector.URBAN_RESIDENTS, Sector.RURAL_RESIDENTS)


_SECTOR_FAMILY_LABELS = {
    SectorFamily.AGRICULTURE: "农业",
    SectorFamily.INDUSTRY: "工业",
    SectorFamily.DOMESTIC: "生活",
    SectorFamily.ECOLOGY: "生态环境",
    SectorFamily.UNSPECIFIED: "未分行业",
}

_SECTOR_LABELS = {
    Sector.IRRIGATION: "灌溉用水",
    Sector.FISH_POND: "鱼塘补水",
    Sector.LIVESTOCK: "畜禽用水",
    Sector.INDUSTRY: "工业",
    Sector.URBAN_RESIDENTS: "城镇居民",
    Sector.RURAL_RESIDENTS: "农村居民",
    Sector.SERVICES: "服务业",
    Sector.CONSTRUCTION: "建筑业",
    Sector.RIVER_LAKE: "河湖生态",
    Sector.URBAN_ENVIRONMENT: "城乡环境",
    Sector.UNSPECIFIED: "未分行业",
}

Cell = tuple[Source, Sector]
"""One budget cell: a source and a sector."""

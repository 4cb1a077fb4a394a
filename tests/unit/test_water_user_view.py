"""The farmer's page as plain data (issue 15, part 3): overrun, charges, card balance,
session dates, notes on the meter and the data kept apart from the farmer's warnings."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal as D  # noqa: N817

from budget.hierarchy import Node, NodeLevel
from budget.kinds import Sector, Source
from budget.plan_profile import IRRIGATION_SEASON
from budget.year_ledger import BUDGET_TIMEZONE
from monitor.charges import GROUNDWATER_TIERS, progressive_charge
from reports.inputs import AlertRecord
from water_user_page.codes import ALPHABET, new_code, normalized, shown
from water_user_page.view import CardSession, ChargeRecord, MyWater, my_water, session_time

NODE = Node(5, "H1", "张三", NodeLevel.HOUSEHOLD, 4)
AT = datetime(2024, 8, 15, tzinfo=BUDGET_TIMEZONE)


def overrun_charge(use: str, quota: str, price: str = "0.10") -> ChargeRecord:
    c = progressive_charge(use_m3=D(use), quota_m3=D(quota), price_per_m3=D(price),
                           schedule=GROUNDWATER_TIERS)
    return ChargeRecord("groundwater", c.quota_m3, c.excess_m3, c.price_per_m3, c.total,
                        c.surcharge, c.bands)


def view(lang: str = "zh", used: str = "2644", alerts: tuple[AlertRecord, ...] = (),
         sessions: tuple[CardSession, ...] = (),
         charges: tuple[ChargeRecord, ...] = ()) -> MyWater:
    return my_water(lang=lang, node=NODE, year=2024, as_of=AT,
                    budget={(Source.GROUNDWATER, Sector.IRRIGATION): D(2000)},
                    used_by_source={"groundwater": D(used)}, factor=D(0),
                    profile=IRRIGATION_SEASON, alerts=alerts, sessions=sessions,
                    charges=charges)


def test_an_overrun_is_said_as_over_use_not_a_negative_remainder():
    v = view()
    assert v.over == "644"
    assert v.remaining == ""
    assert "-" not in v.remaining + v.over
    assert "超用 644 m³" in v.message
    assert "644 m³ over budget" in view("en").message
    within = view(used="1500")
    assert (within.remaining, within.over) == ("500", "")


def test_the_charge_so_far_in_yuan_with_its_bands():
    # 644 m³ over a 2,000 m³ quota: band 0–30 % (600 m³) ×1.5, then 44 m³ in 30–50 % ×2
    v = view(charges=(overrun_charge("2644", "2000"),))
    (charge,) = v.charges
    assert charge.excess == "644"
    assert [(b.volume, b.multiplier, b.amount, b.current) for b in charge.bands] == [
        ("600", "×1.5", "90.00", False), ("44", "×2", "8.80", True)]
    assert charge.bands[0].band == "超定额 0%–30%（0–600 m³）"
    assert charge.bands[1].band == "超定额 30%–50%（600–1,000 m³）"
    assert charge.amount == "98.80"
    assert charge.surcharge == "34.40"  # 98.80 − 644 × 0.10
    assert v.charge_total == "34.40"
    assert "34.40 元" in v.message
    beyond = view(used="3500", charges=(overrun_charge("3500", "2000"),)).charges[0]
    assert beyond.bands[-1].band == "超定额 50% 以上（1,000 m³ 以上）"
    assert beyond.bands[-1].multiplier == "×3"


def test_an_overrun_without_a_tariff_says_who_works_out_the_amount():
    v = view()
    assert v.charges == ()
    assert v.charge_total == ""
    assert "以水管站核算为准" in v.message


def test_the_card_balance_is_explained_against_the_budget():
    card = CardSession("C1", AT - timedelta(hours=3), AT, D(90), D(2656))
    v = view(sessions=(card,))
    assert "IC卡内余额 2,656 m³" in v.balance_note
    assert "年度预算 2,000 m³" in v.balance_note
    assert "超出预算 644 m³" in v.balance_note
    en = view("en", sessions=(card,)).balance_note
    assert "2,656 m³ on your card" in en
    assert "2,000 m³" in en
    assert "500 m³ of budget is left" in view("en", used="1500", sessions=(card,)).balance_note
    assert view().balance_note == ""  # no card, nothing to explain


def test_every_session_has_its_date_and_one_crossing_midnight_both():
    start = datetime(2024, 6, 20, 22, 0, tzinfo=BUDGET_TIMEZONE)
    assert session_time(start, start + timedelta(hours=4), year=2024) == \
        "06-20 22:00 – 06-21 02:00"
    assert session_time(start - timedelta(hours=4), start, year=2024) == "06-20 18:00–22:00"
    assert session_time(start.replace(year=2023), start.replace(year=2023) + timedelta(hours=1),
                        year=2024) == "2023-06-20 22:00–23:00"
    v = view(sessions=(CardSession("C1", start, start + timedelta(hours=4), D(90), D(1)),))
    assert v.sessions[0].time == "06-20 22:00 – 06-21 02:00"


def test_notes_on_the_meter_and_data_are_apart_from_the_farmers_warnings():
    def alert(kind: str) -> AlertRecord:
        return AlertRecord(5, kind, "warning", AT, None, "")

    v = view(alerts=(alert("budget_level"), alert("over_quota"), alert("meter_silent")))
    assert [a.kind for a in v.alerts] == ["预算执行预警"]
    assert [n.kind for n in v.notes] == ["over_quota", "meter_silent"]
    assert "不是处罚" in v.notes[0].text
    assert "离线" in v.notes[1].text
    assert all(n.live for n in v.notes)


def test_short_codes_use_no_look_alikes_and_take_any_case_and_hyphens():
    assert not set("01OIL") & set(ALPHABET)
    assert len(set(ALPHABET)) == 31
    code = new_code()
    assert normalized(code) == code
    assert normalized(shown(code).lower()) == code
    assert normalized(" abcd efgh ") == "ABCDEFGH"
    assert normalized("ABCD-EFG0") is None  # 0 is not in the alphabet
    assert normalized("ABCDEFG") is None
    assert normalized("x" * 43) is None  # a token is not a short code


def test_exactly_at_the_budget_and_without_a_quota_the_words_still_fit():
    at_budget = view(used="2000")
    assert (at_budget.remaining, at_budget.over) == ("0", "")
    assert "{" not in at_budget.message
    assert "预算已用完" in at_budget.message
    no_quota = view(used="2644", charges=(overrun_charge("300", "0"),)).charges[0]
    assert [(b.band, b.multiplier) for b in no_quota.bands] == [("无定额，全部按最高档", "×3")]

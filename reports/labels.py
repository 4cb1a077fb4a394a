"""Words of the reports and the water-user page, Chinese (default) and English.

``text(lang, key, **params)``: a message key in a language; a key without a
translation is shown as it is (node names, registry spellings). The appendix
tables carry the seed's Chinese labels (``budget.accounting_tables``);
``appendix_label`` gives their English where asked.
"""

from __future__ import annotations

from budget.hierarchy import NodeLevel
from budget.kinds import Sector, Source, SourceFamily

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

_BOTH: dict[str, tuple[str, str]] = {
    "unit.year": ("{year}年", "{year}"),
    "unit.year_month": ("{year}年{month}月", "{period}"),
    "unit.points": ("{value} 个百分点", "{value} pp"),
    "title.monthly": ("水预算执行进度月报", "Monthly water-budget execution report"),
    "title.final_accounts": ("水预算年终决算", "Water-budget final accounts"),
    "label.node": ("预算单元", "Budget node"),
    "label.period": ("报告期", "Period"),
    "label.as_of": ("数据截至", "Data as of"),
    "label.built_at": ("编制时间", "Prepared at"),
    "label.revision": ("版次", "Revision"),
    "label.unit": ("单位：万m³", "Unit: 10⁴ m³"),
    "label.unit_short": ("万m³", "10⁴ m³"),
    "label.total": ("合计", "Total"),
    "label.yes": ("是", "yes"),
    "label.none": ("无", "none"),
    "label.page": ("页", "page"),
    "revision.first": ("首次发布", "First issue"),
    "revision.revised": ("第 {number} 版（修订）：上一版编制于 {previous}，共 {count} 处变化",
                         "Revision {number}: the previous revision was prepared {previous}; "
                         "{count} figures changed"),
    "revision.more": ("另有 {count} 处变化未列出", "{count} further changes not listed"),
    "section.revision": ("修订说明", "What changed in this revision"),
    "section.summary": ("执行概况", "Summary"),
    "section.final_summary": ("决算概况", "Summary"),
    "section.by_source": ("分水源执行情况", "By source"),
    "section.by_sector": ("分行业执行情况", "By sector"),
    "section.nodes": ("各预算单元执行情况", "Execution by budget node"),
    "section.final_nodes": ("各预算单元决算", "Final accounts by budget node"),
    "section.levels_reached": ("本月预警与超预算", "Warnings and overruns of the month"),
    "section.alerts": ("本月告警", "Alerts of the month"),
    "section.quality": ("数据质量", "Data quality"),
    "section.quality_nodes": ("数据质量问题单元", "Nodes with data-quality findings"),
    "section.quarantine_reasons": ("隔离数据（未计量）按原因", "Quarantined intervals by reason"),
    "section.charges": ("超定额累进加价", "Over-quota progressive charges"),
    "chart.monthly_plan": ("逐月用水量与计划", "Monthly draw against plan"),
    "chart.children_execution": ("下级单元执行率", "Execution by subordinate node"),
    "series.drawn": ("实际用水", "Drawn"),
    "series.planned": ("计划用水", "Planned"),
    "series.execution_rate": ("执行率", "Execution rate"),
    "series.time_progress": ("时间进度", "Time progress"),
    "axis.month": ("月份", "Month"),
    "fig.budget": ("年度预算水量", "Budget of the year"),
    "fig.drawn_ytd": ("累计用水量", "Drawn so far this year"),
    "fig.execution_rate": ("执行率", "Execution rate"),
    "fig.time_progress": ("时间进度", "Time progress"),
    "fig.planned_to_date": ("按计划应用水量", "Planned to date"),
    "fig.rate_minus_progress": ("执行率与时间进度之差", "Execution rate minus time progress"),
    "fig.drawn_month": ("本月用水量", "Drawn this month"),
    "fig.last_year": ("上年同期用水量", "Same period last year"),
    "fig.change_vs_last_year": ("同比增减", "Change against last year"),
    "fig.projected_year_end": ("预计全年用水量", "Projected year-end draw"),
    "fig.remaining": ("剩余水量", "Remaining"),
    "fig.projected_exhaustion": ("预计用完时间", "Projected exhaustion"),
    "fig.meters": ("计量设施数", "Meters"),
    "fig.readings_expected": ("应报数据条数", "Readings expected"),
    "fig.readings_received": ("实报数据条数", "Readings received"),
    "fig.completeness": ("数据完整率", "Completeness"),
    "fig.quarantined": ("隔离数据条数", "Quarantined intervals"),
    "fig.anomaly_over_quota": ("超定额20%以上单元数", "Nodes more than 20 % over quota"),
    "fig.anomaly_off_same_period": ("与上年同期偏差30%以上单元数",
                                    "Nodes 30 % or more off last year"),
    "fig.unattributed": ("未归属预算单元的用水量", "Water of sites attached to no node"),
    "fig.issued": ("下达水量", "Issued"),
    "fig.adjusted": ("调整水量（追加−核减）", "Adjusted (supplements − cuts)"),
    "fig.traded_net": ("交易净转入", "Traded in, net"),
    "fig.final_budget": ("决算预算水量", "Final budget"),
    "fig.used": ("全年实际用水量", "Used in the year"),
    "fig.balance": ("结余（负数为超用）", "Balance (negative: overrun)"),
    "fig.charges_total": ("超定额加价合计（元）", "Over-quota charges (yuan)"),
    "col.source": ("水源", "Source"),
    "col.sector": ("行业", "Sector"),
    "col.node": ("预算单元", "Node"),
    "col.code": ("代码", "Code"),
    "col.level": ("层级", "Level"),
    "col.budget": ("预算水量", "Budget"),
    "col.drawn_ytd": ("累计用水", "Drawn so far"),
    "col.drawn_month": ("本月用水", "This month"),
    "col.execution_rate": ("执行率", "Execution rate"),
    "col.time_progress": ("时间进度", "Time progress"),
    "col.rate_minus_progress": ("进度差", "Rate − progress"),
    "col.last_year": ("上年同期", "Last year"),
    "col.change_vs_last_year": ("同比", "Change"),
    "col.remaining": ("剩余", "Remaining"),
    "col.status": ("状态", "Status"),
    "col.level_at_month_start": ("月初状态", "At month start"),
    "col.level_at_as_of": ("截至状态", "Now"),
    "col.level_reached_at": ("达到时间（数据时间）", "Reached at (data time)"),
    "col.alert_kind": ("告警类型", "Alert"),
    "col.severity": ("级别", "Severity"),
    "col.opened_at": ("发生时间", "Opened"),
    "col.resolved_at": ("解除时间", "Resolved"),
    "col.detail": ("说明", "Detail"),
    "col.alerts": ("告警数", "Alerts"),
    "col.alerts_live": ("未解除", "Still open"),
    "col.first_opened_at": ("最早发生", "First opened"),
    "col.charged_users": ("加价户数", "Water users charged"),
    "col.completeness": ("完整率", "Completeness"),
    "col.quarantined": ("隔离条数", "Quarantined"),
    "col.anomaly_over_quota": ("超定额20%", "> 20 % over quota"),
    "col.anomaly_off_same_period": ("同比偏差≥30%", "≥ 30 % off last year"),
    "col.reason": ("原因", "Reason"),
    "col.count": ("条数", "Count"),
    "col.use": ("用水量", "Use"),
    "col.quota": ("定额", "Quota"),
    "col.excess": ("超定额水量", "Excess"),
    "col.surcharge": ("加价金额（元）", "Surcharge (yuan)"),
    "col.charge_total": ("应缴水费（元）", "Total charge (yuan)"),
    "col.entry.issue": ("下达", "Issued"),
    "col.entry.supplement": ("追加", "Supplements"),
    "col.entry.cut": ("核减", "Cuts"),
    "col.entry.trade_in": ("交易转入", "Traded in"),
    "col.entry.trade_out": ("交易转出", "Traded out"),
    "col.final_budget": ("决算预算", "Final budget"),
    "col.used": ("实际用水", "Used"),
    "col.balance": ("结余", "Balance"),
    "col.section": ("部分", "Section"),
    "col.row": ("项目", "Item"),
    "col.figure": ("指标", "Figure"),
    "col.old": ("原值", "Was"),
    "col.total": ("合计", "Total"),
    "col.rec.counted": ("决算预算（计入合计）", "Final budget (as counted)"),
    "col.rec.left_out": ("非常规水未计入部分", "Non-conventional left out"),
    "col.rec.full": ("预算全量（分水源表）", "Budget in full (by-source table)"),
    "col.rec.handed_down": ("下达下级（附录A）", "Handed down (appendix A)"),
    "col.rec.kept": ("本级留存（负数：下级另行下达）", "Kept (negative: issued below outside it)"),
    "col.rec.revenue": ("水预算收入（附录B）", "Revenue (appendix B)"),
    "col.rec.revenue_minus_expenditure": ("收入−支出", "Revenue − expenditure"),
    "col.check": ("校验", "Check"),
    "col.left": ("左项", "Left"),
    "col.right": ("右项", "Right"),
    "col.deviation": ("偏差", "Deviation"),
    "col.result": ("结论", "Result"),
    "col.expenditure": ("支出", "Expenditure"),
    "col.shortfall": ("缺口", "Shortfall"),
    "col.cut": ("核减", "Cut"),
    "col.remaining_shortfall": ("无法平衡的缺口", "Cannot be balanced"),
    "col.why": ("依据或保留原因", "Clause, or why it is kept"),
    "col.surplus": ("超额水量", "Surplus"),
    "col.uses": ("处置方式（7.1.3）", "Uses (7.1.3)"),
    "col.conditional_uses": ("视区域情况可用", "If the area qualifies"),
    "check.7_1_1": ("7.1.1 收入总量 ≥ 支出总量，偏差±5%以内",
                    "7.1.1 revenue ≥ expenditure, within ±5 %"),
    "check.6_5_3": ("6.5.3 分行业支出总量 = 分水源支出总量", "6.5.3 by sector = by source"),
    "result.ok": ("满足", "Met"),
    "result.short": ("收不抵支，按7.1.2核减", "Short: cut per 7.1.2"),
    "result.beyond_5": ("超额超过5%，按7.1.3处置", "Surplus beyond 5 %: 7.1.3"),
    "result.estimated": ("相等（行业分配为估算）", "Equal (sector split estimated)"),
    "note.rollup_lag": ("注意：监测汇总滞后于原始数据——尚有 {pending} 条数据变更未汇总"
                        "（最早写入于 {since}，已滞后约 {hours} 小时，涉及 {data} 起的数据），"
                        "本报告的用水量可能偏低，汇总完成后将出具修订版。",
                        "Note: the monitor's roll-ups lag behind the data — {pending} data "
                        "changes are not rolled up yet (the oldest written {since}, about "
                        "{hours} h ago, touching data from {data}); water used may be "
                        "understated here, and a revision follows once they are."),
    "section.procedure_late": ("预算程序逾期（甘州 3.(1)）", "Late in the budget procedure"),
    "note.reopened": ("本年度决算出具后，经管理员{by}于{at}重新开放（原因：{reason}）；"
                      "本版为重新开放后的修订。",
                      "The year was reopened after its final accounts were issued, by "
                      "{by} at {at} ({reason}); this is a revision after the reopening."),
    "section.overview": ("一、概述", "1. Overview"),
    "section.directory": ("二、水预算单位名录库建设情况", "2. The directory of budget units"),
    "section.directory_units": ("水预算单位名录", "Budget units"),
    "section.special": ("特殊情况说明", "Special circumstances"),
    "section.safeguards": ("四、保障措施", "4. Safeguards"),
    "fig.text.region": ("（一）区域概况", "(1) The region"),
    "fig.text.implementation": ("（二）水预算实施情况", "(2) How the water budget was run"),
    "fig.text.special": ("预算编制问题与预算偏差原因", "Problems and reasons for deviations"),
    "fig.text.safeguards": ("组织保障、技术保障和监督保障", "Organisation, technology, oversight"),
    "text.to_write": ("（待水行政主管部门填写）", "(to be written by the water office)"),
    "col.units": ("单位数", "Units"),
    "col.with.agriculture": ("有农业预算", "With agriculture"),
    "col.with.industry": ("有工业预算", "With industry"),
    "col.with.domestic": ("有生活预算", "With domestic"),
    "col.with.ecology": ("有生态环境预算", "With ecology"),
    "col.with.unspecified": ("有未分行业预算", "With no sector"),
    "col.division_code": ("行政区划代码", "Division code"),
    "note.directory": ("按层级统计本单元以下的水预算单位，及其预算所含行业"
                       "（分行业按本报告的行业分配）。",
                       "Budget units below this node by level, and the sectors of their budgets "
                       "(split as in this report)."),
    "note.division_code": ("行政区划代码（GB/T 2260）未记录的单位留空。",
                           "Units without a recorded division code (GB/T 2260) are blank."),
    "section.reconciliation": ("各表合计核对", "How the tables' totals connect"),
    "section.balance": ("收支平衡分析", "Balance of revenue and expenditure"),
    "section.cut_by_source": ("分水源核减（7.1.2）", "Cuts by source (7.1.2)"),
    "section.cut_lines": ("核减清单（7.1.2）", "Cut list (7.1.2)"),
    "section.surplus": ("超额水量处置（7.1.3）", "Surplus (7.1.3)"),
    "note.rec.tables": ("决算概况按“计入合计”列，分水源、分行业表按“预算全量”列，"
                        "附录A按“下达下级”列，附录B收入按“水预算收入”列；"
                        "各列之差在本表逐项说明。",
                        "The summary shows the counted column, the by-source and by-sector "
                        "tables the full column, appendix A the handed-down column and appendix "
                        "B's revenue the revenue column; each difference is listed here."),
    "note.rec.left_out": ("非常规水按当年折算系数 {factor} 计入合计（甘州 1.(3)①），"
                          "其余部分未计入。",
                          "Non-conventional water counts in the totals at the year's factor "
                          "{factor} (Ganzhou 1.(3)①); the rest is left out."),
    "note.rec.kept": ("本级预算与下达下级之差：正数为本级留存未下达，负数为在下级另行下达、"
                      "未计入本级总量的水量（如再生水计划）。",
                      "Own budget minus what is handed down: positive is kept at this level, "
                      "negative was issued below outside this level's totals (e.g. the "
                      "reclaimed-water plan)."),
    "note.rec.revenue": ("水预算收入为记录的可用水量（预测或更新来水），"
                         "与下达水量之差见收支平衡分析。",
                         "Revenue is the recorded available water (forecast or updated "
                         "inflow); its difference from the issued water is analysed below."),
    "note.balance.counted": ("收支平衡按非常规水折算系数 {factor} 计算，与接口核算相同。",
                             "The balance counts non-conventional water at the factor {factor}, "
                             "as the accounting API does."),
    "note.balance.split": ("{split}", "{split}"),
    "note.cut.per_source": ("按水源分别核减，不动用其他水源的水量；只核减7.1.2列明的部分，"
                            "未记录的保障份额不按零计。",
                            "Each source is cut from its own lines only; only the parts 7.1.2 "
                            "names are cut, and an unrecorded protected share is not zero."),
    "note.surplus": ("按水源列出超额水量及7.1.3处置方式。",
                     "Surplus by source with the 7.1.3 uses."),
    "col.new": ("新值", "Now"),
    "status.ok": ("正常", "on track"),
    "status.notice": ("提示（≥80%）", "notice (≥ 80 %)"),
    "status.warning": ("预警（≥90%）", "warning (≥ 90 %)"),
    "status.overrun": ("超预算", "overrun"),
    "status.surplus": ("结余", "surplus"),
    "severity.notice": ("提示", "notice"),
    "severity.warning": ("预警", "warning"),
    "severity.critical": ("严重", "critical"),
    "alert.budget_level": ("预算执行预警", "Budget level"),
    "alert.budget_pace": ("用水进度过快", "Pace: runs out early"),
    "alert.meter_silent": ("计量设施无数据", "Meter silent"),
    "alert.register_stuck": ("表计停走", "Register stuck"),
    "alert.flow_above_capacity": ("流量超设计能力", "Flow above capacity"),
    "alert.card_meter_mismatch": ("刷卡与计量偏差>5%", "Card vs meter > 5 %"),
    "alert.clock_skew": ("设备时钟偏差", "Clock skew"),
    "alert.quarantined_use": ("数据隔离", "Quarantined use"),
    "alert.over_quota": ("超定额20%以上", "> 20 % over quota"),
    "alert.off_same_period": ("与历史同期偏差≥30%", "≥ 30 % off the same period"),
    "quarantine.negative_delta": ("读数倒退", "negative delta"),
    "quarantine.impossible_delta": ("超设计能力", "impossible delta"),
    "quarantine.clock_jump": ("设备时钟跳变", "clock jump"),
    "note.counted": ("合计中非常规水按当年折算系数计入（甘州 1.(3)①）；分水源、分行业表为全量。",
                     "Totals count non-conventional water at the year's factor (Ganzhou "
                     "1.(3)①); the by-source and by-sector tables show every volume in full."),
    "note.levels": ("执行率达到 80%（提示）、90%（预警）、100%（超预算）。",
                    "Levels: 80 % notice, 90 % warning, 100 % overrun."),
    "note.quality": ("宁夏 8.1 a) 完整率 ≥ {completeness}；8.2 a) 超定额 {over_quota} 以上、"
                     "与历史同期偏差 {off_same_period} 以上为异常，需人工复核。",
                     "Ningxia 8.1 a) completeness ≥ {completeness}; 8.2 a) more than "
                     "{over_quota} over quota or {off_same_period} off the same period is an "
                     "anomaly, to be reviewed by hand."),
    "note.charges": ("超出定额部分分档累进加价（按地区、水源、作物类别设定）。",
                     "The excess over quota is charged band by band at rising multipliers "
                     "(set per area, source and crop class)."),
    "note.sector_split.structure": (
        "分行业预算为估算：未分行业水量按区县用水结构配置分到各行业（依据：{reference}），"
        "可由水行政主管部门逐节点替换。",
        "Budgets by sector are estimated: volumes issued by source only are split by the "
        "district's published water-use structure ({reference}); the water office can "
        "replace the split per node."),
    "note.sector_split.quota": (
        "分行业预算为估算：未分行业水量按零基定额测算分到各行业（依据：{reference}）。",
        "Budgets by sector are estimated: volumes issued by source only are split by the "
        "zero-based quota calculation ({reference})."),
    "note.sector_split.operator": (
        "未分行业水量按水行政主管部门确定的比例分到各行业（依据：{reference}）。",
        "Volumes issued by source only are split by sector as the water office set "
        "({reference})."),
    "note.final": ("结余 = 决算预算 − 实际用水；负数为超用。",
                   "Balance = final budget − water used; negative is an overrun."),
    "page.title": ("我的用水", "My water"),
    "page.budget": ("我的年度预算", "My budget this year"),
    "page.used": ("已用水量", "Used so far"),
    "page.remaining": ("剩余水量", "Remaining"),
    "page.rate": ("已用比例", "Share used"),
    "page.unit_m3": ("m³", "m³"),
    "page.warnings": ("我的预警", "My warnings"),
    "page.no_warnings": ("暂无预警", "No warnings"),
    "page.sessions": ("我的刷卡记录", "My card sessions"),
    "page.no_sessions": ("暂无刷卡记录", "No card sessions yet"),
    "page.session_time": ("时间", "Time"),
    "page.session_volume": ("水量 m³", "m³"),
    "page.session_balance": ("卡内余额 m³", "Card balance m³"),
    "page.as_of": ("数据截至 {time}", "Data as of {time}"),
    "page.language": ("English", "中文"),
    "page.login": ("请输入用水户查询码", "Enter your water-user code"),
    "page.login_button": ("查询", "Show"),
    "page.logout": ("退出", "Sign out"),
    "page.login_failed": ("查询码无效，请向水管站索取", "Unknown code: ask your water office"),
    "page.login_hint": ("8 位查询码，如 ABCD-EFGH（不区分大小写），或用手机扫描水管站给您的二维码",
                        "The 8-character code, e.g. ABCD-EFGH (any case), or scan the QR code "
                        "from your water office"),
    "page.login_too_many": ("输错次数过多，请 1 分钟后再试", "Too many wrong codes: try again "
                            "in a minute"),
    "page.by_source": ("分水源", "By source"),
    "page.level.notice": ("已用 80% 以上，请注意节约用水", "Over 80 % used: please save water"),
    "page.level.warning": ("已用 90% 以上，即将用完", "Over 90 % used: nearly exhausted"),
    "page.level.overrun": ("已超用 {over} m³。", "{over} m³ over budget. "),
    "page.overrun_charged": ("超出部分按超定额累进加价收费，截至目前加价 {surcharge} 元，"
                             "见下方明细。",
                             "The excess is charged at rising multipliers: {surcharge} yuan "
                             "of mark-up so far, see below."),
    "page.overrun_not_priced": ("超出部分按超定额累进加价收费，金额以水管站核算为准。",
                                "The excess is charged at rising multipliers; your water "
                                "office works out the amount."),
    "page.over": ("超用", "Over budget"),
    "page.level.used_up": ("预算已用完，继续用水按超定额累进加价收费。",
                           "Budget used up: further water is charged at the over-quota "
                           "rates."),
    "page.band_no_quota": ("无定额，全部按最高档", "No quota: all in the top band"),
    "page.charges": ("超定额累进加价", "Over-quota charges"),
    "page.charges_intro": ("超出年度预算（定额）的水量分档加价：每档水量 × 基本水价 × 该档倍数。",
                           "Water over your yearly budget (quota) is priced band by band: "
                           "the band's m³ × the base price × the band's multiplier."),
    "page.charge_source": ("{source}：超用 {excess} m³，基本水价 {price} 元/m³",
                           "{source}: {excess} m³ over, base price {price} yuan/m³"),
    "page.band": ("超定额 {lower}–{upper}（{m3_lower}–{m3_upper} m³）",
                  "{lower}–{upper} over quota ({m3_lower}–{m3_upper} m³)"),
    "page.band_open": ("超定额 {share} 以上（{m3} m³ 以上）",
                       "Over {share} over quota (beyond {m3} m³)"),
    "page.band_col": ("档次", "Band"),
    "page.band_volume": ("水量 m³", "m³"),
    "page.band_multiplier": ("倍数", "Multiplier"),
    "page.band_amount": ("金额 元", "Yuan"),
    "page.band_current": ("当前档", "current band"),
    "page.charge_amount": ("超用部分水费 {amount} 元，其中加价 {surcharge} 元",
                           "Water over budget: {amount} yuan, of which {surcharge} yuan "
                           "mark-up"),
    "page.charge_total": ("截至目前超定额加价合计 {total} 元（以水管站结算为准）",
                          "Over-quota mark-up so far: {total} yuan (your water office "
                          "settles the bill)"),
    "page.balance": ("IC卡余额与年度预算", "Card balance and yearly budget"),
    "page.balance_note": ("IC卡内余额 {balance} m³ 是您已充值（预购）、还没有刷卡用掉的水量；"
                          "年度预算 {budget} m³ 是今年分配给您的用水总量，已用 {used} m³。"
                          "两者不是一回事：卡里有余额不代表预算还有剩余。",
                          "The {balance} m³ on your card is water you have paid for in "
                          "advance and not yet drawn; your yearly budget of {budget} m³ is "
                          "the water allotted to you this year, of which you have used "
                          "{used} m³. They are not the same: a balance on the card does not "
                          "mean budget is left. "),
    "page.balance_over": ("您已超出预算 {over} m³，继续用水按超定额累进加价收费。",
                          "You are {over} m³ over budget; further water is charged at the "
                          "over-quota rates."),
    "page.balance_left": ("预算还剩 {remaining} m³。", "{remaining} m³ of budget is left."),
    "page.notes": ("计量与数据说明", "About the meter and the data"),
    "page.notes_intro": ("以下是水管站对计量设施和数据的核查信息，不是对您的预警。",
                         "Checks the water office runs on the meter and the data: "
                         "information, not a warning about you."),
    "page.note_open": ("核查中", "being checked"),
    "page.note_closed": ("已处理", "resolved"),
    "page.note.over_quota": ("今年的用水量超过定额 20% 以上。按规定（宁夏 8.2 a）这样的数据要"
                             "核对一次计量是否准确，这是对数据的核查，不是处罚。",
                             "This year's use is more than 20 % over quota. Such figures are "
                             "checked once against the meter (宁夏 8.2 a): a check of the "
                             "data, not a penalty."),
    "page.note.off_same_period": ("用水量与往年同期相差 30% 以上，水管站会核对计量数据。",
                                  "Use differs from the same period of past years by 30 % or "
                                  "more; the water office checks the meter's data."),
    "page.note.meter_silent": ("计量设施暂时没有上报数据（可能离线），水管站会检查设备。",
                               "The meter has not reported for a while (it may be offline); "
                               "the water office checks the device."),
    "page.note.register_stuck": ("水表读数长时间没有变化，设备可能需要检修。",
                                 "The meter's register has not moved for a long time; the "
                                 "device may need repair."),
    "page.note.flow_above_capacity": ("上报的流量超过设备设计能力，数据待核查。",
                                      "The reported flow is above what the device can "
                                      "deliver; the data is being checked."),
    "page.note.card_meter_mismatch": ("刷卡水量与水表计量相差超过 5%，水管站会核对。",
                                      "Card and meter differ by more than 5 %; the water "
                                      "office compares them."),
    "page.note.clock_skew": ("设备时钟与标准时间有偏差，数据时间待校正。",
                             "The device's clock is off; its data times are being corrected."),
    "page.note.quarantined_use": ("有一部分上报数据异常，暂未计入用水量，核查后再处理。",
                                  "Some reported data looked wrong and is held back from your "
                                  "use until checked."),
}

_LEVELS = {lvl.value: (lvl.label, lvl.value.replace("_", " ")) for lvl in NodeLevel}
_SOURCES_EN = {
    "yellow_river": "Yellow River", "local_surface": "Local surface water",
    "groundwater": "Groundwater", "reclaimed": "Reclaimed water", "mine_water": "Mine water",
    "brackish": "Brackish water", "rainwater": "Harvested rain", "transferred": "Transferred",
    "traded": "Traded",
}
_SECTORS_EN = {
    "agriculture.irrigation": "Irrigation", "agriculture.fish_pond": "Fish ponds",
    "agriculture.livestock": "Livestock", "industry": "Industry",
    "domestic.urban": "Urban residents", "domestic.rural": "Rural residents",
    "domestic.services": "Services", "domestic.construction": "Construction",
    "ecology.river_lake": "Rivers and lakes", "ecology.urban_environment": "Urban environment",
    "unspecified": "Sector not given",
}
for _key, (_zh, _en) in _LEVELS.items():
    _BOTH[f"level.{_key}"] = (_zh, _en)
for _s in Source:
    _BOTH[f"source.{_s.value}"] = (_s.label, _SOURCES_EN[_s.value])
for _c in Sector:
    _BOTH[f"sector.{_c.value}"] = (_c.label, _SECTORS_EN[_c.value])
for _f in SourceFamily:
    _BOTH[f"source_family.{_f.value}"] = (
        _f.label,
        {"non_conventional": "Non-conventional"}.get(_f.value)
        or _SOURCES_EN.get(_f.value, _f.value),
    )

_MESSAGES = {
    "zh": {k: zh for k, (zh, _) in _BOTH.items()},
    "en": {k: en for k, (_, en) in _BOTH.items()},
}


def language(lang: str | None) -> str:
    """A supported language; anything else (or nothing) is Chinese."""
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def text(lang: str, key: str, **params: str) -> str:
    message = _MESSAGES[language(lang)].get(key, key)
    return message.format(**params) if params else message


_APPENDIX_EN = {
    "县(区、市)水预算总量核算成果表": "County water-budget accounting table (appendix A)",
    "自治区和地市水预算总量核算成果表": "Region and prefecture accounting table (appendix B)",
    "农业预算水量": "Agriculture", "工业预算水量": "Industry", "生活预算水量": "Domestic",
    "生态环境预算水量": "Ecology", "灌溉用水": "Irrigation", "鱼塘补水": "Fish ponds",
    "畜禽用水": "Livestock", "合计": "Total", "小计": "Subtotal", "总计": "Grand total",
    "引扬黄灌区": "Yellow River lift schemes", "水库灌区": "Reservoir schemes",
    "纯井灌区": "Well-only schemes", "直接从河湖取水灌区": "Direct river/lake schemes",
    "自备水源": "Self-supplied", "公共供水": "Public supply", "服务业用水": "Services",
    "建筑业用水": "Construction", "居民生活用水": "Residents", "城镇居民": "Urban residents",
    "农村居民": "Rural residents", "河湖生态": "Rivers and lakes",
    "城乡环境": "Urban environment", "未分行业": "Sector not given",
    "黄河水": "Yellow River", "当地地表水": "Local surface water", "地下水": "Groundwater",
    "非常规水": "Non-conventional", "其中:再生水": "of which reclaimed",
    "其中:矿坑(井)水": "of which mine water", "其中:(微)咸水": "of which brackish",
    "其中:集蓄雨水": "of which harvested rain", "外调水": "Transferred",
    "跨区域交易水": "Traded", "水预算收入量": "Revenue", "水预算支出量": "Expenditure",
    "农业": "Agriculture", "工业": "Industry", "生活": "Domestic", "生态环境": "Ecology",
    "其中:灌溉用水": "of which irrigation", "其中:鱼塘补水": "of which fish ponds",
    "其中:畜禽用水": "of which livestock", "其中:城镇居民": "of which urban",
    "其中:农村居民": "of which rural", "其中:建筑业": "of which construction",
    "其中:服务业": "of which services", "其中:河湖生态": "of which rivers and lakes",
    "其中:城乡环境": "of which urban environment", "序号": "No.", "水源类型": "Source",
    "行政分区": "Area", "县(区、市)名称": "County name", "县(区、市)代码": "County code",
    "行政区名称": "Region name", "行政区代码": "Region code",
    "从区域外水权交易量:买入指标": "Water rights bought from outside",
    "从区域外水权交易量:卖出指标": "Water rights sold outside",
    "调入水量": "Transferred in", "调出水量": "Transferred out",
}


def appendix_label(lang: str, label: str) -> str:
    """A seed label of the appendix tables; in English where we know it."""
    return _APPENDIX_EN.get(label, label) if language(lang) == "en" else label

"""How far the monitor is behind the data (``waterbudget monitor status``, ``GET /monitor/status``).

Figures (read by ``repository.status``): change rows waiting in the change log
and the age of the oldest; change rows given up after ``MAX_ATTEMPTS`` failures
(they stay, with their error, until someone fixes the cause); the **data
clock** (the latest interval end the change log names: what ingestion has
stored) against the **roll-up clock** (``monitor_state.data_clock``: the latest
interval end rolled up, the time the rules evaluate at); the last sweep.

Behind when the oldest waiting change is older than the threshold, when the
data clock is ahead of the roll-up clock by more than the threshold, or when a
change row was given up. Pure: figures in, verdict and text out; Chinese by
default, English on request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

BEHIND = timedelta(minutes=5)  # as the container health check (monitor.health.MAX_BACKLOG)


@dataclass(frozen=True, slots=True)
class MonitorStatus:
    now: datetime  # the database server's clock
    pending: int  # change rows waiting
    oldest_pending_at: datetime | None  # when the oldest waiting row was recorded
    given_up: int  # change rows left after MAX_ATTEMPTS failures
    data_clock: datetime | None  # latest interval end the waiting rows name, else the roll-ups'
    rollup_clock: datetime | None  # monitor_state.data_clock
    swept_at: datetime | None  # server time of the last sweep
    swept_data: datetime | None  # its data time
    errors: tuple[str, ...] = ()  # the given-up rows' last errors (a few)

    @property
    def oldest_pending_age(self) -> timedelta | None:
        return None if self.oldest_pending_at is None else self.now - self.oldest_pending_at

    @property
    def data_lag(self) -> timedelta:
        """How far the roll-ups are behind the data (data time)."""
        if self.data_clock is None or self.rollup_clock is None:
            return timedelta(0) if self.data_clock is None else timedelta.max
        return max(timedelta(0), self.data_clock - self.rollup_clock)


def problems(status: MonitorStatus, *, behind: timedelta = BEHIND) -> list[str]:
    """Codes of what is wrong: ``backlog``, ``lag``, ``given_up``; empty when keeping up."""
    found = []
    age = status.oldest_pending_age
    if age is not None and age > behind:
        found.append("backlog")
    if status.data_lag > behind:
        found.append("lag")
    if status.given_up:
        found.append("given_up")
    return found


_TEXT = {
    "zh": {
        "title": "监控进度", "pending": "待处理变更", "rows": "行", "oldest": "最早一行已等待",
        "given_up": "已放弃的变更（失败 5 次，见 monitor_changes.last_error）",
        "data_clock": "数据时钟（变更日志中最新区间结束时间）",
        "rollup_clock": "汇总时钟（已汇总的最新区间结束时间，规则据此评估）",
        "lag": "汇总落后数据", "swept": "上次巡检（服务器时间 / 数据时间）",
        "verdict": "结论", "ok": "正常：监控跟上了数据", "behind": "落后",
        "backlog": "变更积压超过", "lag_code": "汇总落后数据超过",
        "given_up_code": "有已放弃的变更",
        "none": "无", "error": "错误",
    },
    "en": {
        "title": "Monitor progress", "pending": "Change rows waiting", "rows": "rows",
        "oldest": "oldest waiting for",
        "given_up": "Change rows given up (failed 5 times, see monitor_changes.last_error)",
        "data_clock": "Data clock (latest interval end in the change log)",
        "rollup_clock": "Roll-up clock (latest interval end rolled up; rules evaluate here)",
        "lag": "Roll-ups behind the data", "swept": "Last sweep (server time / data time)",
        "verdict": "Verdict", "ok": "OK: the monitor keeps up with the data",
        "behind": "BEHIND",
        "backlog": "change backlog older than", "lag_code": "roll-ups behind the data by more than",
        "given_up_code": "change rows given up", "none": "none", "error": "error",
    },
}


def _span(value: timedelta | None, lang: str) -> str:
    if value is None:
        return _TEXT[lang]["none"]
    if value == timedelta.max:
        return "∞"
    seconds = int(value.total_seconds())
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if lang == "zh":
        return (f"{h} 小时 " if h else "") + (f"{m} 分 " if h or m else "") + f"{s} 秒"
    return (f"{h} h " if h else "") + (f"{m} min " if h or m else "") + f"{s} s"


def _time(value: datetime | None, lang: str) -> str:
    return value.isoformat() if value is not None else _TEXT[lang]["none"]


def render(status: MonitorStatus, *, lang: str = "zh", behind: timedelta = BEHIND) -> str:
    t = _TEXT[lang]
    found = problems(status, behind=behind)
    codes = {"backlog": f"{t['backlog']} {_span(behind, lang)}",
             "lag": f"{t['lag_code']} {_span(behind, lang)}", "given_up": t["given_up_code"]}
    verdict = t["ok"] if not found else f"{t['behind']}: " + "; ".join(codes[c] for c in found)
    lines = [
        t["title"],
        f"  {t['pending']}: {status.pending} {t['rows']}"
        + (f" ({t['oldest']} {_span(status.oldest_pending_age, lang)})"
           if status.pending else ""),
        f"  {t['given_up']}: {status.given_up} {t['rows']}",
        f"  {t['data_clock']}: {_time(status.data_clock, lang)}",
        f"  {t['rollup_clock']}: {_time(status.rollup_clock, lang)}",
        f"  {t['lag']}: {_span(status.data_lag, lang)}",
        f"  {t['swept']}: {_time(status.swept_at, lang)} / {_time(status.swept_data, lang)}",
        f"  {t['verdict']}: {verdict}",
    ]
    lines += [f"  {t['error']}: {e}" for e in status.errors]
    return "\n".join(lines)

"""The one typed settings object. Nothing else reads the environment."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings from ``WATERBUDGET_*`` environment variables (or a ``.env`` file).

    Where ``database_url`` or ``mqtt_url`` is empty, ``waterbudget demo`` starts
    an embedded database or broker instead.
    """

    model_config = SettingsConfigDict(env_prefix="WATERBUDGET_", env_file=".env", extra="ignore")

    database_url: str = ""
    mqtt_url: str = ""
    timescaledb: str = Field("auto", pattern="^(auto|on|off)$")
    timezone: str = "Asia/Shanghai"
    topic_prefix: str = "waterbudget/v1"
    mqtt_client_id: str = "waterbudget-ingest"
    mqtt_share_group: str = ""  # set to scale out: $share/<group>/... across processes
    mqtt_protocol: str = Field("5", pattern="^(5|3.1.1)$")
    mqtt_receive_maximum: int = Field(20_000, ge=1, le=65_535)
    ingest_batch_size: int = Field(5_000, ge=1)
    ingest_batch_wait_ms: int = Field(50, ge=1)
    ingest_batch_bytes: int = Field(1_000_000, ge=1_000)  # payload bytes per transaction
    ingest_max_future_s: int = Field(600, ge=0)
    metrics_port: int = Field(0, ge=0, le=65_535)  # 0: no metrics endpoint
    # `waterbudget szy206-listen`: unsent confirmations per terminal connection before it
    # is closed (a terminal that never reads them, docs/szy206.md)
    szy206_max_outgoing_bytes: int = Field(65_536, ge=1_024)
    # terminal connections at most; 0: the descriptor limit (ulimit -n) less 32 kept for
    # the database connection and the rest
    szy206_max_connections: int = Field(0, ge=0)
    # `waterbudget dashboards push`: the Grafana to push to (user:password@ allowed in
    # the URL, or a service-account token), and the database as Grafana reaches it
    # (default: database_url).
    grafana_url: str = ""
    grafana_token: str = ""
    grafana_database_url: str = ""
    # monitor (docs/monitor.md)
    monitor_sweep_minutes: float = Field(10.0, gt=0)
    monitor_enforcement: bool = False  # shut-off commands on overrun (off by default)
    monitor_mqtt_client_id: str = "waterbudget-monitor"
    monitor_notify_prefix: str = "waterbudget/notify"  # per-user topics <prefix>/<address>
    smtp_url: str = ""  # smtp://user:pass@host:port or smtps://…; empty: no e-mail channel
    smtp_from: str = "waterbudget@localhost"
    smtp_starttls: bool = False
    # networks the webhook/WeCom/DingTalk channels may reach although not public, e.g.
    # "10.20.0.0/16,127.0.0.1" (administrators only: monitor/channels/destinations.py)
    webhook_allow_networks: str = ""

    @field_validator("webhook_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

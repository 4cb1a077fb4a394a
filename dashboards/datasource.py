"""The one provisioned data source every panel queries: TimescaleDB through
Grafana's PostgreSQL data source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.models.dashboard import DataSourceRef
from psycopg.conninfo import conninfo_to_dict

DATASOURCE_UID = "waterbudget-timescaledb"
DATASOURCE_TYPE = "grafana-postgresql-datasource"
DATASOURCE_NAME = "waterbudget TimescaleDB"
# The data source's minimum $__interval: readings arrive at most every minute.
MIN_INTERVAL = "1m"
FOLDER_UID = "waterbudget"
FOLDER_TITLE = "水预算执行监控 (waterbudget)"


def datasource_ref() -> DataSourceRef:
    return DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)


@dataclass(frozen=True)
class DatabaseConnection:
    """Where Grafana reaches the database (often not where we do: inside compose,
    ``timescaledb:5432``)."""

    host: str
    port: int
    database: str
    user: str
    password: str
    sslmode: str = "disable"

    @classmethod
    def from_url(cls, url: str) -> DatabaseConnection:
        parts = conninfo_to_dict(url)
        missing = [key for key in ("host", "dbname", "user") if not parts.get(key)]
        if missing:
            raise ValueError(f"the data source URL lacks {', '.join(missing)}")
        return cls(host=str(parts["host"]), port=int(parts.get("port") or 5432),
                   database=str(parts["dbname"]), user=str(parts["user"]),
                   password=str(parts.get("password") or ""),
                   sslmode=str(parts.get("sslmode") or "disable"))


def json_data(*, database: str, sslmode: str, timescaledb: bool) -> dict[str, Any]:
    """The data source's ``jsonData``, shared by the API payload and provisioning."""
    return {
        "database": database,
        "sslmode": sslmode,
        "postgresVersion": 1500,
        "timescaledb": timescaledb,
        "timeInterval": MIN_INTERVAL,
        "maxOpenConns": 10,
        "maxIdleConns": 10,
        "connMaxLifetime": 14400,
    }


def datasource_payload(connection: DatabaseConnection, *, timescaledb: bool) -> dict[str, Any]:
    """The body of ``POST /api/datasources`` and ``PUT /api/datasources/uid/<uid>``."""
    return {
        "uid": DATASOURCE_UID,
        "name": DATASOURCE_NAME,
        "type": DATASOURCE_TYPE,
        "access": "proxy",
        "url": f"{connection.host}:{connection.port}",
        "user": connection.user,
        "database": connection.database,
        "isDefault": True,
        "jsonData": json_data(database=connection.database, sslmode=connection.sslmode,
                              timescaledb=timescaledb),
        "secureJsonData": {"password": connection.password},
    }

"""Notifications: the delivery log, and the channels a contact subscribes to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from budget.api.deps import AccessDep, ConnDep
from monitor.api.alerts import owner
from monitor.api.scope import visible_nodes
from monitor.channels.destinations import AddressPolicy, RefusedAddressError, check_url
from monitor.repository import outbox
from waterbudget.web.errors import ApiError, not_found
from waterbudget.web.types import Id, Text

router = APIRouter()


@router.get("/notifications", summary="Notifications and every delivery attempt")
def list_notifications(conn: ConnDep, access: AccessDep, alert_id: Id | None = None,
                       status_: Annotated[str | None, Query(
                           alias="status", pattern="^(pending|sending|sent|dead)$")] = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100
                       ) -> list[dict[str, Any]]:
    access.staff()
    if alert_id is not None:
        owner(conn, access, alert_id)  # an alert outside the scope: 404, not an empty list
    return outbox.listing(conn, node_ids=visible_nodes(access), alert_id=alert_id,
                          status=status_, limit=limit)


class SubscriptionIn(BaseModel):
    contact_id: Id
    channel: str = Field(pattern="^(email|webhook|mqtt|wecom|dingtalk)$")
    address: Text = Field(min_length=1, max_length=2000,
                          description="e-mail address, URL, or the user part of the MQTT topic; "
                                      "a URL must not point at a loopback, private, link-local "
                                      "or reserved address unless the server's "
                                      "WATERBUDGET_WEBHOOK_ALLOW_NETWORKS allows it")
    min_severity: str = Field("notice", pattern="^(notice|warning|critical)$")
    include_descendants: bool = False
    language: str = Field("zh", pattern="^(zh|en)$")


@router.post("/subscriptions", status_code=201, summary="Reach a contact through a channel")
def subscribe(body: SubscriptionIn, conn: ConnDep, access: AccessDep,
              request: Request) -> dict[str, int]:
    row = conn.execute("SELECT node_id FROM budget_contacts WHERE contact_id = %s",
                       (body.contact_id,)).fetchone()
    if row is None:
        raise not_found("contact", body.contact_id)
    access.write(int(row[0]), what="contact", ref=body.contact_id)
    if body.channel in ("webhook", "wecom", "dingtalk"):
        policy = getattr(request.app.state, "webhook_destinations", None) or AddressPolicy()
        try:
            check_url(body.address.partition("#")[0], policy)
        except RefusedAddressError as exc:
            raise ApiError(status.HTTP_422_UNPROCESSABLE_CONTENT, "address_refused",
                           reason=exc.reason) from None
    if body.channel == "email" and "@" not in body.address:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "address: an e-mail address")
    if body.channel == "mqtt" and any(c in body.address for c in "+#/"):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "address: one topic level, without + # /")
    subscription_id = outbox.add_subscription(
        conn, contact_id=body.contact_id, channel=body.channel, address=body.address,
        min_severity=body.min_severity, include_descendants=body.include_descendants,
        language=body.language)
    return {"subscription_id": subscription_id}

"""SZY206-2016 terminals in the registry: frame address -> registry device. Pure code.

A frame carries its terminal's address, A1 (administrative division code, 6 BCD
digits) and A2 (terminal number), written ``"530381-00013"`` (see
``ingest.szy206_decode.device_id``). The registry's ``terminals`` list says which
device that terminal is, how it reports flow, and, on a canal gate, which of its
water-level points is above and which below the gate, and through which gateway
its frames arrive. See docs/registry.md.

Gateway binding: a terminal whose record names a ``gateway`` is accepted only in
frames published on that gateway's MQTT topic ``{prefix}/{gateway}/szy206``; a
terminal without one is reached only over the TCP listener. Any other way in is a
dead letter (``wrong_gateway``), so a device or gateway cannot store readings on a
terminal it does not carry by writing that terminal's address into a frame.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FLOW_UNITS = {"m3/s": 3600.0, "m3/h": 1.0}  # unit of the flow field -> m³/h per unit
LEVEL_ROLES = ("upstream", "downstream", "ignore")
DEFAULT_LEVELS = ("upstream", "downstream")
ADDRESS = re.compile(r"^\d{6}-\d{5}$")
CSV_COLUMNS = ("address", "device_id", "flow_unit", "levels", "gateway")
# a gateway ID is one MQTT topic level (its MQTT username): printable, no / + # and no
# "tcp:" (the TCP listener's connections are named so in dead letters' topics)
GATEWAY_ID = re.compile(r"^[^/+#\s\x00-\x1f\x7f]{1,64}$")
TCP_SOURCE = "tcp:"


class TerminalError(ValueError):
    """A terminal record that cannot be accepted; names the record at fault."""


@dataclass(frozen=True, slots=True)
class Terminal:
    address: str
    device_id: str
    flow_unit: str = "m3/s"
    levels: tuple[str, ...] = DEFAULT_LEVELS  # role of water-level point 1, 2, …
    gateway: str | None = None  # the gateway it is reached through; None: TCP listener only

    @property
    def flow_m3h_per_unit(self) -> float:
        return FLOW_UNITS[self.flow_unit]

    def device_for(self, point_id: str) -> str:
        """The decoder's point id (``address`` or ``address:k``) -> registry device.

        Point k ≥ 2 of a multi-point terminal is device ``"{device_id}:{k}"``.
        """
        _, sep, point = point_id.partition(":")
        return f"{self.device_id}:{point}" if sep else self.device_id

    def refusal(self, gateway: str | None) -> str | None:
        """Why a frame of this terminal arriving through ``gateway`` (None: over the TCP
        listener) is not accepted, or None when that is its registered way in."""
        if gateway == self.gateway:
            return None
        bound = (f"is reached through gateway {self.gateway!r}" if self.gateway is not None
                 else "has no gateway in the registry: it is accepted over the TCP "
                      "listener only")
        arrived = "over the TCP listener" if gateway is None else f"from gateway {gateway!r}"
        return f"SZY206 terminal {self.address} {bound}; frame received {arrived}"


def terminal_from(record: Mapping[str, Any], where: str) -> Terminal:
    address = str(record.get("address") or "").strip()
    if not ADDRESS.match(address) or int(address[7:]) > 65_535:
        raise TerminalError(f"{where}: address {address!r} is not A1-A2 like 530381-00013 "
                            f"(A2 at most 65535)")
    device_id = str(record.get("device_id") or "").strip()
    if not device_id:
        raise TerminalError(f"{where}: device_id is required")
    flow_unit = str(record.get("flow_unit") or "m3/s").strip()
    if flow_unit not in FLOW_UNITS:
        raise TerminalError(f"{where}: flow_unit must be one of {tuple(FLOW_UNITS)}")
    raw = record.get("levels")
    levels: tuple[str, ...]
    if raw is None or raw == "":
        levels = DEFAULT_LEVELS
    else:
        items = raw if isinstance(raw, list) else re.split(r"[\s,;]+", str(raw).strip())
        levels = tuple(str(item).strip() for item in items if str(item).strip())
    if any(role not in LEVEL_ROLES for role in levels) or \
            sum(role != "ignore" for role in levels) != len({r for r in levels if r != "ignore"}):
        raise TerminalError(f"{where}: levels must name each of {LEVEL_ROLES[:2]} at most once "
                            f"(or 'ignore'), got {levels}")
    return Terminal(address, device_id, flow_unit, levels, gateway_from(record, where))


def gateway_from(record: Mapping[str, Any], where: str) -> str | None:
    """The record's ``gateway`` (empty or absent: none), or TerminalError."""
    raw = record.get("gateway")
    if raw is None:
        return None
    gateway = str(raw).strip()
    if not gateway:
        return None
    if not GATEWAY_ID.match(gateway) or gateway.startswith(TCP_SOURCE):
        raise TerminalError(f"{where}: gateway {gateway!r} is not a gateway ID: the gateway's "
                            f"MQTT username, the middle level of its topic "
                            f"{{prefix}}/<gateway>/szy206 (at most 64 characters, no spaces, "
                            f"'/', '+' or '#', not starting with '{TCP_SOURCE}')")
    return gateway


def check_terminals(terminals: Iterable[Terminal], devices: set[str]) -> None:
    """Each terminal on a device of the registry (a device may have had several)."""
    for terminal in terminals:
        if terminal.device_id not in devices:
            raise TerminalError(f"terminal {terminal.address}: device {terminal.device_id} has "
                                f"no meter in the registry")

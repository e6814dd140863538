"""The icmplib adapter: the one module that imports icmplib.

ICMP echo without privileges where the system allows it (Linux `net.ipv4.ping_group_range` covering our
group), raw sockets otherwise (root or CAP_NET_RAW). Which one works is found out once and remembered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import icmplib
from icmplib.exceptions import ICMPLibError, NameLookupError, SocketPermissionError

from netmon.errors import DeviceProtocolError, DeviceUnreachable, FeatureUnavailable, library_message

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Echo:
    sent: int
    received: int
    rtt_avg_s: float | None


class IcmpProber:
    def __init__(self, *, count: int = 3, interval_s: float = 0.2, timeout_s: float = 1.0) -> None:
        self._count = count
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._privileged: bool | None = None  # unknown until the first probe

    @property
    def mode(self) -> str:
        return {None: "unknown", False: "unprivileged", True: "raw"}[self._privileged]

    async def echo(self, address: str) -> Echo:
        """Ping `address`; raises DeviceUnreachable when no reply came back."""
        for privileged in ([self._privileged] if self._privileged is not None else [False, True]):
            try:
                host = await icmplib.async_ping(address, count=self._count, interval=self._interval_s,
                                                timeout=self._timeout_s, privileged=privileged)
            except SocketPermissionError:
                continue
            except NameLookupError as exc:
                raise DeviceUnreachable(f"cannot resolve {address}: {library_message(exc)}") from exc
            except ICMPLibError as exc:
                raise DeviceProtocolError(f"ICMP error: {library_message(exc)}") from exc
            if self._privileged is None:
                self._privileged = privileged
                log.info("ping uses %s ICMP sockets", self.mode)
            if not host.is_alive:
                raise DeviceUnreachable(f"no echo reply to {host.packets_sent} ICMP requests")
            return Echo(host.packets_sent, host.packets_received, host.avg_rtt / 1000.0)
        raise FeatureUnavailable("ICMP needs root, CAP_NET_RAW, or net.ipv4.ping_group_range for our group")

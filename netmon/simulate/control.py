"""Commands that drive running simulators (the stdin of `netmon simulate ...`): a device fails and comes back.

`stop ID` closes the device's socket (connections refused / datagrams unanswered), `start ID` serves it
again on the same port, `fault ID MODE` switches its fault mode (`netmon.simulate.fault`), `list` names
the devices. An ID simulated on both sides (a gateway served over SNMP and the RouterOS API) is changed
on both. A bad command raises `ValueError` with a one-line message; nothing is changed then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from netmon.simulate.fault import parse_fault
from netmon.simulate.routeros.server import RouterOsSimulator
from netmon.simulate.snmp_agent import SnmpSimulator

USAGE = "commands: stop ID | start ID | fault ID MODE | list"
_ARGS = {"stop": 1, "start": 1, "fault": 2, "list": 0}


class SimulatorControl:
    def __init__(self, snmp: SnmpSimulator | None, snmp_ids: Sequence[str], api: RouterOsSimulator | None,
                 api_ids: Sequence[str]) -> None:
        self._snmp, self._api = snmp, api
        self._snmp_ids, self._api_ids = set(snmp_ids) if snmp else set(), set(api_ids) if api else set()

    async def handle(self, line: str) -> str:
        """Carry out one command line; returns what to tell the user, or raises ValueError."""
        words = line.split()
        if not words:
            return ""
        verb, args = words[0], words[1:]
        if _ARGS.get(verb) != len(args):
            raise ValueError(f"bad command {line.strip()!r} ({USAGE})")
        if verb == "list":
            return " ".join(sorted(self._snmp_ids | self._api_ids))
        target = args[0]
        if target not in self._snmp_ids | self._api_ids:
            raise ValueError(f"unknown device {target!r} (`list` names them)")
        if verb == "fault":
            fault = parse_fault(args[1]).value  # checked before anything changes
            if target in self._snmp_ids and self._snmp is not None:
                self._snmp.set_fault(target, fault)
            if target in self._api_ids and self._api is not None:
                self._api.set_fault(target, fault)
        else:
            for action in self._actions(verb, target):
                await action(target)
        return f"{' '.join(words)}: done"

    def _actions(self, verb: str, target: str) -> list[Callable[[str], Awaitable[None]]]:
        actions: list[Callable[[str], Awaitable[None]]] = []
        if target in self._snmp_ids and self._snmp is not None:
            actions.append(self._snmp.stop_device if verb == "stop" else self._snmp.start_device)
        if target in self._api_ids and self._api is not None:
            actions.append(self._api.stop_router if verb == "stop" else self._api.start_router)
        return actions

"""`ResultPipeline`: the one road of a `PollResult`, from the schedulers (and SNMP worker processes) to every
part that consumes it.

The result is screened first (implausible samples stop there, netmon.rejection), then handed, in the order the
composition root lists them, to each consumer: a function taking the result. The daemon's consumers, in order:
latest results (what the exporter's snapshot reads), the device's /metrics text (re-rendered from the latest
results, netmon.exposition.DeviceTexts), the daily unique-client counter, storage's hourly rollups,
the state keeper (state changes, outages, reboots: stored, published, and handed to the alerts) and the alert
feed (metric rules, unknown equipment). A consumer never hands the result back: each gets what it needs from
the result and from the functions it was built with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from netmon.model import Device, PollResult

Consumer = Callable[[PollResult], object]  # what it returns is ignored


class ResultPipeline:
    def __init__(self, screen: Callable[[PollResult], PollResult], consumers: Sequence[Consumer]) -> None:
        self._screen = screen
        self._consumers = tuple(consumers)

    def __call__(self, result: PollResult) -> None:
        result = self._screen(result)
        for consume in self._consumers:
            consume(result)


def client_counter(add: Callable[[str, Iterable[str]], None], devices: Mapping[str, Device]) -> Consumer:
    """The consumer that counts a result's client fingerprints for its device's site (netmon.privacy's `add`)."""

    def count(result: PollResult) -> None:
        device = devices.get(result.device)
        if result.fingerprints and device is not None:
            add(device.site, result.fingerprints)

    return count

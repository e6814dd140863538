"""What the daemon's state -> alerts path costs the main process at N devices, through a failure storm: the
real `NetmonApp` (as `netmon run` builds it from benchmarks.daemon_config's config, storage not opened) fed
poll results in simulated time, one cycle per 60 s interval. Every 1 s of simulated time the pending
hand-over of the states to the alerts runs (the daemon's at most once a second), every 5 s the time edges
(`StateKeeper.tick`, `AlertFeed.tick`). Two warm cycles bring the fleet UP; then 1 device in FAIL_EVERY stops
answering for 4 cycles and comes back. Prints the CPU per hand-over and per tick, per cycle, and the CPU of
the whole run (results included), against a baseline in the same run that judges the whole fleet on every
hand-over and tick (each device's verdict and every standing alert, every device's time edge, every outage
re-derived: what the code did before it judged what changed; docs/performance.md).

    python -m benchmarks.state_alerts [--devices 30000] [--fail-every 20]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

from alerts.availability import StandingVerdicts
from alerts.engine import AlertOutput
from benchmarks.daemon_config import Peers, Tolerances, device_id, write_config
from benchmarks.report import quantile, table
from netmon.app import NetmonApp
from netmon.config.loader import load_config
from netmon.errors import DeviceUnreachable
from netmon.model import DeviceState, Outage, PollResult, Source, StateChange

T0 = 1_800_000_000.0
INTERVAL_S = 60.0


def judging_everything(app: NetmonApp) -> None:
    """The baseline: every hand-over judges every device and site and steps every standing verdict, every tick
    judges every device's time edge, every re-derivation takes every device."""
    engine, keeper = app.alerts.engine, app.state
    tracker = keeper.availability
    observe, tick = engine.observe_state, tracker.tick

    def observe_whole(states: Mapping[str, DeviceState], outages: Sequence[Outage], at: float,
                      delays: Mapping[str, float] | None = None) -> AlertOutput:
        engine._judge = StandingVerdicts(engine._devices, engine._sites)
        return observe(states, outages, at, delays)

    def tick_whole(at: float, only: Iterable[str] | None = None) -> list[StateChange]:
        tracker._timed = set(tracker._tracks) if only is None else {d for d in only if d in tracker._tracks}
        return tick(at, only)

    def due_whole() -> Collection[str] | None:
        keeper._touched = set()
        return keeper._office

    engine.observe_state = observe_whole  # type: ignore[method-assign]
    tracker.tick = tick_whole  # type: ignore[method-assign]
    keeper._office_due = due_whole  # type: ignore[method-assign]


def run(work: Path, devices: int, fail_every: int, baseline: bool) -> list[tuple[str, list[float], list[float]]]:
    config = load_config(write_config(work, devices, INTERVAL_S, Peers(1161, 9999, 2525, 1883, f"sqlite:///{work}/n.db"),
                                      Tolerances(2, 120.0, 60.0)))
    app = NetmonApp(config)
    keeper = app.state
    if baseline:
        judging_everything(app)

    def pending(at: float, agent: str | None = None) -> None:  # the loop's debounce, in simulated time
        keeper._outages_at = max(at, keeper._outages_at)
        keeper._office_pending = True

    keeper._outages_changed = pending  # type: ignore[method-assign]
    rows = []
    for cycle in range(8):
        down = 2 <= cycle < 6
        handovers: list[float] = []
        ticks: list[float] = []
        base = T0 + cycle * INTERVAL_S
        next_second = next_tick = base
        for i in range(devices):
            at = base + i * INTERVAL_S / devices
            if at >= next_second:
                next_second += 1.0
                if keeper._office_pending:
                    began = time.thread_time()
                    keeper._hand_over()
                    handovers.append(time.thread_time() - began)
            if at >= next_tick:
                next_tick += 5.0
                began = time.thread_time()
                keeper.tick(at)
                app.alerts.tick(at)
                ticks.append(time.thread_time() - began)
            error = DeviceUnreachable("no answer") if down and i % fail_every == 0 else None
            app.on_result(PollResult(device_id(i), Source.SNMP, at, 0.01, error=error))
        phase = "warm" if cycle < 2 else "failing" if cycle < 6 else "back"
        rows.append((f"{cycle} ({phase})", handovers, ticks))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=30_000)
    parser.add_argument("--fail-every", type=int, default=20)
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)
    totals = {}
    for name, baseline in (("judging what changed", False), ("judging the whole fleet (baseline)", True)):
        with tempfile.TemporaryDirectory(prefix="netmon-bench-") as tmp:
            began = time.process_time()
            rows = run(Path(tmp), args.devices, args.fail_every, baseline)
            totals[name] = time.process_time() - began
        print(table(f"{name}, {args.devices} devices, 1 in {args.fail_every} failing in cycles 2-5 (CPU ms)",
                    ["cycle", "hand-overs", "p50", "p99", "max", "ticks", "p50", "p99"],
                    [(label, len(h), _ms(quantile(h, 0.5)), _ms(quantile(h, 0.99)), _ms(max(h, default=0.0)),
                      len(t), _ms(quantile(t, 0.5)), _ms(quantile(t, 0.99))) for label, h, t in rows]))
        print(f"whole run (8 cycles, results included): {totals[name]:.1f} s of CPU\n", flush=True)
    fast, whole = totals.values()
    print(f"ratio: the baseline costs {whole / fast:.1f}x")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


if __name__ == "__main__":
    main()

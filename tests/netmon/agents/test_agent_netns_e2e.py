"""Issue #14's "Done when", with real parts: the simulated demo devices and a real `netmon agent` in a network
namespace behind a NAT'd CPE namespace (tests/netns_peer.py: the office's host has no route into it; the
broker sees only the CPE's address), a real Mosquitto on the host, and the real office daemon (`netmon run`)
with the agent's sites under `agents:`.

The uplink is cut (every forwarded packet dropped in the CPE) while an access point fails and recovers; during
the cut the agent is killed with SIGKILL and started again; when the uplink is back the broker is killed with
SIGKILL as the backlog starts to arrive, and started again. Afterwards the office's history has the AP's
outage with its real times (within the poll interval), every seq of the agent ingested once (the rollups
count each poll once), one `agent_silent` per site and no device or site alert.

Time is compressed honestly: 5 s poll intervals (the shortest a config allows) and short thresholds in the
configs; real processes and clocks. Waits are for conditions, bounded only by the hang guard. Mosquitto saves
its persistence on every change here (`autosave_on_changes`), as docs/agents-office.md recommends for a broker
that may be killed.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from agent_peer import Mosquitto, agent_section, site_config
from netns_peer import NattedSite
from peers import HANG_GUARD_S, NETMON, REPO, command, fetch, free_tcp_port, simulated_demo, stop_process

from netmon import wire
from netmon.config import load_config
from netmon.storage import Store, database_url

pytestmark = pytest.mark.integration

AGENT = "kec-baturraden-1"
AP = "kim-karangmangu-ap"
INTERVAL_S = 5.0  # the shortest interval a config may set
T = TypeVar("T")


RUNNING: list[tuple[str, subprocess.Popen[Any]]] = []  # (name, process) that must not have exited


def until(read: Callable[[], T], ok: Callable[[T], bool], what: str) -> T:
    deadline = time.monotonic() + HANG_GUARD_S  # stops a hung test only
    while True:
        value = read()
        if ok(value):
            return value
        for name, proc in RUNNING:
            assert proc.poll() is None, f"{name} exited ({proc.returncode}) while waiting for {what}"
        assert time.monotonic() < deadline, f"hang guard: still waiting for {what}"
        time.sleep(0.2)


def metrics(port: int) -> dict[str, float]:
    status, text = fetch(f"http://127.0.0.1:{port}/metrics")
    if status != 200:
        return {}
    out = {}
    for line in text.splitlines():
        if match := re.match(r"^([a-z_]+(?:\{[^}]*\})?) ([-+0-9.eEinfa]+)$", line):
            out[match[1]] = float(match[2])
    return out


def agent_metric(values: dict[str, float], name: str) -> float:
    return values.get(f'{name}{{agent="{AGENT}"}}', -1.0)


def outbox(path: Path) -> tuple[int, list[tuple[int, bytes]]]:
    """(last seq assigned, the results kept) of the agent's outbox, read beside the agent."""
    if not path.exists():
        return 0, []
    with sqlite3.connect(path, timeout=10) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
        kept = [(int(s), bytes(p)) for s, p in db.execute("SELECT seq, payload FROM outbox ORDER BY seq")]
    return (int(row[0]) if row else 0), kept


def ap_results(path: Path) -> list[tuple[float, bool]]:
    """(poll time, answered) of the AP's results waiting in the outbox."""
    out = []
    for _seq, payload in outbox(path)[1]:
        _agent, _s, result = wire.decode(payload)
        if result.device == AP:
            out.append((result.started_at, result.error is None))
    return out


@pytest.fixture
def site() -> Iterator[NattedSite]:
    natted = NattedSite()
    natted.up()  # skips loudly (fails under CI=true) where namespaces cannot be built
    try:
        yield natted
    finally:
        natted.down()


def configs(demo: Path, work: Path, site: NattedSite, broker: Mosquitto) -> tuple[Path, Path, Path]:
    """(office config, site config, the agent's outbox file)."""
    box = work / "agent" / "outbox.sqlite"
    agent = agent_section(AGENT, broker.port, box)
    agent["broker"].update(host=site.host_addr, keepalive_s=5, timeout_s=3)
    site_file = site_config(demo, work / "site.yaml", agent)
    doc: dict[str, Any] = yaml.safe_load(demo.read_text())
    doc.pop("alerts", None)  # incidents are stored whatever the channels; none are needed here
    doc["agents"] = {"broker": {"host": site.host_addr, "port": broker.port, "client_id": f"office-{site.tag}",
                                "keepalive_s": 5},
                     "silent_after_s": 6, "late_after_s": 6,
                     "list": [{"id": AGENT, "sites": [s["id"] for s in doc["sites"]]}]}
    office = work / "office.yaml"
    office.write_text(yaml.safe_dump(doc, sort_keys=False))
    return office, site_file, box


def tune(doc: dict[str, Any]) -> None:
    doc["state"] = {"down_after_failures": 2, "down_after_s": 5, "up_after_successes": 1}


def test_a_natted_site_agent_rides_out_a_cut_with_kills_and_the_office_history_is_whole(
        site: NattedSite, tmp_path: Path) -> None:
    assert not site.host_routes_into_site(), "the host must have no route into the site namespace"
    broker = Mosquitto(tmp_path / "broker", listen=site.host_addr,
                       extra=("autosave_interval 1", "autosave_on_changes true"))
    broker.start()
    procs: list[subprocess.Popen[Any]] = []

    def start_agent(site_file: Path) -> subprocess.Popen[Any]:
        proc = subprocess.Popen([*site.exec(), *NETMON, "agent", "--config", str(site_file)], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=(tmp_path / "agent.log").open("a"))
        procs.append(proc)
        RUNNING[:] = [(n, p) for n, p in RUNNING if n != "agent"] + [("agent", proc)]
        return proc

    try:
        with simulated_demo(tmp_path, interval_s=INTERVAL_S, extra=tune, wrap=site.exec()) as (demo, sim):
            office_file, site_file, box = configs(demo, tmp_path, site, broker)
            devices = set(load_config(office_file).devices)
            port = free_tcp_port()
            office = subprocess.Popen([*NETMON, "run", "--config", str(office_file), "--port", str(port)], cwd=REPO,
                                      stdout=subprocess.DEVNULL, stderr=(tmp_path / "office.log").open("w"))
            procs.append(office)
            RUNNING[:] = [("office", office)]
            agent = start_agent(site_file)

            # the office sees every device, through the agent only
            until(lambda: metrics(port), lambda m: all(m.get(f'netmon_device_up{{device="{d}",site="{s}",'
                                                               f'source="{src}"}}', 0) == 1
                                                        for d, s, src in _up_series(m, devices)) and
                  len(_up_series(m, devices)) >= len(devices), "every device up at the office")
            log = (tmp_path / "broker" / "mosquitto.log").read_text()
            assert f"from {site.cpe_addr}" in log and site.site_addr not in log  # it came through the NAT

            # the uplink goes; the AP fails and recovers while nobody can see it
            site.cut()
            cut_at = time.time()
            command(sim, f"stop {AP}")
            failed_at = time.time()
            until(lambda: metrics(port), lambda m: agent_metric(m, "netmon_agent_silent") == 1, "agent silent")
            until(lambda: ap_results(box), lambda r: sum(1 for at, ok in r if at > failed_at + INTERVAL_S
                                                         and not ok) >= 2, "the AP's failed polls")
            RUNNING[:] = [("office", office)]
            agent.send_signal(signal.SIGKILL)  # mid-backlog: what is in the outbox must survive
            agent.wait(10)
            agent = start_agent(site_file)
            until(lambda: ap_results(box), lambda r: sum(1 for at, ok in r if at > failed_at + 4 * INTERVAL_S
                                                         and not ok) >= 1, "more failed polls after the kill")
            command(sim, f"start {AP}")
            back_at = time.time()
            until(lambda: ap_results(box), lambda r: any(ok and at > back_at for at, ok in r), "the AP back")
            backlog = outbox(box)[0]
            assert backlog > 0

            # the uplink is back: the broker dies as the backlog starts to arrive, and comes back
            before = agent_metric(metrics(port), "netmon_agent_last_seq")
            site.mend()
            until(lambda: metrics(port), lambda m: agent_metric(m, "netmon_agent_last_seq") > before,
                  "the backlog starting to arrive")
            broker.stop(signal.SIGKILL)
            broker.start()
            until(lambda: (metrics(port), outbox(box)[0]),
                  lambda mb: agent_metric(mb[0], "netmon_agent_last_seq") >= max(backlog, mb[1] - 3),
                  "the office caught up")
            until(lambda: metrics(port), lambda m: agent_metric(m, "netmon_agent_silent") == 0, "agent heard")
            RUNNING[:] = [("office", office)]
            stopped_at = time.time()  # a clean stop says `online: false`: the sites' agent_silent again, rightly
            stop_process(agent)
            last, kept = outbox(box)
            final = until(lambda: metrics(port), lambda m: agent_metric(m, "netmon_agent_last_seq") + len(kept)
                          >= last, "every sent result at the office")
            mark = int(agent_metric(final, "netmon_agent_last_seq"))
            assert agent_metric(final, "netmon_agent_results_ingested_total") == mark  # each seq once, no gap
            assert agent_metric(final, "netmon_agent_gaps_total") == 0
            # the rest waits in the outbox, oldest first and without a gap; a clean stop in the middle of a batch may
            # leave results the office already has (sent, PUBACK not yet committed): sent again with the same seq
            # at the next start, ingested once (netmon/agent/outbox.py)
            waiting = [s for s, _p in kept]
            assert waiting == list(range(waiting[0], last + 1)) if waiting else mark >= last, (waiting, mark, last)
            RUNNING.clear()
            stop_process(office)  # a clean stop writes the rollups of the current hour
            assert office.returncode == 0, (tmp_path / "office.log").read_text()[-2000:]
    finally:
        RUNNING.clear()
        for proc in procs:
            stop_process(proc)
        broker.stop()

    store = Store.open(database_url(load_config(office_file).storage))
    try:
        polls = sum(r.polls_ok + r.polls_failed for r in store.rollups() if r.device in devices)
        outages = [o for o in store.outages() if o.device == AP and o.cause.value == "device"]
        incidents = store.incidents()
        ingested = max(p.last_seq for p in store.agent_progress() if p.agent == AGENT)
    finally:
        store.close()
    # results the broker delivered after `mark` was read may still have arrived before the office stopped
    assert mark <= ingested <= last and (not waiting or waiting[0] <= ingested + 1), (mark, ingested, waiting)
    assert polls == ingested  # every result of the agent counted once in the history
    assert len(outages) == 1, outages
    outage = outages[0]
    assert failed_at - INTERVAL_S <= outage.started_at <= failed_at + 2 * INTERVAL_S + 1, (outage, failed_at)
    assert outage.ended_at is not None and back_at - 1 <= outage.ended_at <= back_at + 2 * INTERVAL_S + 1
    assert outage.started_at > cut_at - INTERVAL_S
    silent = [i for i in incidents if i.rule == "agent_silent" and (i.detected_at or i.opened_at) < stopped_at]
    assert sorted(i.site or "" for i in silent) == sorted({load_config(office_file).devices[d].site
                                                          for d in devices})  # once per site
    assert [i for i in incidents if i.rule != "agent_silent"] == []  # no device or site alerts


def _up_series(values: dict[str, float], devices: set[str]) -> list[tuple[str, str, str]]:
    out = []
    for key in values:
        match = re.match(r'^netmon_device_up\{device="([^"]+)",site="([^"]+)",source="([^"]+)"\}$', key)
        if match and match[1] in devices:
            out.append((match[1], match[2], match[3]))
    return out

"""The Grafana dashboards in deploy/ against a real Prometheus scraping real netmon daemons (the simulated demo).

Grafana itself is not run: what can break in a dashboard that ships as JSON is its PromQL, and Prometheus
is the judge of that. Prometheus (the Debian package's server) scrapes the deployments of the shipped
deploy/prometheus/prometheus.yml: `kab-banyumas`, one daemon polling the 8 demo devices, and
`kab-purbalingga`, two nodes (two daemons, one `deployment` label) that split the same 8 devices between
them and both poll three of them, as during a hand-over. Every panel query and every variable query is
evaluated with the variables filled in as Grafana would ("All" = `.*`), for each deployment and for all of
them; the core panels must return data, no query may return a series per node where it means a device, and
the device counts must count each (deployment, device) once: 8 + 8, never the 19 series the daemons export.
After a demo device is stopped the "devices down" panel must count it once per deployment and the problems
table must list it so. The provisioning files must parse and agree with the dashboards."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml
from peers import HANG_GUARD_S, NETMON, REPO, free_tcp_port, simulated_demo, stop_process
from prometheus_peer import Prometheus, running_prometheus, scrape_config

from netmon.exporter import CATALOGUE, PROCESS_GAUGES

DEPLOY = REPO / "deploy"
BOARDS = {p.stem: json.loads(p.read_text()) for p in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))}
SHIPPED = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
SINGLE, NODES = (group["labels"]["deployment"] for group in SHIPPED["scrape_configs"][0]["static_configs"])
STOPPED = "kim-kotayasa-ap"
ROUTER = "kim-karangmangu-router"
BOTH_NODES = (STOPPED, ROUTER)  # exported by both nodes of NODES: a device moving from one node to the other
RATE = "20s"  # $__rate_interval: Prometheus scrapes every second here
ALL = ".*"
PER_NODE = {"netmon-overview: Polling", "netmon-overview: Antrean basis data / Storage queue",
            "netmon-overview: Pengiriman / Outboxes"}  # netmon's own figures: one series per node, by design


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel in panels(board):
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def fill(expr: str, device: str = ROUTER, deployment: str = SINGLE) -> str:
    """Grafana's substitution for these dashboards: All (`.*`) for kecamatan and site, one device, and
    one deployment (the single daemon's unless told)."""
    return (expr.replace("$__rate_interval", RATE).replace("$kecamatan", ALL).replace("$site", ALL)
            .replace("$device", device).replace("$deployment", deployment))


def panel_expr(board: str, title: str) -> str:
    (target, *_rest) = next(p for p in panels(BOARDS[board]) if p["title"] == title)["targets"]
    return str(target["expr"])


def with_parents(share: set[str], parents: dict[str, str]) -> set[str]:
    """A node polls the parent of each of its devices too (a config names only devices it has)."""
    while missing := {parents[i] for i in share if i in parents} - share:
        share |= missing
    return share


def node_configs(config: Path) -> list[Path]:
    """The demo config for each scraped daemon: SINGLE's daemon polls every device; NODES' two nodes split
    them, both polling BOTH_NODES (and their parents). Each has its own data directory (they would share
    PostgreSQL)."""
    doc = yaml.safe_load(config.read_text())
    ids = [device["id"] for device in doc["devices"]]
    parents = {device["id"]: device["parent"] for device in doc["devices"] if device.get("parent")}
    half = len(ids) // 2
    shares = [set(ids), *(with_parents(set(part) | set(BOTH_NODES), parents) for part in (ids[:half], ids[half:]))]
    paths = []
    for n, share in enumerate(shares):
        node = {**doc, "devices": [d for d in doc["devices"] if d["id"] in share],
                "storage": {"data_dir": str(config.parent / f"data-{n}")}}
        path = config.with_name(f"node-{n}.yaml")  # beside the demo config: its secret files are relative
        path.write_text(yaml.safe_dump(node, sort_keys=False))
        paths.append(path)
    return paths


def scrape_shipped(ports: list[int]) -> dict[str, Any]:
    """The shipped prometheus.yml with its targets replaced by the daemons' ports, in order."""
    shipped = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    groups = shipped["scrape_configs"][0]["static_configs"]
    addresses = iter(f"127.0.0.1:{port}" for port in ports)
    targets = [[next(addresses) for _target in group["targets"]] for group in groups]
    assert next(addresses, None) is None
    for group, addressed in zip(groups, targets, strict=True):
        group["targets"] = addressed
    return scrape_config(targets[0], shipped)  # scraping every second


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prometheus, subprocess.Popen[str]]]:
    work = tmp_path_factory.mktemp("grafana")
    with simulated_demo(work) as (config, sim), ExitStack() as running:
        ports, nodes, daemons = [], node_configs(config), []
        exported = sum(len(yaml.safe_load(node.read_text())["devices"]) for node in nodes)  # 8 + 6 + 5
        for node in nodes:
            ports.append(free_tcp_port())
            daemons.append(subprocess.Popen([*NETMON, "run", "--config", str(node), "--port", str(ports[-1])],
                                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True))
            running.callback(stop_process, daemons[-1])
        with running_prometheus(work, scrape_shipped(ports)) as prom:
            wait(prom, daemons, f'count(netmon_device_state{{state="up"}} == 1) == {exported}',
                 "every demo device up on every daemon polling it")
            # enough scrapes for rate() (not a fixed sleep: a loaded machine scrapes late)
            wait(prom, daemons, f'count(count by (instance) (rate(netmon_interface_receive_bytes_total'
                 f'{{device="{ROUTER}"}}[{RATE}]))) == 3', "two scrapes of the router's counters on each daemon")
            yield prom, sim


def wait(prom: Prometheus, daemons: list[subprocess.Popen[str]], expr: str, what: str) -> None:
    """`prom.wait`, failing at once when a daemon has exited (a config it refused) instead of at the hang guard."""
    deadline = time.monotonic() + HANG_GUARD_S
    while not prom.query(expr):
        assert all(d.poll() is None for d in daemons), f"a netmon daemon exited: {[d.returncode for d in daemons]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {expr}"
        time.sleep(0.5)


def test_dashboards_and_provisioning_agree() -> None:
    assert set(BOARDS) == {"netmon-overview", "netmon-device"}
    datasources = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "netmon.yaml").read_text())
    providers = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "netmon.yaml").read_text())
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus" and providers["providers"][0]["type"] == "file"
    for name, board in BOARDS.items():
        assert board["uid"] == name  # the dashboards link to each other by uid
        variable = next(v for v in board["templating"]["list"] if v["name"] == "datasource")
        assert variable["current"]["value"] == source["uid"]
        ids = [p["id"] for p in panels(board)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        for panel in panels(board):
            assert panel["type"] == "row" or panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_every_query_names_only_metrics_netmon_exports() -> None:
    for board in BOARDS.values():
        texts = [expr for _title, expr in queries(board)]
        texts += [v["definition"] for v in board["templating"]["list"] if v["type"] == "query"]
        for text in texts:
            for metric in re.findall(r"\bnetmon_[a-z_]+", text):
                assert metric in CATALOGUE | PROCESS_GAUGES, f"{metric} in {text!r} is not exported by netmon"
        for _title, expr in queries(board):  # each selector picks the chosen deployments; joins keep them apart
            selectors = re.findall(r"\bnetmon_[a-z_]+(\{[^,}]*)?", expr)
            assert all(s == '{deployment=~"$deployment"' for s in selectors), expr
            assert all(on.startswith("deployment, ") for on in re.findall(r"\bon\(([^)]*)\)", expr)), expr


def test_every_panel_query_is_valid_promql_and_the_core_panels_have_data(
        stack: tuple[Prometheus, subprocess.Popen[str]]) -> None:
    prom, _sim = stack
    empty: list[str] = []
    for deployment in (SINGLE, NODES, ALL):
        for name, board in BOARDS.items():
            for title, expr in queries(board):
                result = prom.query(fill(expr, deployment=deployment))
                if not result:
                    empty.append(f"{name}: {title}")
                shown = {r["metric"].get("deployment") for r in result} - {None}
                assert deployment == ALL or shown <= {deployment}, f"{name}: {title} shows {shown}"
                # a series per node where the panel means a device: the device counted (or drawn) twice
                assert f"{name}: {title}" in PER_NODE or not any("instance" in r["metric"] for r in result), (
                    f"{name}: {title}: {expr}")
    # data the demo always has; the rest (down devices, outages, ping, errors, reboots, ...) may be empty now
    must_have = {
        "netmon-overview: Perangkat normal / Up", "netmon-overview: Klien wifi sekarang / Wifi clients now",
        "netmon-overview: Klien wifi per situs / Wifi clients per site",
        "netmon-overview: Pengguna hotspot per situs / Hotspot users per site",
        "netmon-overview: Lease DHCP per situs / DHCP leases per site",
        "netmon-overview: Antarmuka tersibuk / Busiest interfaces (receive)",
        "netmon-overview: Status perangkat / Device states", "netmon-overview: Suhu / Temperature",
        "netmon-overview: Polling", "netmon-device: Identitas / Identity", "netmon-device: Status",
        "netmon-device: Uptime", "netmon-device: Terima / Receive", "netmon-device: Klien wifi / Wifi clients",
        "netmon-device: Hotspot dan DHCP", "netmon-device: CPU dan memori / CPU and memory",
    }
    assert not must_have & set(empty), sorted(must_have & set(empty))


def test_each_device_counts_once_per_deployment(stack: tuple[Prometheus, subprocess.Popen[str]]) -> None:
    prom, _sim = stack
    (series,) = prom.query('count(netmon_device_state{state="up"} == 1)')
    assert int(series["value"][1]) > 16  # what the daemons export: 8 + 6 + 5, three devices on both nodes
    up = panel_expr("netmon-overview", "Perangkat normal / Up")
    states = panel_expr("netmon-overview", "Status perangkat / Device states")
    for deployment, devices in ((SINGLE, 8), (NODES, 8), (ALL, 16)):  # the same 8 ids are 2 x 8 devices
        (count,) = prom.query(fill(up, deployment=deployment))
        assert count["value"][1] == str(devices), deployment
        by_state = {r["metric"]["state"]: r["value"][1] for r in prom.query(fill(states, deployment=deployment))}
        assert by_state == {"up": str(devices)}, deployment
    # each node's table row for a device both export: one row per (deployment, device) on the device board
    identity = prom.query(fill(panel_expr("netmon-device", "Identitas / Identity"), device=STOPPED, deployment=ALL))
    assert sorted(r["metric"]["deployment"] for r in identity) == sorted([SINGLE, NODES])
    sources = prom.query(fill(panel_expr("netmon-device", "Sumber OK / Sources up"), device=ROUTER, deployment=NODES))
    assert [(r["metric"]["deployment"], r["value"][1]) for r in sources] == [(NODES, "2")]  # snmp + routeros


def test_variable_queries_list_the_deployments_sites_and_devices(
        stack: tuple[Prometheus, subprocess.Popen[str]]) -> None:
    prom, _sim = stack
    for deployment in (SINGLE, NODES, ALL):
        found: dict[str, set[str]] = {}
        for board in BOARDS.values():
            assert [v["name"] for v in board["templating"]["list"]][:2] == ["datasource", "deployment"]
            for variable in board["templating"]["list"]:
                if variable["type"] != "query":
                    continue
                match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["definition"])
                assert match, variable["definition"]
                selector, label = fill(match.group(1), deployment=deployment), match.group(2)
                found[variable["name"]] = {r["metric"][label] for r in prom.query(f"count by ({label}) ({selector})")}
        assert found["deployment"] == {SINGLE, NODES}
        assert found["kecamatan"] == {"Baturraden", "Sumbang"}
        assert found["site"] == {"kim-karangmangu", "kim-ketenger", "kim-kotayasa"}
        assert len(found["device"]) == 8 and ROUTER in found["device"]  # 6 SNMP devices + 2 API-only routers


def test_a_stopped_device_shows_in_the_down_count_and_the_problems_table(
        stack: tuple[Prometheus, subprocess.Popen[str]]) -> None:
    prom, sim = stack
    down = panel_expr("netmon-overview", "Perangkat mati / Devices down")
    problems = panel_expr("netmon-overview", "Perangkat bermasalah / Devices with problems")
    assert prom.query(fill(down, deployment=ALL)) == []  # nothing down yet: the stat shows its noValue, 0
    assert sim.stdin is not None
    sim.stdin.write(f"stop {STOPPED}\n")
    sim.stdin.flush()
    try:  # three daemons see it down: SINGLE's and both of NODES' nodes
        prom.wait(f'count(netmon_device_state{{device="{STOPPED}",state="down"}} == 1) == 3', f"{STOPPED} down")
        for deployment, count in ((SINGLE, "1"), (NODES, "1"), (ALL, "2")):
            assert [r["value"][1] for r in prom.query(fill(down, deployment=deployment))] == [count], deployment
        rows = prom.query(fill(problems, deployment=ALL))
        assert sorted((r["metric"]["deployment"], r["metric"]["device"], r["metric"]["site"], r["metric"]["state"])
                      for r in rows) == [(d, STOPPED, "kim-kotayasa", "down") for d in sorted([SINGLE, NODES])]
        rows = prom.query(fill(problems, deployment=NODES))
        assert [(r["metric"]["deployment"], r["metric"]["device"]) for r in rows] == [(NODES, STOPPED)]
        kecamatan = fill(down, deployment=ALL).replace(
            'site=~".*"', 'site=~"kim-karangmangu|kim-ketenger"')  # only the Baturraden sites selected
        assert prom.query(kecamatan) == []
    finally:
        sim.stdin.write(f"start {STOPPED}\n")
        sim.stdin.flush()

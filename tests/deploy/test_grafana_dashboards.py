"""The Grafana dashboards in deploy/ against a real Prometheus scraping a real netmon (the simulated demo).

Grafana itself is not run: what can break in a dashboard that ships as JSON is its PromQL, and Prometheus
is the judge of that. Every panel query and every variable query is evaluated by Prometheus (the Debian
package's server) with the dashboard variables filled in as Grafana would ("All" = `.*`); the core panels
must return data, and after a demo device is stopped the "devices down" panel must count it and the
problems table must list it. The provisioning files must parse and agree with the dashboards."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from peers import NETMON, REPO, free_tcp_port, simulated_demo, stop_process
from prometheus_peer import Prometheus, running_prometheus, scrape_config

from netmon.exporter import CATALOGUE, PROCESS_GAUGES

DEPLOY = REPO / "deploy"
BOARDS = {p.stem: json.loads(p.read_text()) for p in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))}
STOPPED = "kim-kotayasa-ap"
ROUTER = "kim-karangmangu-router"
RATE = "20s"  # $__rate_interval: Prometheus scrapes every second here


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel in panels(board):
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def fill(expr: str, device: str = ROUTER) -> str:
    """Grafana's substitution for these dashboards: All (`.*`) for kecamatan and site, one device."""
    return (expr.replace("$__rate_interval", RATE).replace("$kecamatan", ".*").replace("$site", ".*")
            .replace("$device", device))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prometheus, subprocess.Popen[str]]]:
    work = tmp_path_factory.mktemp("grafana")
    with simulated_demo(work) as (config, sim):
        netmon_port = free_tcp_port()
        daemon = subprocess.Popen([*NETMON, "run", "--config", str(config), "--port", str(netmon_port)], cwd=REPO,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        shipped = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())  # the shipped config
        try:
            with running_prometheus(work, scrape_config([f"127.0.0.1:{netmon_port}"], shipped)) as prom:
                prom.wait('count(netmon_device_up == 1) == 11', "every demo device and source up")
                # enough scrapes for rate() (not a fixed sleep: a loaded machine scrapes late)
                prom.wait(fill(f'rate(netmon_interface_receive_bytes_total{{device="{ROUTER}"}}[{RATE}])'),
                          "two scrapes of the router's counters, for rate()")
                yield prom, sim
        finally:
            stop_process(daemon)


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


def test_every_panel_query_is_valid_promql_and_the_core_panels_have_data(
        stack: tuple[Prometheus, subprocess.Popen[str]]) -> None:
    prom, _sim = stack
    empty: list[str] = []
    for name, board in BOARDS.items():
        for title, expr in queries(board):
            if not prom.query(fill(expr)):
                empty.append(f"{name}: {title}")
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


def test_variable_queries_list_the_demo_sites_and_devices(stack: tuple[Prometheus, subprocess.Popen[str]]) -> None:
    prom, _sim = stack
    found: dict[str, set[str]] = {}
    for board in BOARDS.values():
        for variable in board["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["definition"])
            assert match, variable["definition"]
            selector, label = fill(match.group(1)), match.group(2)
            found[variable["name"]] = {r["metric"][label] for r in prom.query(f"count by ({label}) ({selector})")}
    assert found["kecamatan"] == {"Baturraden", "Sumbang"}
    assert found["site"] == {"kim-karangmangu", "kim-ketenger", "kim-kotayasa"}
    assert len(found["device"]) == 8 and ROUTER in found["device"]  # 6 SNMP devices + 2 API-only routers


def test_a_stopped_device_shows_in_the_down_count_and_the_problems_table(
        stack: tuple[Prometheus, subprocess.Popen[str]]) -> None:
    prom, sim = stack
    board = BOARDS["netmon-overview"]
    by_title = {p["title"]: p for p in panels(board)}
    down = fill(by_title["Perangkat mati / Devices down"]["targets"][0]["expr"])
    problems = fill(by_title["Perangkat bermasalah / Devices with problems"]["targets"][0]["expr"])
    assert prom.query(down) == []  # nothing down yet: the stat shows its noValue, 0
    assert sim.stdin is not None
    sim.stdin.write(f"stop {STOPPED}\n")
    sim.stdin.flush()
    try:
        prom.wait(f'netmon_device_state{{device="{STOPPED}",state="down"}} == 1', f"{STOPPED} down")
        (count,) = prom.query(down)
        assert count["value"][1] == "1"
        rows = prom.query(problems)
        assert [(r["metric"]["device"], r["metric"]["site"], r["metric"]["state"]) for r in rows] == [
            (STOPPED, "kim-kotayasa", "down")]
        kecamatan = fill(by_title["Perangkat mati / Devices down"]["targets"][0]["expr"]).replace(
            'site=~".*"', 'site=~"kim-karangmangu|kim-ketenger"')  # only the Baturraden sites selected
        assert prom.query(kecamatan) == []
    finally:
        sim.stdin.write(f"start {STOPPED}\n")
        sim.stdin.flush()

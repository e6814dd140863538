"""The command line as users run it: the embedded demo, `simulate snmp --write-config` + `poll --once`,
and the simulator run by an ordinary (non-root) user."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from peers import HANG_GUARD_S, NETMON, REPO, fetch, free_tcp_port, promtool_check, require

# the demo: 6 SNMP agents (3 routers also over the API) and 2 API-only routers -> 11 (device, source) pairs
DEMO_SERIES = 11


def series(text: str) -> set[str]:
    """Metric names with label sets (values and timestamps dropped)."""
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


@pytest.fixture(scope="module")
def simulated_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`netmon simulate snmp --write-config` in a subprocess; yields the config it wrote."""
    yield from simulate("snmp", tmp_path_factory)


@pytest.fixture(scope="module")
def simulated_routers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`netmon simulate routeros --write-config` in a subprocess; yields the config it wrote."""
    yield from simulate("routeros", tmp_path_factory)


def simulate(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp(f"sim-{kind}")
    config = work / "sim.yaml"
    proc = subprocess.Popen([*NETMON, "simulate", kind, "--write-config", str(config)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + HANG_GUARD_S
    while not config.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        # written whole (renamed into place), so there is nothing more to wait for
        assert config.exists(), proc.stderr.read() if proc.poll() is not None and proc.stderr else "timeout"
        doc = yaml.safe_load(config.read_text())
        doc["storage"] = {"data_dir": str(work / "data")}  # each test run has its own database
        config.write_text(yaml.safe_dump(doc, sort_keys=False))
        yield config
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_written_config_is_valid_and_keeps_communities_out_of_the_yaml(simulated_fleet: Path) -> None:
    text = simulated_fleet.read_text()
    assert "kim-demo" not in text  # the community lives in a secret file next to it
    result = subprocess.run([*NETMON, "check-config", str(simulated_fleet)], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "3 sites, 6 devices" in result.stdout


def test_poll_once_prints_prometheus_text_that_promtool_accepts(simulated_fleet: Path) -> None:
    result = subprocess.run([*NETMON, "poll", "--config", str(simulated_fleet), "--once", "--format",
                             "prometheus"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for device in ("kim-karangmangu-router", "kim-karangmangu-ap", "kim-ketenger-ap"):
        assert f'netmon_device_up{{device="{device}",site=' in text
    assert 'netmon_device_up{device="kim-ketenger-ap",site="kim-ketenger",source="snmp"} 1.0' in text
    assert "netmon_wifi_clients{" in text and "netmon_interface_receive_bytes_total{" in text
    assert 'netmon_device_info{device="kim-ketenger-ap"' in text and 'vendor="Ubiquiti"' in text
    check = promtool_check(text.encode())
    assert check.returncode == 0 and not check.stdout.strip(), check.stdout + check.stderr


def test_poll_once_against_simulated_routeros_shows_free_usage(simulated_routers: Path) -> None:
    result = subprocess.run([*NETMON, "poll", "--config", str(simulated_routers), "--once", "--format",
                             "prometheus"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.count('source="routeros"} 1.0') == 5  # every simulated router answered over the API
    for needle in ("netmon_hotspot_active_users{", "netmon_wifi_clients{", "netmon_dhcp_leases_active{",
                   "netmon_device_uptime_seconds{", "netmon_interface_receive_bytes_total{",
                   "netmon_hotspot_bytes_total{", "netmon_site_unique_clients_today{"):
        assert needle in text, needle
    assert "kim-api-demo" not in text and "kim-api-demo" not in simulated_routers.read_text()
    check = promtool_check(text.encode())
    assert check.returncode == 0 and not check.stdout.strip(), check.stdout + check.stderr


def test_poll_once_json_for_one_device(simulated_fleet: Path) -> None:
    import json

    result = subprocess.run([*NETMON, "poll", "--config", str(simulated_fleet), "--once", "--device",
                             "kim-kotayasa-router"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["device"] for r in rows] == ["kim-kotayasa-router"]
    assert rows[0]["ok"] and rows[0]["identity"]["profile"] == "mikrotik"
    metrics = {s["metric"] for s in rows[0]["samples"]}
    assert {"netmon_hotspot_active_users", "netmon_dhcp_leases_active", "netmon_wifi_clients"} <= metrics


def test_poll_once_prometheus_matches_what_the_daemon_serves(simulated_fleet: Path) -> None:
    once = subprocess.run([*NETMON, "poll", "--config", str(simulated_fleet), "--once", "--format",
                           "prometheus"], cwd=REPO, capture_output=True, text=True, timeout=60)
    port = free_tcp_port()
    daemon = subprocess.Popen([*NETMON, "run", "--config", str(simulated_fleet), "--port", str(port)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        served = ""
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            status, served = fetch(f"http://127.0.0.1:{port}/metrics")
            if status == 200 and served.count("netmon_device_up{") == served.count("netmon_device_info{") == 6:
                break
            time.sleep(0.5)
    finally:
        daemon.terminate()
        daemon.wait(HANG_GUARD_S)
    daemon_only = {"netmon_scheduler_", "netmon_storage_", "netmon_gc_", "netmon_exporter_"}
    served_series = {s for s in series(served) if not any(s.startswith(p) for p in daemon_only)}
    assert served_series == series(once.stdout)


def test_embedded_demo_serves_live_metrics_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_tcp_port()
    # run where a newcomer would: the demo keeps its SQLite database in ./netmon-data
    proc = subprocess.Popen([*NETMON, "--log-format", "json", "run", "--port", str(port)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        text = ""
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            status, text = fetch(f"http://127.0.0.1:{port}/metrics")
            if status == 200 and text.count("netmon_device_up{") == DEMO_SERIES and " 0.0\n" not in _up_lines(text):
                break
            time.sleep(0.5)
        up = _up_lines(text)
        assert up.count(" 1.0") == DEMO_SERIES, text[:2000]
        assert 'source="routeros"' in up and 'source="snmp"' in up
        for needle in ("netmon_device_uptime_seconds{", "netmon_interface_receive_bytes_total{",
                       "netmon_wifi_clients{", "netmon_hotspot_active_users{", "netmon_dhcp_leases_active{",
                       "netmon_hotspot_bytes_total{", "netmon_site_unique_clients_today{"):
            assert needle in text
        # every demo site, with where it is (dashboards filter by kecamatan through it)
        assert ('netmon_site_info{desa="Karangmangu",kabupaten="Banyumas",kecamatan="Baturraden",'
                'name="KIM Sinar Karangmangu",site="kim-karangmangu"} 1.0') in text
        assert text.count("netmon_site_info{") == 3
        assert fetch(f"http://127.0.0.1:{port}/healthz")[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
    assert (tmp_path / "netmon-data" / "netmon.sqlite3").exists()
    status = subprocess.run([*NETMON, "status"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and "kim-karangmangu-ap" in status.stdout and " up " in status.stdout
    logs = proc.stderr.read() if proc.stderr else ""
    assert '"level": "info"' in logs
    assert "stopping: polls end" in logs and "stopped: " in logs and "kept for the next start: 0 records" in logs
    for secret in ("kim-demo", "kotayasa-ro", "kim-api-demo"):  # JSON logs, no community or password
        assert not re.search(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", logs), secret


def _up_lines(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.startswith("netmon_device_up{")) + "\n"


@pytest.fixture(scope="module")
def nobody_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project installed into a venv that the unprivileged user `nobody` can run."""
    require(os.geteuid() == 0, "needs root to switch to the user nobody")
    debian_python = Path("/usr/bin/python3")
    require(debian_python.exists(), "needs a system python3 readable by nobody (/usr/bin/python3)")
    runuser = shutil.which("runuser")
    require(runuser is not None, "needs runuser (util-linux)")
    venv = Path("/tmp/netmon-nobody-venv")
    if not (venv / "bin" / "python").exists():
        subprocess.run([str(debian_python), "-m", "venv", str(venv)], check=True, timeout=120)
    build = tmp_path_factory.mktemp("nobody-src")
    src = build / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".venv", ".git", "*.egg-info", "__pycache__",
                                                                 ".mypy_cache", ".ruff_cache", ".pytest_cache"))
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(src)],
                   check=True, timeout=600, capture_output=True)
    subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
    return venv


def test_simulator_runs_as_an_ordinary_user(nobody_venv: Path) -> None:
    snmpget = shutil.which("snmpget")
    require(snmpget is not None, "snmpget not found; install Debian package `snmp`")
    assert snmpget is not None
    data = Path(tempfile.mkdtemp(prefix="netmon-nobody-data-"))  # pytest's tmp dirs are private to root
    shutil.copy(REPO / "netmon" / "demo" / "kim-karangmangu-ap.snmprec", data / "ap.snmprec")
    subprocess.run(["chmod", "-R", "a+rX", str(data)], check=True)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(["runuser", "-u", "nobody", "--", str(nobody_venv / "bin" / "netmon"), "simulate",
                             "snmp", "--data-dir", str(data), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd="/")
    try:
        answer = None
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline and proc.poll() is None:
            answer = subprocess.run([snmpget, "-v2c", "-c", "ap", "-t", "0.5", "-r", "0", "-On",
                                     f"127.0.0.1:{port}", "1.3.6.1.2.1.1.1.0"], capture_output=True, text=True)
            if answer.returncode == 0:
                break
            time.sleep(0.3)
        assert answer is not None and answer.returncode == 0, proc.stderr.read() if proc.poll() else "no answer"
        assert "RouterOS" in answer.stdout
        # the process answering (runuser itself, or its child) runs as nobody
        ps = subprocess.run(["ps", "-ww", "-o", "user=,args=", "--ppid", str(proc.pid), "-p", str(proc.pid)],
                            capture_output=True, text=True)
        netmon_users = {line.split()[0] for line in ps.stdout.splitlines() if "bin/netmon" in line
                        and not line.split(None, 1)[1].startswith("runuser")}
        assert netmon_users == {"nobody"}, ps.stdout
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(data, ignore_errors=True)


def test_daemon_polls_with_two_worker_processes(simulated_fleet: Path, tmp_path: Path) -> None:
    doc = yaml.safe_load(simulated_fleet.read_text())
    doc["scheduler"]["workers"] = 2
    doc["defaults"]["interval_s"] = 5
    config = simulated_fleet.parent / "workers.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    port = free_tcp_port()
    daemon = subprocess.Popen([*NETMON, "run", "--config", str(config), "--port", str(port)], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        text = ""
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            status, text = fetch(f"http://127.0.0.1:{port}/metrics")
            if status == 200 and _up_lines(text).count(" 1.0") == 6:
                break
            time.sleep(0.5)
        assert _up_lines(text).count(" 1.0") == 6, _up_lines(text)
        assert "netmon_wifi_clients{" in text and 'netmon_scheduler_devices 6.0' in text
    finally:
        daemon.terminate()
        assert daemon.wait(HANG_GUARD_S) == 0

"""The systemd unit in deploy/systemd/ as systemd would use it.

systemd itself does not run here (no init in the test machine), so the test does what the unit tells systemd
to do: `systemd-analyze verify` judges the file; the environment comes from the example EnvironmentFile, parsed
with systemd's rules; ExecStartPre must accept the shipped example config with those secrets; ExecStart, as
written (only the install paths swapped for this checkout's), must run the daemon against the simulated demo
with the production database (a real PostgreSQL, as NETMON_DATABASE_URL in the secrets file) and, on
KillSignal, stop within TimeoutStopSec with a success exit status."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from peers import HANG_GUARD_S, NETMON, REPO, fetch, free_tcp_port, postgres_database, require_tool, simulated_demo

UNIT = REPO / "deploy" / "systemd" / "kim-netmon.service"
SECRETS = REPO / "deploy" / "systemd" / "secrets.env.example"
EXAMPLE = REPO / "deploy" / "netmon.example.yaml"
INSTALLED_NETMON = "/opt/kim-netmon/bin/netmon"
INSTALLED_CONFIG = "/etc/kim-netmon/netmon.yaml"


def unit_entries(path: Path) -> dict[str, dict[str, list[str]]]:
    """{section: {key: [values, in order]}}: a key may repeat in a unit file."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def environment_file(path: Path) -> dict[str, str]:
    """systemd's EnvironmentFile= format: KEY=VALUE lines, # and ; comments, optional surrounding quotes."""
    env: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()), f"not KEY=VALUE: {raw!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def command(line: str, config: Path) -> list[str]:
    """An Exec line as this checkout runs it: the installed netmon and config paths swapped for ours."""
    argv = shlex.split(line)
    assert argv[0] == INSTALLED_NETMON, argv
    swapped = [str(config) if arg == INSTALLED_CONFIG else arg for arg in argv[1:]]
    return [*NETMON, *swapped]


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)\s*(s|min)?", value)
    assert match, value
    return int(match[1]) * (60 if match[2] == "min" else 1)


SERVICE = unit_entries(UNIT)["Service"]


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze", "systemd")
    netmon = Path(sys.executable).with_name("netmon")  # the console script beside this interpreter
    assert netmon.is_file(), f"{netmon} missing: install the project (pip install -e .)"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED_NETMON, str(netmon)))
    done = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_unit_runs_as_its_own_user_with_the_data_dir_the_example_config_uses() -> None:
    assert SERVICE["User"] == ["netmon"] and SERVICE["EnvironmentFile"] == ["/etc/kim-netmon/secrets.env"]
    example = yaml.safe_load(EXAMPLE.read_text())
    assert f"/var/lib/{SERVICE['StateDirectory'][0]}" == example["storage"]["data_dir"]
    assert SERVICE["KillSignal"] == ["SIGTERM"]
    # the daemon's own stop deadline (outboxes 5 s each, database 10 s) fits in what systemd allows
    assert seconds(SERVICE["TimeoutStopSec"][0]) >= 5 * 5 + 10 + 10


def test_exec_start_pre_accepts_the_example_config_with_the_example_secrets() -> None:
    env = environment_file(SECRETS)
    named = set(re.findall(r"\{env: *([A-Z_][A-Z0-9_]*)\}", EXAMPLE.read_text()))
    for included in (REPO / "deploy" / "kecamatan").glob("*.yaml"):
        named |= set(re.findall(r"\{env: *([A-Z_][A-Z0-9_]*)\}", included.read_text()))
    assert named and named <= set(env), f"secrets.env.example lacks {sorted(named - set(env))}"
    (pre,) = SERVICE["ExecStartPre"]
    done = subprocess.run(command(pre, EXAMPLE), env={"PATH": "/usr/bin:/bin", **env}, capture_output=True,
                          text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "credential kim-v2c: snmp_v2c (resolved)" in done.stdout
    # and without them, it refuses, naming the file, line and key
    done = subprocess.run(command(pre, EXAMPLE), env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    assert done.returncode != 0 and "netmon.example.yaml:" in done.stderr and "NETMON_" in done.stderr


def test_exec_start_runs_the_daemon_on_postgresql_and_stops_on_kill_signal(tmp_path: Path) -> None:
    port = free_tcp_port()

    def production(doc: dict[str, object]) -> None:
        doc["exporter"] = {"listen": "127.0.0.1", "port": port}

    with postgres_database() as (_dbname, url), simulated_demo(tmp_path, extra=production) as (config, _sim):
        env = {**environment_file(SECRETS), "PATH": "/usr/bin:/bin", "NETMON_DATABASE_URL": url}
        (start,) = SERVICE["ExecStart"]
        proc = subprocess.Popen(command(start, config), env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            text = ""
            deadline = time.monotonic() + HANG_GUARD_S
            while time.monotonic() < deadline:
                status, text = fetch(f"http://127.0.0.1:{port}/metrics")
                if status == 200 and re.search(r'netmon_device_up\{device="kim-karangmangu-ap"[^}]*\} 1\.0', text):
                    break
                time.sleep(0.5)
            assert re.search(r'netmon_device_up\{device="kim-karangmangu-ap"[^}]*\} 1\.0', text), text[:2000]
        finally:
            proc.send_signal(getattr(signal, SERVICE["KillSignal"][0]))
            try:
                code = proc.wait(seconds(SERVICE["TimeoutStopSec"][0]))
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        logs = proc.stderr.read() if proc.stderr else ""
        assert code == 0, logs[-2000:]
        assert '"level": "info"' in logs and "stopped: " in logs  # --log-format json, from ExecStart
        assert not (tmp_path / "data" / "netmon.sqlite3").exists()  # NETMON_DATABASE_URL won over SQLite
        status = subprocess.run([*NETMON, "status", "--config", str(config)], env=env, capture_output=True,
                                text=True, timeout=60)
        assert status.returncode == 0 and "kim-karangmangu-ap" in status.stdout, status.stdout + status.stderr

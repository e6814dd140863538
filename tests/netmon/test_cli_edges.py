"""No traceback at the edges (issue #12): each bad input or failure, tried with the real command
(`python -m netmon.cli ...` in a subprocess), ends in one line on standard error naming the problem and a
documented exit code: 2 for bad input or usage, 1 for a runtime failure."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers import HANG_GUARD_S, NETMON, REPO, fetch, free_tcp_port, free_udp_port, postgres_database, stop_process

SECRET_ENV = "EDGES_TEST_COMMUNITY"


def config_text(*, exporter_port: int, snmp_port: int, storage: str = "storage: {data_dir: data}",
                address: str = "127.0.0.1") -> str:
    """One site, one router at an SNMP port where nothing answers (every poll fails)."""
    return f"""\
credentials:
  v2c: {{snmp_v2c: {{community: {{env: {SECRET_ENV}}}}}}}
defaults: {{credential: v2c, snmp: {{timeout_s: 0.5, retries: 0}}}}
exporter: {{port: {exporter_port}}}
{storage}
sites:
  - {{id: kim-edge, name: KIM Edge, desa: Ketenger, kecamatan: Baturraden, kabupaten: Banyumas}}
devices:
  - id: edge-router
    site: kim-edge
    role: router
    address: {address}
    snmp: {{port: {snmp_port}}}
"""


def run(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None,
        secrets: bool = True) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in (SECRET_ENV, "NETMON_DATABASE_URL")}
    if secrets:
        environ[SECRET_ENV] = "edge-community"
    environ["PYTHONPATH"] = str(REPO)
    environ.update(env or {})
    return subprocess.run([*NETMON, *args], cwd=cwd, env=environ, capture_output=True, text=True,
                          timeout=HANG_GUARD_S, check=False)


def one_line(result: subprocess.CompletedProcess[str], code: int, *fragments: str, logged: bool = False) -> str:
    """The command failed with `code` and said so in exactly one line (no traceback) holding `fragments`.
    `logged`: the command logs as it works (warnings per device), and one `error:` line ends it."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and (not logged or "error:" in line)]
    assert len(lines) == 1, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "netmon.yaml"
    path.write_text(config_text(exporter_port=free_tcp_port(), snmp_port=free_udp_port()))
    return path


# --- usage and bad input: exit 2 ------------------------------------------------------------------------


def test_version() -> None:
    from importlib.metadata import version

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"kim-netmon {version('kim-netmon')}"


def test_unknown_log_level_is_one_line() -> None:
    one_line(run("--log-level", "foo", "status"), 2, "--log-level 'foo'", "debug, info, warning, error")


def test_port_out_of_range_names_the_option_not_a_temp_file() -> None:
    line = one_line(run("run", "--port", "70000"), 2, "--port 70000", "0-65535")
    assert "netmon-demo" not in line


def test_config_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("sites: []\n# Kepala Desa: Pak Sutrisno, Ketenger\n# catatan: jaringan \u00e9\n".encode("latin-1"))
    one_line(run("check-config", str(path)), 2, f"{path}:3:", "not UTF-8")


CHECK_CONFIG_CASES = [
    # (id, edit of the config text, line, key, message fragment)
    ("address-out-of-range", lambda s: s.replace("address: 127.0.0.1", "address: 300.1.2.3"), 12,
     "devices[0].address", "not a valid IPv4 address"),
    ("address-not-an-ip", lambda s: s.replace("address: 127.0.0.1", 'address: "not an ip"'), 12,
     "devices[0].address", "neither an IP address nor a valid host name"),
    ("parent-cycle", lambda s: s.replace("    snmp: {port:", "    parent: edge-ap\n    snmp: {port:") +
     "  - {id: edge-ap, site: kim-edge, role: ap, address: 127.0.0.2, parent: edge-router}\n", 13,
     "devices[edge-router].parent", "parent cycle: edge-router -> edge-ap -> edge-router"),
    ("empty-file", lambda s: "# nothing here yet\n", 1, None, "the file is empty"),
    ("duplicate-key", lambda s: s.replace("    role: router\n", "    role: router\n    role: ap\n"), 12,
     "devices[0].role", "duplicate key (first at line 11)"),
]


@pytest.mark.parametrize(("edit", "line", "key", "message"), [c[1:] for c in CHECK_CONFIG_CASES],
                         ids=[c[0] for c in CHECK_CONFIG_CASES])
def test_check_config_rejects_with_file_line_key(config: Path, edit, line: int, key: str | None,  # type: ignore[no-untyped-def]
                                                 message: str) -> None:
    config.write_text(edit(config.read_text()))
    text = one_line(run("check-config", str(config)), 2, f"{config}:{line}", message)
    if key is not None:
        assert key in text


def test_check_config_accepts_ipv6_and_host_names(config: Path) -> None:
    text = config.read_text().replace("address: 127.0.0.1", "address: ::1")
    config.write_text(text + "  - {id: edge-ap, site: kim-edge, role: ap, address: ap-1.kim-edge.example.id}\n")
    result = run("check-config", str(config))
    assert result.returncode == 0, result.stderr


def test_tickets_csv_is_csv_and_an_unknown_format_is_rejected(config: Path) -> None:
    assert run("db", "upgrade", "-c", str(config)).returncode == 0
    result = run("tickets", "list", "-c", str(config), "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert next(csv.reader(io.StringIO(result.stdout))) == ["ticket", "state", "incident", "rule", "subject",
                                                              "kecamatan", "opened", "updated"]
    bad = run("tickets", "list", "-c", str(config), "--format", "xml")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "'xml' is not one of" in bad.stderr


# --- runtime failures: exit 1 ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", [["show"], ["ack"], ["resolve"]])
def test_tickets_before_the_database_exists(config: Path, action: list[str]) -> None:
    one_line(run("tickets", *action, "NETMON-2026-000001", "-c", str(config)), 1, "no database yet at",
             str(config.parent / "data" / "netmon.sqlite"))
    assert not (config.parent / "data" / "netmon.sqlite").exists()


def test_data_dir_that_cannot_be_created(config: Path) -> None:
    blocker = config.parent / "a-file"
    blocker.write_text("not a directory\n")
    config.write_text(config.read_text().replace("data_dir: data", f"data_dir: {blocker}/data"))
    one_line(run("run", "-c", str(config)), 1, f"data directory {blocker}/data", "Not a directory")
    one_line(run("status", "-c", str(config)), 1, f"{blocker}/data", "Not a directory")


def test_poll_once_exits_1_when_a_device_failed(config: Path) -> None:
    result = run("poll", "--once", "-c", str(config))
    one_line(result, 1, "error: 1 poll(s) failed: edge-router (snmp)", logged=True)
    assert json.loads(result.stdout)[0]["ok"] is False


# --- the daemon: one per data directory (and per PostgreSQL database); read-only commands beside it --------


def start_daemon(config: Path, cwd: Path) -> subprocess.Popen[str]:
    """`netmon run -c config` until its exporter answers (storage is open and the lock taken by then)."""
    environ = {**os.environ, SECRET_ENV: "edge-community", "PYTHONPATH": str(REPO)}
    environ.pop("NETMON_DATABASE_URL", None)
    proc = subprocess.Popen([*NETMON, "run", "-c", str(config)], cwd=cwd, env=environ,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    port = int(config.read_text().split("exporter: {port: ")[1].split("}")[0])
    deadline = time.monotonic() + HANG_GUARD_S
    while fetch(f"http://127.0.0.1:{port}/healthz")[0] == 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            raise AssertionError(proc.stderr.read() if proc.stderr else "daemon did not start")
        time.sleep(0.2)
    return proc


@pytest.fixture
def daemon(config: Path) -> Iterator[subprocess.Popen[str]]:
    proc = start_daemon(config, cwd=config.parent)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        stop_process(proc)


def test_second_daemon_on_the_same_data_dir_is_refused(config: Path, daemon: subprocess.Popen[str],
                                                       tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(config.read_text().replace("data_dir: data", f"data_dir: {config.parent / 'data'}")
                     .replace(f"port: {fetch_port(config)}", f"port: {free_tcp_port()}"))
    one_line(run("run", "-c", str(other)), 1, f"another netmon (pid {daemon.pid}) already runs",
             str(config.parent / "data"))


def fetch_port(config: Path) -> int:
    return int(config.read_text().split("exporter: {port: ")[1].split("}")[0])


def test_read_only_commands_need_no_secrets_and_no_working_directory(config: Path, daemon: subprocess.Popen[str],
                                                                     tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    status = run("status", "-c", str(config), "--format", "json", cwd=elsewhere, secrets=False)
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)
    assert [(r["device"], r["site"]) for r in rows] == [("edge-router", "kim-edge")]
    for args in (["outages"], ["tickets", "list"]):
        result = run(*args, "-c", str(config), "--format", "json", cwd=elsewhere, secrets=False)
        assert result.returncode == 0 and json.loads(result.stdout) == [], result.stderr
    assert not (elsewhere / "data").exists() and not (elsewhere / "netmon-data").exists()


def test_second_daemon_on_the_same_postgres_database_is_refused(tmp_path: Path) -> None:
    with postgres_database() as (name, url):
        first, second = tmp_path / "first", tmp_path / "second"
        configs = []
        for work in (first, second):
            work.mkdir()
            path = work / "netmon.yaml"  # separate data directories: only the database is shared
            path.write_text(config_text(exporter_port=free_tcp_port(), snmp_port=free_udp_port(),
                                        storage=f"storage: {{data_dir: data, database_url: '{url}'}}"))
            configs.append(path)
        proc = start_daemon(configs[0], cwd=first)
        try:
            one_line(run("run", "-c", str(configs[1])), 1, f"another netmon already runs for database {name}",
                     f"kim-netmon pid {proc.pid} on")
        finally:
            proc.send_signal(signal.SIGINT)
            stop_process(proc)


def test_demo_removes_its_temp_files_on_stop(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    port = free_tcp_port()
    environ = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([*NETMON, "run", "--port", str(port)], cwd=tmp_path, env=environ,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        while fetch(f"http://127.0.0.1:{port}/healthz")[0] == 0:
            assert proc.poll() is None and time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.2)
        assert len(demo_files(temp)) == 1
        assert (tmp_path / "netmon-data").is_dir()  # the demo's data stays in the working directory
    finally:
        proc.send_signal(signal.SIGINT)
        stop_process(proc)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert demo_files(temp) == []


def demo_files(temp: Path) -> list[Path]:
    return list(temp.glob("netmon-demo-*"))


def test_check_config_records_as_json(config: Path) -> None:
    result = run("check-config", str(config), "--format", "json", secrets=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"kabupaten": "Banyumas", "zone": "Asia/Jakarta", "kecamatan": "Baturraden",
                                          "sites": 1, "routers": 1, "aps": 0, "other": 0, "pemda": 1, "kim": 0}]

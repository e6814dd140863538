"""`netmon agent check`: a site agent's config validated offline; every problem one line naming file:line: key
(exit 2); a good one summarised (exit 0)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from peers import NETMON, REPO

from netmon.config.site_agent import load_site_config
from netmon.simulate.routeros.tls import write_certificates

BASE: dict[str, Any] = {
    "credentials": {"snmp-1": {"snmp_v2c": {"community": {"file": "community.secret"}}}},
    "sites": [{"id": "kim-kotayasa", "name": "KIM Kotayasa", "desa": "Kotayasa", "kecamatan": "Sumbang",
               "kabupaten": "Banyumas"}],
    "devices": [{"id": "kim-kotayasa-router", "site": "kim-kotayasa", "role": "router", "address": "127.0.0.1",
                 "credential": "snmp-1"}],
    "agent": {"id": "kec-sumbang-1",
              "broker": {"host": "broker.example.invalid", "port": 8883, "ca_file": "ca.pem",
                         "username": "kec-sumbang-1", "password": {"file": "broker.secret"}},
              "outbox": {"path": "data/outbox.sqlite", "max_age_s": 3 * 86400}},
}


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    (tmp_path / "community.secret").write_text("public\n")
    (tmp_path / "broker.secret").write_text("agent-s3cret\n")
    if not (tmp_path / "ca.pem").exists():
        write_certificates(tmp_path)  # ca.pem, server.pem, server.key
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NETMON, "agent", "check", "--config", str(path)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_a_good_site_config_loads_with_paths_beside_it_and_the_password_resolved(tmp_path: Path) -> None:
    site = load_site_config(write(tmp_path, BASE))
    assert site.agent.id == "kec-sumbang-1" and site.agent.prefix == "netmon"
    assert site.agent.outbox.path == str(tmp_path / "data" / "outbox.sqlite")
    assert site.agent.outbox.max_bytes == 256 * 1024 * 1024 and site.agent.outbox.max_age_s == 3 * 86400
    assert site.agent.broker.ca_file == str(tmp_path / "ca.pem") and site.agent.broker.tls
    assert site.broker_password is not None and site.broker_password.reveal() == "agent-s3cret"
    assert list(site.config.devices) == ["kim-kotayasa-router"]


def test_check_prints_a_summary_without_secrets(tmp_path: Path) -> None:
    done = check(write(tmp_path, BASE))
    assert done.returncode == 0, done.stderr
    assert "agent kec-sumbang-1, 1 sites, 1 devices" in done.stdout
    assert "broker.example.invalid:8883 (TLS, username/password)" in done.stdout
    assert "netmon/agent/kec-sumbang-1/#" in done.stdout and "3 days" in done.stdout
    assert "agent-s3cret" not in done.stdout + done.stderr


def _set(doc: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    out = yaml.safe_load(yaml.safe_dump(doc))
    node = out
    *parents, last = dotted.split(".")
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return dict(out)


DELETE = object()


@pytest.mark.parametrize(("dotted", "value", "expected"), [
    ("agent.broker.password", DELETE, "agent.broker: Value error, username and password go together"),
    ("agent.prefix", "netmon/#", "agent.prefix: String should match pattern"),
    ("agent.id", "Kec Sumbang", "agent.id: String should match pattern"),
    ("agent.outbox.max_age_s", 60, "agent.outbox.max_age_s: Input should be greater than or equal to 3600"),
    ("agent.broker.colour", "blue", "agent.broker.colour: Extra inputs are not permitted"),
    ("agent.broker.ca_file", "missing-ca.pem", "agent.broker.ca_file: cannot load"),
    ("agent.broker.password", {"file": "nowhere.secret"}, "agent.broker.password: secret file nowhere.secret"),
    ("alerts", {"channels": {}}, "alerts: `alerts` belongs in the office's config, not a site agent's"),
    ("agents", {"late_after_s": 60}, "agents: `agents` belongs in the office's config, not a site agent's"),
    ("cluster", {"heartbeat_s": 5}, "cluster: `cluster` belongs in the office's config, not a site agent's"),
    ("agent", DELETE, "agent: a site agent's config needs an `agent:` section"),
], ids=["user-without-password", "wildcard-prefix", "bad-id", "short-age", "unknown-key", "missing-ca",
        "missing-secret", "office-section", "office-agents-list", "office-cluster", "no-agent"])
def test_a_bad_site_config_is_one_line_with_file_line_and_key_exit_2(tmp_path: Path, dotted: str, value: Any,
                                                                     expected: str) -> None:
    path = write(tmp_path, _set(BASE, dotted, value))
    done = check(path)
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}:") and expected in line, line
    assert "agent-s3cret" not in line


def test_a_client_certificate_must_match_its_key(tmp_path: Path) -> None:
    _ca, cert, key = write_certificates(tmp_path / "pki")
    other = write_certificates(tmp_path / "other")[2]
    good = _set(_set(BASE, "agent.broker.cert_file", str(cert)), "agent.broker.key_file", str(key))
    assert load_site_config(write(tmp_path, good)).agent.broker.cert_file == str(cert)
    bad = _set(good, "agent.broker.key_file", str(other))
    done = check(write(tmp_path, bad))
    assert done.returncode == 2 and "agent.broker.cert_file: cannot load" in done.stderr


def test_agent_without_config_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([*NETMON, "agent"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--config is required" in done.stderr

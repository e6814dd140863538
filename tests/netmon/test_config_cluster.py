"""`cluster:` in the config (issue #16): defaults, timings that cannot work, what a cluster cannot do yet, and a
cluster without PostgreSQL, each refused with the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from netmon.cli import app
from netmon.config import load_config
from netmon.errors import ConfigError

BASE = """\
storage: {{data_dir: {data}}}
{cluster}
sites:
  - {{id: kim-a, name: KIM A, desa: Karangsalam, kecamatan: Baturraden, kabupaten: Banyumas}}
devices:
  - {{id: kim-a-router, site: kim-a, role: router, address: 10.0.0.1, sources: [ping]}}
{more}"""


def write(tmp_path: Path, cluster: str, more: str = "") -> Path:
    path = tmp_path / "netmon.yaml"
    path.write_text(BASE.format(data=tmp_path / "data", cluster=cluster, more=more))
    return path


def test_a_cluster_section_with_every_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "cluster: {}"))
    assert config.cluster is not None and config.cluster_line == 2
    assert (config.cluster.node_id, config.cluster.heartbeat_s, config.cluster.dead_after_s,
            config.cluster.lease_ttl_s, config.cluster.lease_margin_s) == (None, 5, 15, 15, 3)
    assert load_config(write(tmp_path, "")).cluster is None


@pytest.mark.parametrize(("cluster", "words"), [
    ("cluster: {lease_ttl_s: 3, lease_margin_s: 3}", "lease_margin_s must be below lease_ttl_s"),
    ("cluster: {heartbeat_s: 13}", "heartbeat_s must be below lease_ttl_s - lease_margin_s"),
    ("cluster: {dead_after_s: 5, heartbeat_s: 5}", "dead_after_s must be above heartbeat_s"),
    ("cluster: {node_id: 'a b'}", "String should match pattern"),
    ("cluster: {nodes: 3}", "Extra inputs are not permitted"),
])
def test_a_cluster_that_cannot_work_is_refused_naming_file_line_and_key(tmp_path: Path, cluster: str,
                                                                         words: str) -> None:
    path = write(tmp_path, cluster)
    with pytest.raises(ConfigError, match=words) as caught:
        load_config(path)
    assert caught.value.file == str(path) and caught.value.line == 2 and "cluster" in (caught.value.key or "")


def test_routers_that_push_are_refused_in_a_cluster(tmp_path: Path) -> None:
    (tmp_path / "push.token").write_text("a-push-token-of-32-characters-ok\n")
    more = ("  - {id: kim-a-gw, site: kim-a, role: router, address: 10.0.0.2, sources: [push],\n"
            f"     push: {{token: {{file: {tmp_path / 'push.token'}}}}}}}\n")
    path = write(tmp_path, "cluster: {}", more)
    with pytest.raises(ConfigError, match=r"devices that push \(kim-a-gw\) are not supported with several nodes"
                       ) as caught:
        load_config(path)
    assert (caught.value.line, caught.value.key) == (2, "cluster")
    assert load_config(write(tmp_path, "", more)).cluster is None  # one daemon: fine


def test_a_cluster_in_an_included_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text("cluster: {}\n")
    path = write(tmp_path, "include: [more.yaml]")
    with pytest.raises(ConfigError, match="cluster"):
        load_config(path)


def test_a_cluster_on_sqlite_stops_at_start_naming_the_cluster_key(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETMON_DATABASE_URL", raising=False)
    path = write(tmp_path, "cluster: {node_id: office-1}")
    done = CliRunner().invoke(app, ["run", "--config", str(path), "--port", "0"])
    assert done.exit_code == 2, done.output
    assert f"{path}:2: cluster: several nodes need one PostgreSQL database" in done.output


def test_site_agents_are_refused_in_a_cluster(tmp_path: Path) -> None:
    more = "agents:\n  broker: {host: 127.0.0.1, port: 1883}\n  list: [{id: kec-baturraden, sites: [kim-a]}]\n"
    path = write(tmp_path, "cluster: {}", more)
    with pytest.raises(ConfigError, match="site agents are not supported with several nodes yet") as caught:
        load_config(path)
    assert (caught.value.file, caught.value.line, caught.value.key) == (str(path), 2, "cluster")
    assert load_config(write(tmp_path, "", more)).agents.site_agent() == {"kim-a": "kec-baturraden"}

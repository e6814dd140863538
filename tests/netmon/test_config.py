"""Configuration: every kind of bad config names the file, line and key; good ones resolve fully."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from netmon.cli import app
from netmon.config import load_config
from netmon.errors import ConfigError
from netmon.model import Owner, Role, SnmpV2cAuth, SnmpV3Auth, Source

GOOD = """\
include: [kecamatan/*.yaml]
defaults:
  interval_s: 120
  credential: kim-v2c
  snmp: {timeout_s: 3, retries: 2}
exporter: {listen: 127.0.0.1, port: 9100}
credentials:
  kim-v2c:
    snmp_v2c:
      community: {env: TEST_NETMON_COMMUNITY}
  ap-v3:
    snmp_v3:
      user: netmon
      auth_protocol: sha256
      auth_key: {file: secrets/ap-auth}
      priv_protocol: aes128
      priv_key: {env: TEST_NETMON_PRIV}
sites:
  - id: kim-karangsalam
    name: KIM Karangsalam
    desa: Karangsalam
    kecamatan: Baturraden
    kabupaten: Banyumas
    latitude: -7.31
    longitude: 109.23
    kim_contact: {name: Pak Rahmat, phone: "+62 812 0000 0000"}
devices:
  - id: ks-router
    site: kim-karangsalam
    role: router
    address: 10.20.1.1
    profile: mikrotik
    asset: {kode_barang: 02.06.02.01.001, nomor_register: "0001", year_acquired: 2023, value_idr: 1850000}
"""
KECAMATAN = """\
sites:
  - id: kim-kemutug
    name: KIM Kemutug Lor
    desa: Kemutug Lor
    kecamatan: Baturraden
    kabupaten: Banyumas
devices:
  - id: kl-ap
    site: kim-kemutug
    role: ap
    address: 10.20.2.2
    owner: kim
    credential: ap-v3
    parent: ks-router
    snmp: {port: 1161}
"""


def write_tree(root: Path, main: str = GOOD, extra: str = KECAMATAN) -> Path:
    (root / "kecamatan").mkdir()
    (root / "secrets").mkdir()
    (root / "secrets" / "ap-auth").write_text("auth-secret-123\n")
    (root / "kecamatan" / "baturraden.yaml").write_text(extra)
    main_path = root / "netmon.yaml"
    main_path.write_text(main)
    return main_path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_NETMON_COMMUNITY", "c0mmunity-s3cret")
    monkeypatch.setenv("TEST_NETMON_PRIV", "priv-s3cret-456")


def test_good_config_resolves_defaults_includes_and_secrets(tmp_path: Path, env: None) -> None:
    cfg = load_config(write_tree(tmp_path))
    assert set(cfg.sites) == {"kim-karangsalam", "kim-kemutug"}
    router, ap = cfg.devices["ks-router"], cfg.devices["kl-ap"]
    assert router.role is Role.ROUTER and router.owner is Owner.PEMDA and router.interval_s == 120
    assert router.sources == (Source.SNMP,)
    assert router.snmp is not None and router.snmp.timeout_s == 3 and router.snmp.retries == 2
    assert isinstance(router.snmp.auth, SnmpV2cAuth)
    assert router.snmp.auth.community.reveal() == "c0mmunity-s3cret"
    assert router.asset.nomor_register == "0001" and router.asset.value_idr == 1850000
    assert ap.owner is Owner.KIM and ap.parent == "ks-router"
    assert ap.snmp is not None and ap.snmp.port == 1161 and ap.snmp.timeout_s == 3
    assert isinstance(ap.snmp.auth, SnmpV3Auth)
    assert ap.snmp.auth.auth_key is not None and ap.snmp.auth.auth_key.reveal() == "auth-secret-123"
    assert cfg.exporter.port == 9100
    assert cfg.sites["kim-karangsalam"].kim_contact is not None
    assert len(cfg.files) == 2


def test_secrets_never_show_in_repr_of_the_loaded_config(tmp_path: Path, env: None) -> None:
    cfg = load_config(write_tree(tmp_path))
    text = repr(cfg)
    for secret in ("c0mmunity-s3cret", "priv-s3cret-456", "auth-secret-123"):
        assert secret not in text


BAD_CASES = [
    # (id, mutate main, mutate include, file suffix, line, key fragment, message fragment)
    ("invalid-yaml", lambda s: s.replace("  interval_s: 120", "  interval_s: [120"), None,
     "netmon.yaml", 4, None, "invalid YAML"),
    ("unknown-key", lambda s: s.replace("    role: router", "    role: router\n    colour: red"), None,
     "netmon.yaml", 31, "devices[0].colour", "Extra inputs"),
    ("wrong-type", lambda s: s.replace("interval_s: 120", "interval_s: often"), None,
     "netmon.yaml", 3, "defaults.interval_s", "valid number"),
    ("bad-role", lambda s: s.replace("role: router", "role: toaster"), None,
     "netmon.yaml", 30, "devices[0].role", "router"),
    ("missing-required", lambda s: s.replace("    kecamatan: Baturraden\n", ""), None,
     "netmon.yaml", 19, "sites[0].kecamatan", "Field required"),
    ("unknown-key-in-include", None, lambda s: s.replace("    owner: kim", "    ownr: kim"),
     "baturraden.yaml", 12, "devices[0].ownr", "Extra inputs"),
    ("unknown-site", None, lambda s: s.replace("    site: kim-kemutug", "    site: kim-nowhere"),
     "baturraden.yaml", 9, "site", "unknown site"),
    ("unknown-parent", None, lambda s: s.replace("parent: ks-router", "parent: ks-gone"),
     "baturraden.yaml", 14, "parent", "unknown parent"),
    ("unknown-credential", None, lambda s: s.replace("credential: ap-v3", "credential: nope"),
     "baturraden.yaml", 13, "credential", "unknown credential"),
    ("duplicate-device", None, lambda s: s.replace("id: kl-ap", "id: ks-router"),
     "baturraden.yaml", 8, "devices[0].id", "duplicate device"),
    ("secret-in-config", lambda s: s.replace("community: {env: TEST_NETMON_COMMUNITY}", "community: public"),
     None, "netmon.yaml", 10, "credentials.kim-v2c.snmp_v2c.community", "valid dictionary"),
    ("secret-file-missing", lambda s: s.replace("secrets/ap-auth", "secrets/none"), None,
     "netmon.yaml", 11, "credentials.ap-v3.snmp_v3.auth_key", "missing"),
    ("v3-priv-without-key", lambda s: s.replace("      priv_key: {env: TEST_NETMON_PRIV}\n", ""), None,
     "netmon.yaml", 12, "credentials.ap-v3.snmp_v3", "go together"),
    ("bad-auth-protocol", lambda s: s.replace("auth_protocol: sha256", "auth_protocol: md5"), None,
     "netmon.yaml", 14, "credentials.ap-v3.snmp_v3.auth_protocol", "sha"),
    ("include-missing", lambda s: s.replace("kecamatan/*.yaml", "kecamatan/none.yaml"), None,
     "netmon.yaml", 1, "include[0]", "not found"),
    ("defaults-in-include", None, lambda s: "defaults: {interval_s: 30}\n" + s,
     "baturraden.yaml", 1, "defaults", "main file"),
    ("top-level-list", lambda s: "- a\n- b\n", None, "netmon.yaml", 1, None, "mapping"),
]


@pytest.mark.parametrize(("main_edit", "inc_edit", "file", "line", "key", "message"),
                         [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_config_names_file_line_and_key(tmp_path: Path, env: None, main_edit, inc_edit,  # type: ignore[no-untyped-def]
                                             file: str, line: int, key: str | None, message: str) -> None:
    main = main_edit(GOOD) if main_edit else GOOD
    inc = inc_edit(KECAMATAN) if inc_edit else KECAMATAN
    with pytest.raises(ConfigError) as info:
        load_config(write_tree(tmp_path, main, inc))
    exc = info.value
    assert exc.file is not None and exc.file.endswith(file)
    assert exc.line == line
    if key is not None:
        assert exc.key is not None and key in exc.key
    assert message in str(exc)
    assert f"{file}:{line}" in str(exc)


def test_missing_env_var_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_NETMON_COMMUNITY", raising=False)
    monkeypatch.setenv("TEST_NETMON_PRIV", "x")
    with pytest.raises(ConfigError, match="TEST_NETMON_COMMUNITY is not set") as info:
        load_config(write_tree(tmp_path))
    assert info.value.line == 8


def test_include_cycle_is_an_error(tmp_path: Path, env: None) -> None:
    (tmp_path / "a.yaml").write_text("include: [b.yaml]\n")
    (tmp_path / "b.yaml").write_text("include: [a.yaml]\n")
    with pytest.raises(ConfigError, match="include cycle"):
        load_config(tmp_path / "a.yaml")


def test_check_config_prints_summary_without_secrets(tmp_path: Path, env: None) -> None:
    result = CliRunner().invoke(app, ["check-config", str(write_tree(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "2 sites, 2 devices, 2 credentials" in result.output
    assert "Baturraden" in result.output
    assert "c0mmunity-s3cret" not in result.output


def test_check_config_reports_error_with_location(tmp_path: Path, env: None) -> None:
    path = write_tree(tmp_path, GOOD.replace("role: router", "role: toaster"))
    result = CliRunner().invoke(app, ["check-config", str(path)])
    assert result.exit_code == 2
    assert "netmon.yaml:30" in result.output and "devices[0].role" in result.output


def test_config_schema_is_json_schema_for_the_file() -> None:
    result = CliRunner().invoke(app, ["config-schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["type"] == "object"
    assert {"sites", "devices", "credentials", "defaults", "include"} <= set(schema["properties"])


def test_example_config_in_deploy_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / "netmon.example.yaml"
    monkeypatch.setenv("NETMON_KIM_COMMUNITY", "example")
    monkeypatch.setenv("NETMON_AP_AUTH_KEY", "example-auth")
    monkeypatch.setenv("NETMON_AP_PRIV_KEY", "example-priv")
    monkeypatch.setenv("NETMON_ROUTEROS_PASSWORD", "example-password")
    for var in ("NETMON_NOTIFY_DISKOMINFO", "NETMON_NOTIFY_KABID", "NETMON_NOTIFY_KIM_MAIL"):
        monkeypatch.setenv(var, "mailto://127.0.0.1:2525?mode=insecure&from=a@b.test&to=c@d.test")
    monkeypatch.setenv("NETMON_SMTP_PASSWORD", "example-smtp")
    cfg = load_config(example)
    assert cfg.devices and cfg.sites
    from alerts.setup import alert_config

    alerts = alert_config(cfg.alerts)
    assert [c.name for c in alerts.channels] == ["diskominfo", "kepala-bidang"]
    assert alerts.escalation.channels == ("kepala-bidang",) and alerts.metric_rules[0].threshold == 0.95
    assert "example-smtp" not in repr(cfg.alerts) and "mailto" not in repr(alerts)


def test_flap_and_area_timings_are_configurable_under_alerts_rules() -> None:
    from alerts.setup import alert_config
    from netmon.config.alerting import AlertsConfig, AlertSettings

    section = AlertsConfig.model_validate({"rules": {"flap_changes": 6, "flap_window_s": 900, "flap_for_s": 60,
                                                     "flap_calm_s": 600, "area_clear_s": 120, "area_window_s": 300}})
    rules = alert_config(AlertSettings(section)).rules
    assert (rules.flap_changes, rules.flap_window_s, rules.flap_for_s, rules.flap_calm_s) == (6, 900, 60, 600)
    assert (rules.area_clear_for_s, rules.area_window_s) == (120, 300)
    defaults = alert_config(AlertSettings()).rules
    assert (defaults.device_down.for_s, defaults.flap_for_s, defaults.area_clear_for_s) == (120, 300, 300)


def test_error_message_text_example() -> None:
    exc = ConfigError("unknown site 'x'", file="a.yaml", line=3, key="devices[0].site")
    assert str(exc) == "a.yaml:3: devices[0].site: unknown site 'x'"
    assert textwrap.dedent(str(exc)) == str(exc)


ROUTEROS = """\
defaults:
  credential: snmp
  routeros_credential: api
  routeros: {timeout_s: 4}
credentials:
  snmp:
    snmp_v2c: {community: {env: TEST_NETMON_COMMUNITY}}
  api:
    routeros: {user: netmon-ro, password: {env: TEST_NETMON_PRIV}}
sites:
  - {id: kim-a, name: KIM A, desa: A, kecamatan: K, kabupaten: B}
devices:
  - id: a-router
    site: kim-a
    role: router
    address: 10.0.0.1
    sources: [snmp, routeros]
    routeros: {tls: true, tls_verify: false}
  - id: a-ap
    site: kim-a
    role: ap
    address: 10.0.0.2
    sources: [routeros]
    routeros_credential: snmp
"""


def test_routeros_device_gets_api_settings_and_both_sources(tmp_path: Path, env: None) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(ROUTEROS.replace("    routeros_credential: snmp\n", ""))
    cfg = load_config(path)
    router = cfg.devices["a-router"]
    assert router.sources == (Source.SNMP, Source.ROUTEROS)
    assert router.snmp is not None and router.routeros is not None
    assert router.routeros.user == "netmon-ro" and router.routeros.password.reveal() == "priv-s3cret-456"
    assert router.routeros.tls and not router.routeros.tls_verify and router.routeros.effective_port == 8729
    assert router.routeros.timeout_s == 4
    ap = cfg.devices["a-ap"]
    assert ap.snmp is None and ap.routeros is not None and ap.routeros.effective_port == 8728
    assert cfg.credential_kinds == {"snmp": "snmp_v2c", "api": "routeros"}


def test_snmp_credential_used_for_routeros_is_an_error(tmp_path: Path, env: None) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(ROUTEROS)
    with pytest.raises(ConfigError, match="not a routeros credential") as info:
        load_config(path)
    assert info.value.key == "devices[a-ap].routeros_credential" and info.value.line == 24


def test_maintenance_windows_and_state_policy_are_read(tmp_path: Path, env: None) -> None:
    extra = """\
state: {down_after_failures: 4, down_after_s: 300, up_after_successes: 1}
maintenance:
  - name: weekly
    start: 2026-12-05T22:00:00
    duration_s: 7200
    every: week
    kecamatan: [Baturraden]
  - name: one-off
    start: 2026-12-01T08:00:00+07:00
    end: 2026-12-01T10:00:00+07:00
    devices: [ks-router]
"""
    cfg = load_config(write_tree(tmp_path, GOOD + extra))
    assert cfg.state.down_after_failures == 4 and cfg.state.up_after_successes == 1
    weekly, once = cfg.maintenance
    assert weekly.every_s == 7 * 86400 and weekly.end - weekly.start == 7200
    assert weekly.start == once.start + 4 * 86400 + 14 * 3600  # a zone-less time is the sites' zone (WIB here)
    assert once.devices == frozenset({"ks-router"}) and once.every_s is None


def test_maintenance_window_naming_an_unknown_device_is_an_error(tmp_path: Path, env: None) -> None:
    extra = "maintenance:\n  - {name: x, start: 2026-12-01T08:00:00, duration_s: 60, devices: [ghost]}\n"
    with pytest.raises(ConfigError, match="unknown device 'ghost'") as info:
        load_config(write_tree(tmp_path, GOOD + extra))
    assert info.value.line == 35


# --- issue #12: what check-config used to accept -----------------------------------------------------------

REJECTED = [
    # (id, edit of GOOD, line, key, message fragment)
    ("address-out-of-range", lambda s: s.replace("address: 10.20.1.1", "address: 300.1.2.3"), 31,
     "devices[0].address", "not a valid IPv4 address"),
    ("address-not-an-ip", lambda s: s.replace("address: 10.20.1.1", 'address: "not an ip"'), 31,
     "devices[0].address", "neither an IP address nor a valid host name"),
    ("address-bad-ipv6", lambda s: s.replace("address: 10.20.1.1", 'address: "fe80::1::2"'), 31,
     "devices[0].address", "not a valid IPv6 address"),
    ("duplicate-key", lambda s: s.replace("    role: router\n", "    role: router\n    role: ap\n"), 31,
     "devices[0].role", "duplicate key (first at line 30)"),
    ("duplicate-top-level-key", lambda s: s + "exporter: {port: 9101}\n", 34, "exporter",
     "duplicate key (first at line 6)"),
    ("empty-file", lambda s: "", 1, None, "the file is empty"),
    ("only-comments", lambda s: "# to be filled in by the kabupaten office\n", 1, None, "the file is empty"),
]


@pytest.mark.parametrize(("edit", "line", "key", "message"), [c[1:] for c in REJECTED],
                         ids=[c[0] for c in REJECTED])
def test_rejected_with_file_line_and_key(tmp_path: Path, env: None, edit, line: int,  # type: ignore[no-untyped-def]
                                         key: str | None, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_tree(tmp_path, edit(GOOD)))
    exc = info.value
    assert exc.file is not None and exc.file.endswith("netmon.yaml")
    assert (exc.line, exc.key if key else None) == (line, key)
    assert message in str(exc)


def test_parent_cycle_across_files_is_rejected(tmp_path: Path, env: None) -> None:
    main = GOOD.replace("    profile: mikrotik\n", "    profile: mikrotik\n    parent: kl-ap\n")
    with pytest.raises(ConfigError, match="parent cycle: ks-router -> kl-ap -> ks-router") as info:
        load_config(write_tree(tmp_path, main))
    assert (info.value.line, info.value.key) == (33, "devices[ks-router].parent")


def test_not_utf8_names_the_line(tmp_path: Path, env: None) -> None:
    path = write_tree(tmp_path)
    path.write_bytes(GOOD.replace("name: Pak Rahmat", "name: Pak Rahm\u00e2t").encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8 text") as info:
        load_config(path)
    assert info.value.line == 26


@pytest.mark.parametrize("address", ["10.20.1.1", "fe80::1", "2001:db8::10", "router.kim-karangsalam.example.id",
                                     "ap-1", "ks-router.local."])
def test_addresses_accepted(tmp_path: Path, env: None, address: str) -> None:
    cfg = load_config(write_tree(tmp_path, GOOD.replace("address: 10.20.1.1", f'address: "{address}"')))
    assert cfg.devices["ks-router"].address == address


def test_relative_data_dir_is_relative_to_the_config_file(tmp_path: Path, env: None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write_tree(tmp_path)
    assert load_config(path).storage.data_dir == str(tmp_path / "netmon-data")
    path.write_text(GOOD + "storage: {data_dir: var/netmon}\n")
    assert load_config(path).storage.data_dir == str(tmp_path / "var" / "netmon")
    path.write_text(GOOD + "storage: {data_dir: /var/lib/netmon}\n")
    assert load_config(path).storage.data_dir == "/var/lib/netmon"


def test_read_only_load_needs_no_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_NETMON_COMMUNITY", raising=False)
    monkeypatch.delenv("TEST_NETMON_PRIV", raising=False)
    cfg = load_config(write_tree(tmp_path), resolve_secrets=False)
    assert set(cfg.devices) == {"ks-router", "kl-ap"}


# --- property: whatever the file holds, check-config ends in a ConfigError (file:line), never anything else ----

KEYS = ["include", "timezone", "defaults", "exporter", "scheduler", "state", "storage", "credentials", "sites",
        "devices", "maintenance", "kabupaten", "id", "site", "role", "address", "parent", "port", "interval_s",
        "snmp_v2c", "community", "env", "file", "name", "desa", "kecamatan", "data_dir", "credential", "<<"]


def _documents() -> st.SearchStrategy[object]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                        st.text(max_size=12), st.sampled_from(["router", "ap", "300.1.2.3", "::1", "kim-a", "a.yaml",
                                                               "WIB", "*.yaml", "../x", "not an ip"]))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)), max_leaves=25)


def _check(text: bytes, *, tree: bool = False) -> None:
    """Load `text` as the main file (`tree`: beside GOOD's include, secret file and environment)."""
    import tempfile
    from unittest import mock

    secrets = {"TEST_NETMON_COMMUNITY": "c0mmunity-s3cret", "TEST_NETMON_PRIV": "priv-s3cret-456"}
    with tempfile.TemporaryDirectory() as work, mock.patch.dict(os.environ, secrets if tree else {}):
        path = write_tree(Path(work)) if tree else Path(work) / "netmon.yaml"
        path.write_bytes(text)
        try:
            load_config(path)
        except ConfigError as exc:
            assert exc.file == str(path) or (exc.file or "").startswith(work), exc
            assert "Traceback" not in str(exc)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(doc=_documents())
def test_random_documents_give_only_config_errors(doc: object) -> None:
    _check(yaml.safe_dump(doc).encode())


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_random_bytes_give_only_config_errors(data: bytes) -> None:
    _check(data)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(edit=st.tuples(st.integers(0, len(GOOD) - 1), st.text(max_size=8)))
def test_edited_good_config_gives_only_config_errors(edit: tuple[int, str]) -> None:
    at, insert = edit
    _check((GOOD[:at] + insert + GOOD[at:]).encode(), tree=True)

"""`netmon check-config` on the exporter's web config file, and usage errors: one line with file:line:key (or the
option), exit 2, never a traceback or a usage box. Runs the real command (helpers from test_cli_edges)."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest
from test_cli_edges import config, one_line, run

__all__ = ["config"]  # the fixture, used by name

GOOD_HASH = bcrypt.hashpw(b"kim-scrape-2026", bcrypt.gensalt(rounds=4)).decode()


def with_web_config(config: Path, text: str | None) -> Path:
    """The config naming `web.yml` next to it (written with `text`, unless None: missing)."""
    body = config.read_text().replace("exporter: {port: ", "exporter: {web_config_file: web.yml, port: ")
    config.write_text(body)
    web = config.parent / "web.yml"
    if text is not None:
        web.write_text(text)
    return web


def test_check_config_accepts_a_good_web_config(config: Path) -> None:
    with_web_config(config, f"basic_auth_users:\n  prometheus: '{GOOD_HASH}'\n")
    result = run("check-config", str(config))
    assert result.returncode == 0, result.stderr


WEB_CONFIG_CASES = [
    # (id, web.yml text, line, key, message fragment)
    ("not-a-bcrypt-hash", "basic_auth_users:\n  prometheus: plain-password\n", 2, "basic_auth_users.prometheus",
     "not a bcrypt hash"),
    ("unknown-key", "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_ca: x\n", 4,
     "tls_server_config.client_ca", "Extra inputs are not permitted"),
    ("missing-cert-file", "tls_server_config:\n  cert_file: nowhere.crt\n  key_file: nowhere.key\n", 2,
     "tls_server_config.cert_file", "no such file"),
    ("duplicate-key", f"basic_auth_users:\n  a: '{GOOD_HASH}'\n  a: '{GOOD_HASH}'\n", 3, "basic_auth_users.a",
     "duplicate key"),
]


@pytest.mark.parametrize(("text", "line", "key", "message"), [c[1:] for c in WEB_CONFIG_CASES],
                         ids=[c[0] for c in WEB_CONFIG_CASES])
def test_check_config_rejects_a_bad_web_config_with_its_file_line_key(config: Path, text: str, line: int,
                                                                      key: str, message: str) -> None:
    web = with_web_config(config, text)
    one_line(run("check-config", str(config)), 2, f"{web}:{line}:", key, message)


def test_a_missing_web_config_file_names_the_key_of_the_main_config(config: Path) -> None:
    web = with_web_config(config, None)
    one_line(run("check-config", str(config)), 2, f"{config}:4:", "exporter.web_config_file", f"no such file: {web}")


@pytest.mark.parametrize(("args", "fragments"), [
    (["check-config", "{config}", "--format", "xml"], ["--format", "'xml' is not one of", "check-config --help"]),
    (["status", "--bogus"], ["No such option: --bogus", "status --help"]),
    (["nosuch"], ["No such command 'nosuch'"]),
], ids=["format-xml", "unknown-option", "unknown-command"])
def test_a_usage_error_is_one_line_and_exit_2(config: Path, args: list[str], fragments: list[str]) -> None:
    result = run(*(a.format(config=config) for a in args))
    one_line(result, 2, *fragments)
    assert "Usage:" not in result.stderr and "╭" not in result.stderr and result.stdout == ""


def test_netmon_alone_still_shows_the_help() -> None:
    result = run()
    assert result.returncode == 2 and "Usage: " in result.stdout and "check-config" in result.stdout

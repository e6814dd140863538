"""The web config file: TLS and basic auth for the daemon's HTTP server, in the format of the Prometheus
exporter toolkit's `web.config.yml`, so one file can serve node_exporter and netmon alike:

    tls_server_config:
      cert_file: netmon.crt        # relative paths are relative to this file
      key_file: netmon.key
    basic_auth_users:
      prometheus: $2b$12$...       # a bcrypt hash (`htpasswd -nBC 12 prometheus`, or python -c "import bcrypt...")

The main config names it with `exporter: {web_config_file: PATH}` (relative to the main config file). Errors
name this file, the line and the key, like every other config error. The certificate and key are loaded here, so
a bad pair fails at start-up, and `netmon check-config` (config loading with secrets) loads it too.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from netmon.config.base import Strict
from netmon.config.loader import _document_path, _key_text, _line_for, _load_yaml
from netmon.errors import ConfigError

# what bcrypt.hashpw writes: $2b$<cost>$<22 salt + 31 hash characters>
BCRYPT_HASH = re.compile(r"^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$")


class TlsServerConfig(Strict):
    cert_file: str
    key_file: str


class WebConfigFile(Strict):
    tls_server_config: TlsServerConfig | None = None
    basic_auth_users: dict[str, str] = {}


@dataclass(frozen=True)
class WebConfig:
    """What the HTTP server needs: a TLS context (None: plain HTTP) and the bcrypt hash of each user (none: open)."""

    tls: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)


def web_config_path(name: str, main_file: str | Path) -> Path:
    """Where `exporter.web_config_file` points: `~` expanded, a relative path taken from the main config's
    directory."""
    return Path(main_file).parent / Path(name).expanduser()


def load_web_config(path: str | Path) -> WebConfig:
    path = Path(path)
    data, lines = _load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys", file=str(path), line=1)
    try:
        parsed = WebConfigFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _document_path(data, first["loc"], missing=first["type"] == "missing")
        raise ConfigError(first["msg"], file=str(path), line=_line_for(loc, lines), key=_key_text(loc)) from None
    users: dict[str, bytes] = {}
    for user, hashed in parsed.basic_auth_users.items():
        if not BCRYPT_HASH.match(hashed):
            raise ConfigError("not a bcrypt hash (expected $2b$<cost>$..., 60 characters)", file=str(path),
                              line=lines.get(("basic_auth_users", user)), key=f"basic_auth_users.{user}")
        users[user] = hashed.encode()
    tls = _tls_context(path, parsed.tls_server_config, lines) if parsed.tls_server_config else None
    return WebConfig(tls, users)


def _tls_context(path: Path, tls: TlsServerConfig, lines: dict[tuple[str | int, ...], int]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # the exporter toolkit's default min_version
    cert, key = (path.parent / tls.cert_file), (path.parent / tls.key_file)
    for name, file in (("cert_file", cert), ("key_file", key)):
        if not file.is_file():
            raise ConfigError(f"no such file: {file}", file=str(path),
                              line=lines.get(("tls_server_config", name)), key=f"tls_server_config.{name}")
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:  # the message names the problem, never the key's content
        raise ConfigError(f"cannot use this certificate and key: {exc}", file=str(path),
                          line=lines.get(("tls_server_config",)), key="tls_server_config") from exc
    return context

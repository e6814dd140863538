"""Which database: NETMON_DATABASE_URL, else `storage.database_url`, else SQLite in `storage.data_dir`."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa

from netmon.config.schema import StorageConfig
from netmon.errors import ConfigError

log = logging.getLogger(__name__)

ENV_VAR = "NETMON_DATABASE_URL"
SQLITE_FILE = "netmon.sqlite3"


def database_url(config: StorageConfig, env: Mapping[str, str] = os.environ) -> str:
    """The SQLAlchemy URL to open. An empty variable counts as unset. The default SQLite file's directory
    is created; PostgreSQL URLs are pinned to the psycopg 3 driver."""
    url = env.get(ENV_VAR) or config.database_url
    if url:
        return normalise(url)
    data_dir = Path(config.data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / SQLITE_FILE}"


def announce_database(url: str, config: StorageConfig, env: Mapping[str, str] = os.environ) -> None:
    """Log once, at start, which database the daemon uses (`url`, from `database_url`) and where that choice came
    from, with the password hidden: an operator must be able to tell SQLite from PostgreSQL from the log alone."""
    origin = (f"from {ENV_VAR}" if env.get(ENV_VAR) else "from storage.database_url" if config.database_url
              else "the default SQLite file in storage.data_dir")
    log.info("storage: database %s (%s)", redact(url), origin)


def normalise(url: str) -> str:
    """`postgres://` and `postgresql://` (psycopg2 by default in SQLAlchemy) become `postgresql+psycopg://`."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"not a database URL: {redact(url)}", key="storage.database_url") from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql",
                          key="storage.database_url")
    return parsed.render_as_string(hide_password=False)


def redact(url: str) -> str:
    """The URL with its password hidden, for logs and errors."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable URL>"

"""A random key kept in a file beside the database (not in it), for keyed hashes that must stay the same
across restarts: the fingerprints of stored discoveries, which cover device credentials (docs/storage.md).

The file holds 64 hex digits, mode 0600, written to a temporary name, fsync'd and renamed. A missing or
damaged file is replaced by a new key: what was hashed with the old one no longer matches, which costs one
rediscovery of each device and nothing else.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from netmon.backlog import fsync_dir

log = logging.getLogger(__name__)

KEY_BYTES = 32


def load_or_create(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
        if len(key) == KEY_BYTES:
            return key
        log.warning("key file %s has %d bytes, not %d: making a new key", path, len(key), KEY_BYTES)
    except FileNotFoundError:
        pass
    except (ValueError, UnicodeDecodeError):
        log.warning("key file %s is not hex: making a new key", path)
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return key

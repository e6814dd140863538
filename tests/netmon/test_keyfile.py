"""The key beside the database that keys stored-discovery fingerprints: made once, kept, private, and
replaced (not crashed on) when damaged."""

from __future__ import annotations

from pathlib import Path

import pytest

from netmon.keyfile import KEY_BYTES, load_or_create


def test_key_is_created_once_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "data" / "discovery.key"
    key = load_or_create(path)
    assert len(key) == KEY_BYTES
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create(path) == key
    assert not list(path.parent.glob("*.tmp"))


@pytest.mark.parametrize("content", ["", "not hex at all\n", "abcd\n", "ff" * 33], ids=["empty", "text", "short",
                                                                                        "long"])
def test_a_damaged_key_file_is_replaced_by_a_new_key(tmp_path: Path, content: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "discovery.key"
    path.write_text(content)
    key = load_or_create(path)
    assert len(key) == KEY_BYTES and load_or_create(path) == key
    assert bytes.fromhex(path.read_text().strip()) == key
    assert content == "" or "making a new key" in caplog.text

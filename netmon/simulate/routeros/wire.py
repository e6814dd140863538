"""RouterOS API words and sentences on the wire (pure; no sockets).

A word is an encoded length followed by that many bytes; a sentence is words ended by a zero-length word.
Length encoding (MikroTik manual, "API" page; see ../shared/corpus/routeros/PROTOCOL.md):

| length                  | bytes | encoding                |
|-------------------------|-------|-------------------------|
| < 0x80                  | 1     | len                     |
| < 0x4000                | 2     | len | 0x8000            |
| < 0x200000              | 3     | len | 0xC00000          |
| < 0x10000000            | 4     | len | 0xE0000000        |
| <= 0xFFFFFFFF           | 5     | 0xF0, then len (4 bytes) |

A first byte >= 0xF8 is a reserved control byte: "an API client cannot proceed" after one, and neither does
this router (the session answers `!fatal` and closes). 0xF1..0xF7 are not defined by the manual either and
are rejected the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_LENGTH = 0xFFFFFFFF
CONTROL_BYTE = 0xF8


class WireError(ValueError):
    """The byte stream is not a valid sequence of API words (control byte, oversized word)."""


def encode_length(length: int) -> bytes:
    if length < 0:
        raise ValueError("negative word length")
    if length < 0x80:
        return bytes((length,))
    if length < 0x4000:
        return (length | 0x8000).to_bytes(2, "big")
    if length < 0x200000:
        return (length | 0xC00000).to_bytes(3, "big")
    if length < 0x10000000:
        return (length | 0xE0000000).to_bytes(4, "big")
    if length <= MAX_LENGTH:
        return b"\xf0" + length.to_bytes(4, "big")
    raise ValueError(f"word too long: {length}")


def length_size(first: int) -> int:
    """How many bytes the length starting with `first` takes (1..5); WireError for control bytes."""
    if first < 0x80:
        return 1
    if first < 0xC0:
        return 2
    if first < 0xE0:
        return 3
    if first < 0xF0:
        return 4
    if first == 0xF0:
        return 5
    raise WireError(f"control byte 0x{first:02x}")


def decode_length(data: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int] | None:
    """(length, position after the length) from `data[pos:]`, or None if more bytes are needed."""
    if pos >= len(data):
        return None
    first = data[pos]
    size = length_size(first)
    if pos + size > len(data):
        return None
    if size == 1:
        return first, pos + 1
    if size == 5:
        return int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
    raw = int.from_bytes(data[pos:pos + size], "big")
    mask = (1 << (8 * size - size)) - 1  # drop the size's leading marker bits
    return raw & mask, pos + size


def encode_word(word: str | bytes) -> bytes:
    raw = word.encode("utf-8", "surrogateescape") if isinstance(word, str) else word
    return encode_length(len(raw)) + raw


def encode_sentence(words: Iterable[str | bytes]) -> bytes:
    return b"".join(encode_word(w) for w in words) + b"\x00"


def decode_word(raw: bytes) -> str:
    """Bytes to str losslessly: non-UTF-8 bytes survive a decode/encode round trip."""
    return raw.decode("utf-8", "surrogateescape")


class SentenceDecoder:
    """Incremental decoder: `feed(bytes)` returns the sentences completed so far (each a list of words).

    Empty sentences (a lone zero-length word) are dropped, as RouterOS ignores them. `max_word` bounds memory
    (a WireError is raised for a longer word before its bytes arrive).
    """

    def __init__(self, *, max_word: int = 64 * 1024 * 1024) -> None:
        self._buffer = bytearray()
        self._words: list[str] = []
        self._max_word = max_word

    @property
    def pending(self) -> int:
        """Bytes received that are not yet part of a complete sentence."""
        return len(self._buffer) + sum(len(w) for w in self._words)

    def feed(self, data: bytes) -> list[list[str]]:
        self._buffer += data
        sentences: list[list[str]] = []
        pos = 0
        buf = self._buffer
        while True:
            decoded = decode_length(buf, pos)
            if decoded is None:
                break
            length, start = decoded
            if length > self._max_word:
                raise WireError(f"word of {length} bytes exceeds the limit")
            if start + length > len(buf):
                break
            pos = start + length
            if length == 0:
                if self._words:
                    sentences.append(self._words)
                    self._words = []
                continue
            self._words.append(decode_word(bytes(buf[start:pos])))
        del buf[:pos]
        return sentences

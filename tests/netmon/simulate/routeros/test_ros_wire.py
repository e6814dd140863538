"""Word-length encoding/decoding with every vector of PROTOCOL.md, and the incremental sentence decoder."""

import pytest

from netmon.simulate.routeros.wire import (
    SentenceDecoder,
    WireError,
    decode_length,
    encode_length,
    encode_sentence,
)

VECTORS = [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8080"), (130, "8082"), (0x87, "8087"), (0x3FFF, "bfff"),
    (0x4000, "c04000"), (0x4321, "c04321"), (2097140, "dffff4"), (0x1FFFFF, "dfffff"), (0x200000, "e0200000"),
    (0x2ACDEF, "e02acdef"), (268435440, "effffff0"), (0x10000000, "f010000000"), (0x10000080, "f010000080"),
]


@pytest.mark.parametrize(("length", "encoded"), VECTORS, ids=[f"len-{v[0]:#x}" for v in VECTORS])
def test_length_encodes_and_decodes_like_the_manual_table(length: int, encoded: str) -> None:
    raw = bytes.fromhex(encoded)
    assert encode_length(length) == raw
    assert decode_length(raw) == (length, len(raw))


@pytest.mark.parametrize("first", [0xF8, 0xF9, 0xFE, 0xFF, 0xF1])
def test_control_bytes_are_rejected(first: int) -> None:
    with pytest.raises(WireError):
        decode_length(bytes([first, 0, 0, 0, 0]))


def test_incomplete_length_asks_for_more() -> None:
    assert decode_length(b"\xc0\x40") is None


def test_login_sentence_bytes_match_protocol_notes() -> None:
    expected = bytes.fromhex("062f6c6f67696e" "0b3d6e616d653d61646d696e" "0a3d70617373776f72643d" "00")
    assert encode_sentence(["/login", "=name=admin", "=password="]) == expected


def test_decoder_handles_byte_by_byte_feeds_and_skips_empty_sentences() -> None:
    data = b"\x00" + encode_sentence(["/system/resource/print", "=.proplist=uptime,version", ".tag=7"]) + b"\x00"
    decoder = SentenceDecoder()
    sentences = [s for byte in data for s in decoder.feed(bytes([byte]))]
    assert sentences == [["/system/resource/print", "=.proplist=uptime,version", ".tag=7"]]
    assert decoder.pending == 0


@pytest.mark.parametrize("size", [0x3FFF + 1, 0x1FFFFF + 1])
def test_long_words_round_trip(size: int) -> None:
    word = "=comment=" + "x" * size
    assert SentenceDecoder().feed(encode_sentence(["/interface/set", word])) == [["/interface/set", word]]


def test_non_utf8_bytes_survive_a_round_trip() -> None:
    data = encode_sentence([b"/x", b"=a=\xff\xfe"])
    (sentence,) = SentenceDecoder().feed(data)
    assert encode_sentence(sentence) == data


def test_oversized_word_is_refused_before_buffering() -> None:
    with pytest.raises(WireError):
        SentenceDecoder(max_word=100).feed(encode_length(101))

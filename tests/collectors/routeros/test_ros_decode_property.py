"""Property tests (hypothesis) of RouterOS API word/sentence decoding: random bytes, and real sentences with
bytes changed, only ever give sentences or the documented error.

- The simulator's incremental decoder (netmon/simulate/routeros/wire.py, `SentenceDecoder`): fed in random
  chunks, it gives sentences or raises `WireError`; sentences it encodes come back whole.
- The collector's adapter (collectors/routeros/client.py; the routeros-api library decodes the words): a router
  that answers the login with random bytes, then closes, gives rows or a `CollectorError` (unreachable,
  authentication failed, protocol error), never another exception and never a hang.

Derandomized (the same examples on every run) and bounded to a few seconds each."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.routeros.client import RouterOsClient
from netmon.errors import CollectorError
from netmon.model import RouterOsSettings, Secret
from netmon.simulate.routeros.wire import SentenceDecoder, WireError, encode_sentence

DERANDOMIZED = {"deadline": None, "derandomize": True, "database": None,
                "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]}
# words a router sends (PROTOCOL.md in the corpus): replies to login and to a print
WORDS = st.sampled_from(["!done", "!re", "!trap", "!fatal", "=ret=abc", "=message=invalid user name or password",
                         "=.id=*1", "=name=ether1", "=running=true", ".tag=1", "=rx-byte=123456"])
SENTENCES = st.lists(st.lists(WORDS, min_size=1, max_size=6), min_size=1, max_size=4)


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=400, **DERANDOMIZED)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=6))
def test_the_sentence_decoder_gives_sentences_or_wire_error(data: bytes, cuts: list[int]) -> None:
    decoder = SentenceDecoder(max_word=1 << 16)
    try:
        for chunk in chunks(data, cuts):
            for sentence in decoder.feed(chunk):
                assert sentence and all(isinstance(word, str) for word in sentence)
    except WireError:
        pass


@settings(max_examples=200, **DERANDOMIZED)
@given(SENTENCES, st.lists(st.integers(0, 300), max_size=6))
def test_encoded_sentences_come_back_whole_however_they_are_cut(sentences: list[list[str]], cuts: list[int]) -> None:
    decoder = SentenceDecoder()
    out = [s for chunk in chunks(b"".join(encode_sentence(s) for s in sentences), cuts) for s in decoder.feed(chunk)]
    assert out == sentences and decoder.pending == 0


# --- the collector's adapter against a router answering with garbage -------------------------------------

class GarbageRouter:
    """A TCP peer that reads what the client sends first (the login), answers with the bytes it was given and
    closes the connection."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.answer = b""
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(self.answer)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def garbage_router() -> Iterator[GarbageRouter]:
    router = GarbageRouter()
    yield router
    router.close()


@pytest.fixture(scope="module")
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


def real_then_damaged() -> st.SearchStrategy[bytes]:
    """Real reply sentences (the login's !done, rows of a print) with a few bytes changed, or random bytes."""
    @st.composite
    def damaged(draw: st.DrawFn) -> bytes:
        data = bytearray(b"".join(encode_sentence(s) for s in draw(SENTENCES)))
        for _ in range(draw(st.integers(0, 3))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)

    return st.one_of(st.binary(max_size=200), damaged())


@settings(max_examples=60, **DERANDOMIZED)
@given(answer=real_then_damaged())
def test_the_adapter_gives_rows_or_a_collector_error(garbage_router: GarbageRouter, executor: ThreadPoolExecutor,
                                                     answer: bytes) -> None:
    garbage_router.answer = answer
    settings_ = RouterOsSettings(user="netmon", password=Secret("pw"), port=garbage_router.port, timeout_s=2.0)

    async def ask() -> None:
        client = RouterOsClient("127.0.0.1", settings_, executor)
        try:
            rows = await client.print("/interface", proplist=("name",))
            assert isinstance(rows, list)
        except CollectorError as exc:
            assert "pw" not in str(exc).split()  # the password never in a message
        finally:
            await client.close()

    asyncio.run(ask())

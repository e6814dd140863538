"""The per-connection state machine, without sockets: login variants, traps, tags, !empty, cancel, quit."""

import pytest

from netmon.simulate.routeros.data import RouterData
from netmon.simulate.routeros.server import default_spec
from netmon.simulate.routeros.session import Session, challenge_response

NOW = 1_760_000_000.0  # 2025-10-09 15:53 WIB


def session(version: str = "7.16", *, wifi: bool = False, now: float = NOW) -> Session:
    return Session(RouterData(default_spec("r1", version, wifi=wifi), started_at=now - 60), "admin", "pw",
                   lambda: now)


def logged_in(version: str = "7.16", **kw: object) -> Session:
    s = session(version, **kw)  # type: ignore[arg-type]
    s.handle(["/login", "=name=admin", "=password=pw"])
    assert s.logged_in
    return s


@pytest.mark.parametrize(("password", "challenge", "response"), [
    ("", "93b438ec9b80057c06dd9fe67d56aa9a", "00e134102a9d330dd7b1849fedfea3cb57"),
    ("", "856780b7411eefd3abadee2058c149a3", "005062f7a5ef124d34675bf3e81f56c556"),
], ids=["manual-current", "manual-old"])
def test_challenge_response_matches_mikrotik_examples(password: str, challenge: str, response: str) -> None:
    assert challenge_response(password, challenge) == response


def test_modern_login_ok_and_wrong_password() -> None:
    s = session()
    assert s.handle(["/login", "=name=admin", "=password=nope", ".tag=1"]) == (
        [["!trap", "=message=invalid user name or password (6)", ".tag=1"], ["!done", ".tag=1"]], False)
    assert s.handle(["/login", "=name=admin", "=password=pw"]) == ([["!done"]], False)
    assert s.logged_in


def test_pre_643_router_answers_plain_login_with_a_challenge_then_accepts_the_response() -> None:
    s = session("6.42")
    replies, _ = s.handle(["/login", "=name=admin", "=password=pw"])
    assert replies[0][0] == "!done" and replies[0][1].startswith("=ret=") and len(replies[0][1]) == 5 + 32
    assert not s.logged_in
    bad = s.handle(["/login", "=name=admin", "=response=00" + "0" * 32])[0]
    assert bad == [["!trap", "=message=cannot log in"], ["!done"]]
    challenge = s.handle(["/login"])[0][0][1][5:]
    assert s.handle(["/login", "=name=admin", f"=response={challenge_response('pw', challenge)}"])[0] == [["!done"]]


def test_command_before_login_traps_and_too_many_is_fatal() -> None:
    s = session()
    assert s.handle(["/interface/print"]) == ([["!trap", "=message=not logged in"], ["!done"]], False)
    for _ in range(20):
        replies, close = s.handle(["/interface/print"])
    assert close and replies[0][0] == "!fatal"


def test_missing_package_menu_traps_like_routeros_7() -> None:
    s = logged_in("7.16")
    assert s.handle(["/interface/wifi/registration-table/print"])[0] == [
        ["!trap", "=message=no such command or directory (wifi)"], ["!trap", "=message=no such command prefix"],
        ["!done"]]
    assert s.handle(["/interface/frobnicate"])[0] == [["!trap", "=message=no such command"], ["!done"]]


def test_wifi_menu_is_missing_on_routeros_6_and_wireless_on_a_wifi_router() -> None:
    assert logged_in("6.49.10").handle(["/interface/wifi/print"])[0][0][1].endswith("(wifi)")
    assert logged_in("7.18.2", wifi=True).handle(["/interface/wireless/print"])[0][0][1].endswith("(wireless)")


def test_every_reply_of_a_tagged_command_carries_the_tag() -> None:
    replies, _ = logged_in().handle(["/interface/print", "=.proplist=name", ".tag=abc"])
    assert len(replies) == 11 and all(r[-1] == ".tag=abc" for r in replies)
    assert replies[0] == ["!re", "=name=ether1", ".tag=abc"]


def test_count_only_and_queries() -> None:
    s = logged_in()
    assert s.handle(["/interface/print", "=count-only="])[0] == [["!done", "=ret=10"]]
    assert s.handle(["/interface/print", "=count-only", "?type=vlan"])[0] == [["!done", "=ret=2"]]


@pytest.mark.parametrize(("version", "expected"), [("7.18.2", [["!empty"], ["!done"]]), ("7.17", [["!done"]]),
                                                   ("6.49.10", [["!done"]])])
def test_empty_result_is_empty_from_7_18(version: str, expected: list[list[str]]) -> None:
    assert logged_in(version).handle(["/interface/print", "?type=none"])[0] == expected


def test_cancel_interrupts_a_listen_in_the_manuals_order() -> None:
    s = logged_in()
    assert s.handle(["/interface/listen", ".tag=2"])[0] == []
    assert s.handle(["/cancel", "=tag=2", ".tag=7"])[0] == [
        ["!trap", "=category=2", "=message=interrupted", ".tag=2"], ["!done", ".tag=7"], ["!done", ".tag=2"]]


def test_quit_is_fatal_and_closes() -> None:
    assert logged_in().handle(["/quit", ".tag=9"]) == ([["!fatal", "session terminated on request"]], True)


def test_set_comment_is_printed_back() -> None:
    s = logged_in()
    assert s.handle(["/interface/set", "=.id=ether2", "=comment=ke balai"])[0] == [["!done"]]
    assert s.handle(["/interface/print", "=.proplist=comment", "?name=ether2"])[0][0] == ["!re", "=comment=ke balai"]

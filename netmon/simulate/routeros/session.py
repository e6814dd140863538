"""One API connection's protocol state machine: login, commands, tags, replies (pure; no sockets).

`Session.handle(words)` takes one received sentence and returns the reply sentences and whether the
connection must close. Behaviour of real routers that this reproduces (sources in PROTOCOL.md and below):

- login, RouterOS >= 6.43: `/login =name= =password=` -> `!done`, or `!trap =message=invalid user name or
  password (6)` + `!done` (transcripts in BenMenking/routeros-api#52 on 6.47.6, LaiArturs/RouterOS_API#9).
- login, RouterOS < 6.43: `/login` -> `!done =ret=<32 hex>`; `/login =name= =response=00<md5>` -> `!done`,
  or `!trap =message=cannot log in` + `!done` (LaiArturs/RouterOS_API#9; librouteros docs/api_analysis).
  Such a router ignores the unknown `=password=` of a modern login and answers with the challenge, which
  is what lets routeros-api's plaintext_login fall back to the challenge (PEAR2_Net_RouterOS#37).
- from 6.45 the router no longer keeps the password in a form the MD5 challenge can use: it still hands out
  a challenge but rejects every response (the 6.45.6/6.47.6 reports above); modelled for versions >= 6.45.
- a command before login: `!trap =message=not logged in` + `!done` (not verified on a device; what public
  mocks do). More than `MAX_PRELOGIN` such sentences: `!fatal` and close, as the manual's "too many commands
  before login" note says.
- unknown directory: `!trap =message=no such command or directory (<dir>)`, `!trap =message=no such command
  prefix`, `!done` (librouteros MultiTrapError text in home-assistant/core#68115, tomaae#328 on 7.13/7.14);
  unknown command in a known menu: `!trap =message=no such command` (socialwifi/RouterOS-api#55).
- `/quit` -> `!fatal` + `session terminated on request` (manual, "API command notes"), then close.
- `/cancel [=tag=N]` ends running `listen` commands with `!trap =category=2 =message=interrupted` + `!done`
  on their tag, then `!done` for itself (manual's worked example).
- an empty print answers `!empty` + `!done` from 7.18 (mikrotik-java v3.0.8 notes), plain `!done` before.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from netmon.simulate.routeros import query
from netmon.simulate.routeros.data import SINGLE_ROW, Menu, RouterData

Sentence = list[str]
MAX_PRELOGIN = 16


def challenge_response(password: str, challenge_hex: str) -> str:
    """The pre-6.43 login response: "00" + md5(0x00 + password + challenge bytes) as hex."""
    digest = hashlib.md5(b"\x00" + password.encode() + bytes.fromhex(challenge_hex), usedforsecurity=False)
    return "00" + digest.hexdigest()


@dataclass
class Session:
    data: RouterData
    user: str
    password: str
    clock: Callable[[], float]
    on_login: Callable[[], None] = lambda: None
    logged_in: bool = False
    challenge: str | None = None
    prelogin: int = 0
    listening: set[str] = field(default_factory=set)

    @property
    def version(self) -> tuple[int, ...]:
        return self.data.spec.version_tuple

    def handle(self, words: Sentence) -> tuple[list[Sentence], bool]:
        command, attrs, api, queries = _parse(words)
        tag = api.get("tag")
        suffix = [f".tag={tag}"] if tag else []
        replies, close = self._dispatch(command, attrs, queries, tag)
        return [r if r[0] == "!fatal" or r[-1].startswith(".tag=") else r + suffix for r in replies], close

    def _dispatch(self, command: str, attrs: dict[str, str], queries: list[str],
                  tag: str | None) -> tuple[list[Sentence], bool]:
        if command == "/quit":
            return [["!fatal", "session terminated on request"]], True
        if command == "/login":
            return self._login(attrs), False
        if not self.logged_in:
            self.prelogin += 1
            if self.prelogin > MAX_PRELOGIN:
                return [["!fatal", "too many commands before login"]], True
            return [["!trap", "=message=not logged in"], ["!done"]], False
        if command == "/cancel":
            return self._cancel(attrs.get("tag")), False
        return self._command(command, attrs, queries, tag), False

    def _login(self, attrs: dict[str, str]) -> list[Sentence]:
        if self.logged_in:
            return [["!done"]]
        name = attrs.get("name")
        if "response" in attrs and self.challenge is not None:
            ok = (self.version < (6, 45) and name == self.user
                  and attrs["response"] == challenge_response(self.password, self.challenge))
            self.challenge = None
            return self._login_result(ok)
        if name is None or "password" not in attrs or self.version < (6, 43):
            self.challenge = secrets.token_hex(16)
            return [["!done", f"=ret={self.challenge}"]]
        return self._login_result(name == self.user and attrs["password"] == self.password)

    def _login_result(self, ok: bool) -> list[Sentence]:
        if ok:
            self.logged_in = True
            self.on_login()
            return [["!done"]]
        message = "invalid user name or password (6)" if self.version >= (6, 43) else "cannot log in"
        return [["!trap", f"=message={message}"], ["!done"]]

    def _cancel(self, target: str | None) -> list[Sentence]:
        """Manual's order: `!trap` on the cancelled tag, `!done` for /cancel, then `!done` on the cancelled tag."""
        cancelled = sorted(self.listening) if target is None else [t for t in self.listening if t == target]
        self.listening.difference_update(cancelled)
        traps = [["!trap", "=category=2", "=message=interrupted", f".tag={t}"] for t in cancelled]
        dones = [["!done", f".tag={t}"] for t in cancelled]
        return [*traps, ["!done"], *dones]

    def _command(self, command: str, attrs: dict[str, str], queries: list[str],
                 tag: str | None) -> list[Sentence]:
        parts = tuple(p for p in command.split("/") if p)
        menu: Menu = parts[:-1]
        verb = parts[-1] if parts else ""
        directories = self.data.directories()
        for i in range(1, len(menu) + 1):
            if menu[:i] not in directories:
                return [["!trap", f"=message=no such command or directory ({menu[i - 1]})"],
                        ["!trap", "=message=no such command prefix"], ["!done"]]
        if menu not in self.data.menus() or verb not in ("print", "getall", "listen", "set"):
            return [["!trap", "=message=no such command"], ["!done"]]
        now = self.clock()
        if verb == "set":
            target = attrs.pop(".id", attrs.get("numbers", ""))
            values = {k: v for k, v in attrs.items() if k != "numbers"}
            if not self.data.set(menu, target, values, now):
                return [["!trap", "=category=0", "=message=no such item"], ["!done"]]
            return [["!done"]]
        if verb == "listen":
            if tag is None:
                return [["!trap", "=message=listen needs a tag"], ["!done"]]  # untagged listen blocks forever
            self.listening.add(tag)
            return []
        return self._print(menu, attrs, queries, now)

    def _print(self, menu: Menu, attrs: dict[str, str], queries: list[str], now: float) -> list[Sentence]:
        try:
            query.check(queries)
        except query.QueryError as exc:
            return [["!trap", f"=message={exc}"], ["!done"]]
        rows = [r for r in self.data.rows(menu, now) if query.matches(queries, r)] if queries \
            else self.data.rows(menu, now)
        if "count-only" in attrs:
            return [["!done", f"=ret={len(rows)}"]]
        proplist = [p for p in attrs.get(".proplist", "").split(",") if p] if ".proplist" in attrs else None
        replies: list[Sentence] = []
        for row in rows:
            if proplist is None:
                replies.append(["!re", *(f"={k}={v}" for k, v in row.items())])
            else:
                replies.append(["!re", *(f"={k}={row[k]}" for k in proplist if k in row)])
        if not replies and self.version >= (7, 18) and menu not in SINGLE_ROW:
            replies.append(["!empty"])
        replies.append(["!done"])
        return replies


def _parse(words: Sentence) -> tuple[str, dict[str, str], dict[str, str], list[str]]:
    """(command, `=name=value` attributes, `.name=value` API attributes, `?` query words)."""
    attrs: dict[str, str] = {}
    api: dict[str, str] = {}
    queries: list[str] = []
    for word in words[1:]:
        if word.startswith("="):
            name, _, value = word[1:].partition("=")  # routeros-api sends `=name` for an empty value
            attrs[name] = value
        elif word.startswith("."):
            name, _, value = word[1:].partition("=")
            api[name] = value
        elif word.startswith("?"):
            queries.append(word)
    return words[0], attrs, api, queries

"""The exception tree is one list: every NetmonError subclass anywhere in netmon, collectors or alerts is
defined in netmon/errors.py and named in its `__all__`; and `library_message` keeps a library's words
without the secrets."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import pytest

import alerts
import collectors
import netmon
from netmon import errors
from netmon.errors import NetmonError, library_message, redact, url_secrets
from netmon.model import Secret

# Alembic's environment runs migrations when imported; it defines no classes of ours
NOT_IMPORTABLE = ("netmon.storage.migrations",)


def _modules() -> list[ModuleType]:
    found = []
    for package in (netmon, collectors, alerts):
        found.append(package)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.startswith(NOT_IMPORTABLE):
                found.append(importlib.import_module(info.name))
    return found


def _netmon_errors() -> dict[str, type[NetmonError]]:
    found: dict[str, type[NetmonError]] = {}
    for module in _modules():
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, NetmonError) and value.__module__.split(".")[0] in ("netmon", "collectors", "alerts"):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_the_walk_sees_the_whole_code_base() -> None:
    names = {m.__name__ for m in _modules()}
    assert {"netmon.storage.store", "collectors.snmp.transport", "alerts.mqtt", "alerts.sinks.mail"} <= names
    assert len(names) > 100


def test_every_netmon_error_subclass_is_defined_and_listed_in_netmon_errors() -> None:
    found = _netmon_errors()
    assert len(found) >= 19
    elsewhere = sorted(name for name, cls in found.items() if cls.__module__ != "netmon.errors")
    assert elsewhere == [], "define these in netmon/errors.py"
    unlisted = sorted(cls.__name__ for cls in found.values() if cls.__name__ not in errors.__all__)
    assert unlisted == [], "list these in netmon.errors.__all__"
    undocumented = sorted(cls.__name__ for cls in found.values()
                          if not re.search(rf"^[ │├└─]+{cls.__name__}\b", errors.__doc__ or "", re.MULTILINE))
    assert undocumented == [], "draw these in the tree of netmon/errors.py's docstring"


@pytest.mark.parametrize(("message", "secrets", "expected"), [
    ("login failed for pw hunter22", [Secret("hunter22")], "ValueError: login failed for pw ***"),
    ("key abcdef and abc", ["abc", "abcdef"], "ValueError: key *** and ***"),
    ("multi\nline   text", [None, ""], "ValueError: multi line text"),
    ("", [], "ValueError"),
], ids=["secret", "longest-first", "one-line", "no-message"])
def test_library_message_keeps_the_words_and_hides_the_secrets(message: str, secrets: list[Secret | str | None],
                                                                 expected: str) -> None:
    assert library_message(ValueError(message), secrets) == expected


def test_library_message_hides_a_secret_before_cutting_it_short() -> None:
    text = library_message(OSError("x" * 290 + "topsecret-value"), ["topsecret-value"], limit=300)
    assert "tops" not in text and text.endswith("*")


def test_url_secrets_cover_password_tokens_and_apprise_hosts() -> None:
    url = "tgram://123456789:AAHbottoken/987654321?format=text&token=querytoken123"
    text = redact(f"failed {url} at 123456789:AAHbottoken with querytoken123", url_secrets(url, host=True))
    assert "AAHbottoken" not in text and "querytoken123" not in text
    assert redact("https://user:pw-123@helpdesk.example/hook", url_secrets("https://user:pw-123@h/x")) \
        == "https://user:***@helpdesk.example/hook"

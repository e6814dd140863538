"""`print` query words (`?...`), evaluated per row as the RouterOS API manual describes (pure).

From the manual's "Queries" section (wiki Manual:API; same text on help.mikrotik.com):

- the query is evaluated with a stack of booleans that initially holds infinitely many `true` values; the
  row is selected unless the stack holds at least one `false` when all words are evaluated;
- `?name` pushes whether the row has property `name`; `?-name` whether it does not;
- `?name=x` and `?=name=x` push whether the property equals `x`; `?<name=x` / `?>name=x` less / greater;
- `?#ops` applies operations left to right: a run of digits followed by another character pushes a copy
  of the value at that index (top is 0); digits at the end of the word replace the whole stack with that
  value; `!` negates the top value; `&` / `|` pop two values and push their and / or; `.` after an index
  does nothing, `.` after anything else pushes a copy of the top value.

Comparison is numeric when both sides are integers, textual otherwise (RouterOS compares typed values; the
simulator's values are strings). There is no regex (`~`) operator in API queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Row = Mapping[str, str]


class QueryError(ValueError):
    """A malformed query word (the session turns it into a `!trap`)."""


class _Stack:
    """A boolean stack standing on an infinite floor of `true`."""

    def __init__(self) -> None:
        self.values: list[bool] = []

    def push(self, value: bool) -> None:
        self.values.append(value)

    def pop(self) -> bool:
        return self.values.pop() if self.values else True

    def at(self, index: int) -> bool:
        return self.values[-1 - index] if index < len(self.values) else True

    def replace_all(self, value: bool) -> None:
        self.values = [value]


def _compare(left: str, right: str) -> int:
    if _is_int(left) and _is_int(right):
        a, b = int(left), int(right)
    else:
        a, b = left, right  # type: ignore[assignment]
    return (a > b) - (a < b)


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _split(body: str, word: str) -> tuple[str, str]:
    name, sep, value = body.partition("=")
    if not sep or not name:
        raise QueryError(f"malformed query word {word!r}")
    return name, value


def _operations(ops: str, stack: _Stack) -> None:
    i = 0
    while i < len(ops):
        if ops[i].isdigit():
            j = i
            while j < len(ops) and ops[j].isdigit():
                j += 1
            index = int(ops[i:j])
            if j == len(ops):
                stack.replace_all(stack.at(index))
                return
            stack.push(stack.at(index))
            i = j + 1 if ops[j] == "." else j
            continue
        char = ops[i]
        if char == "!":
            stack.push(not stack.pop())
        elif char == "&":
            b, a = stack.pop(), stack.pop()
            stack.push(a and b)
        elif char == "|":
            b, a = stack.pop(), stack.pop()
            stack.push(a or b)
        elif char == ".":
            stack.push(stack.at(0))
        else:
            raise QueryError(f"unknown query operation {char!r}")
        i += 1


def _evaluate_word(word: str, row: Row, stack: _Stack) -> None:
    body = word[1:]
    if body.startswith("#"):
        _operations(body[1:], stack)
    elif body.startswith("-"):
        stack.push(body[1:] not in row)
    elif body.startswith("<") or body.startswith(">"):
        name, value = _split(body[1:], word)
        if name not in row:
            stack.push(False)
        else:
            order = _compare(row[name], value)
            stack.push(order < 0 if body[0] == "<" else order > 0)
    else:
        if body.startswith("="):
            body = body[1:]
        name, sep, value = body.partition("=")
        if not name:
            raise QueryError(f"malformed query word {word!r}")
        if not sep:
            stack.push(name in row)
        else:
            stack.push(row.get(name, "") == value if value == "" else row.get(name) == value)


def matches(words: Sequence[str], row: Row) -> bool:
    """Whether `row` is selected by the query `words` (each starting with `?`)."""
    stack = _Stack()
    for word in words:
        _evaluate_word(word, row, stack)
    return all(stack.values)


def check(words: Sequence[str]) -> None:
    """Raise QueryError for a malformed query before any row is evaluated."""
    matches(words, {})

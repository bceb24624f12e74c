"""Parse the workspace's string form of a condition, e.g.
``on_cron("0 6 * * *", "Europe/Berlin") & checks_passed()``.

A small recursive-descent parser over a fixed table of names; nothing is ever evaluated as
Python. Grammar (``~`` binds tightest, then ``&``, then ``|``)::

    expr    := and ("|" and)*
    and     := unary ("&" unary)*
    unary   := "~" unary | postfix
    postfix := atom ("." method "(" args ")")*
    atom    := NAME "(" args ")" | "(" expr ")"
    args    := [arg ("," arg)*]        arg := STRING | expr

Every error is a :class:`ConditionError` whose column points at the culprit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lockgate.federation.automation import conditions as c
from lockgate.federation.errors import ConditionError, ConfigError

_TOKEN = re.compile(
    r"""\s*(?:(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>[&|~().,]))"""
)

_NO_ARGS: dict[str, Callable[[], c.Condition]] = {
    "eager": c.eager,
    "on_missing": c.on_missing,
    "missing": c.missing,
    "in_progress": c.in_progress,
    "execution_failed": c.execution_failed,
    "newly_updated": c.newly_updated,
    "newly_requested": c.newly_requested,
    "any_deps_updated": c.any_deps_updated,
    "any_deps_missing": c.any_deps_missing,
    "any_deps_in_progress": c.any_deps_in_progress,
    "checks_passed": c.checks_passed,
    "code_version_changed": c.code_version_changed,
    "in_latest_time_window": c.in_latest_time_window,
}
_CRON: dict[str, Callable[[str, str], c.Condition]] = {
    "on_cron": c.on_cron,
    "cron_tick_passed": c.cron_tick_passed,
    "all_deps_updated_since_cron": c.all_deps_updated_since_cron,
}
NAMES = tuple(sorted([*_NO_ARGS, *_CRON]))
METHODS = ("newly_true", "since", "since_last_handled", "with_label")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # name | string | op | end
    text: str
    column: int


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            bad = text[col - 1]
            fix = "close the string with the same quote" if bad in "\"'" else None
            raise ConditionError(f"unexpected character {bad!r}", expression=text, column=col, fix=fix)
        kind = match.lastgroup or "op"
        tokens.append(_Tok(kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()
    tokens.append(_Tok("end", "", len(text.rstrip()) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, what: str, tok: _Tok, fix: str | None = None) -> ConditionError:
        return ConditionError(what, expression=self.text, column=tok.column, fix=fix)

    def expect(self, op: str) -> _Tok:
        tok = self.take()
        if tok.kind != "op" or tok.text != op:
            shown = "the end" if tok.kind == "end" else repr(tok.text)
            raise self.fail(f"expected {op!r}, found {shown}", tok)
        return tok

    def parse(self) -> c.Condition:
        if self.peek().kind == "end":
            what = "the condition is empty"
            raise self.fail(what, self.peek(), fix="write e.g. eager()")
        cond = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.fail(f"unexpected {tok.text!r}", tok, fix="join conditions with & or |")
        return cond

    def expr(self) -> c.Condition:
        cond = self.conj()
        while self.peek().text == "|" and self.peek().kind == "op":
            self.take()
            cond = cond | self.conj()
        return cond

    def conj(self) -> c.Condition:
        cond = self.unary()
        while self.peek().text == "&" and self.peek().kind == "op":
            self.take()
            cond = cond & self.unary()
        return cond

    def unary(self) -> c.Condition:
        if self.peek().kind == "op" and self.peek().text == "~":
            self.take()
            return ~self.unary()
        return self.postfix()

    def postfix(self) -> c.Condition:
        cond = self.atom()
        while self.peek().kind == "op" and self.peek().text == ".":
            self.take()
            tok = self.take()
            if tok.kind != "name" or tok.text not in METHODS:
                raise self.fail(f"unknown method {tok.text!r}", tok, fix="use one of: " + ", ".join(METHODS))
            args = self.args(tok)
            if tok.text == "since":
                cond = cond.since(self.one_condition(tok, args))
            elif tok.text == "with_label":
                cond = cond.with_label(self.strings(tok, args, 1, 1)[0])
            else:
                self.strings(tok, args, 0, 0)
                cond = cond.newly_true() if tok.text == "newly_true" else cond.since_last_handled()
        return cond

    def atom(self) -> c.Condition:
        tok = self.take()
        if tok.kind == "op" and tok.text == "(":
            cond = self.expr()
            self.expect(")")
            return cond
        if tok.kind != "name":
            shown = "the end" if tok.kind == "end" else repr(tok.text)
            raise self.fail(f"expected a condition, found {shown}", tok, fix="write e.g. eager()")
        if tok.text not in _NO_ARGS and tok.text not in _CRON:
            raise self.fail(f"unknown condition {tok.text!r}", tok, fix="use one of: " + ", ".join(NAMES))
        args = self.args(tok)
        if tok.text in _NO_ARGS:
            self.strings(tok, args, 0, 0)
            return _NO_ARGS[tok.text]()
        values = self.strings(tok, args, 1, 2)
        try:
            return _CRON[tok.text](*values)
        except ConfigError as err:
            at = args[1][0] if "time zone" in err.what and len(args) > 1 else args[0][0]
            raise self.fail(err.what, at, fix=err.fix) from None

    def args(self, name: _Tok) -> list[tuple[_Tok, str | c.Condition]]:
        if self.peek().kind != "op" or self.peek().text != "(":
            raise self.fail(f"{name.text} needs parentheses", self.peek(), fix=f"write {name.text}()")
        self.take()
        out: list[tuple[_Tok, str | c.Condition]] = []
        if self.peek().kind == "op" and self.peek().text == ")":
            self.take()
            return out
        while True:
            tok = self.peek()
            if tok.kind == "string":
                self.take()
                out.append((tok, _unquote(tok.text)))
            else:
                out.append((tok, self.expr()))
            if self.peek().kind == "op" and self.peek().text == ",":
                self.take()
                continue
            self.expect(")")
            return out

    def strings(
        self, name: _Tok, args: list[tuple[_Tok, str | c.Condition]], low: int, high: int
    ) -> list[str]:
        if not low <= len(args) <= high:
            want = str(low) if low == high else f"{low} to {high}"
            at = args[high][0] if len(args) > high else name
            raise self.fail(f"{name.text} takes {want} argument(s), got {len(args)}", at)
        values: list[str] = []
        for tok, value in args:
            if not isinstance(value, str):
                raise self.fail(f"{name.text} takes quoted strings", tok, fix='quote it, e.g. "0 6 * * *"')
            values.append(value)
        return values

    def one_condition(self, name: _Tok, args: list[tuple[_Tok, str | c.Condition]]) -> c.Condition:
        if len(args) != 1 or isinstance(args[0][1], str):
            at = args[0][0] if args else name
            raise self.fail(f"{name.text} takes one condition", at, fix="write e.g. .since(newly_updated())")
        return args[0][1]


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse_condition(text: str) -> c.Condition:
    """The condition ``text`` describes; :class:`ConditionError` (a ConfigError) if it does not parse."""
    return _Parser(text).parse()

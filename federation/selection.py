"""The selection language shared by the CLI, the API and the portal.

Grammar (``not`` binds tighter than ``and``, which binds tighter than ``or``)::

    expr      := and_expr ("or" and_expr)*
    and_expr  := not_expr ("and" not_expr)*
    not_expr  := "not" not_expr | "(" expr ")" | term
    term      := [N]"+"? (name | attribute ":" value) "+"[N]?

* ``orders`` names one asset: its full key ``shop/orders`` or a unique component-aligned suffix.
  A name that matches nothing is an :class:`UnknownAssetError` (with suggestions).
* ``shop/stg_*`` is an fnmatch glob over rendered keys; a glob without ``/`` also matches the
  last component. Globs and attributes may match nothing.
* ``+orders`` adds everything upstream, ``2+orders`` two levels of it; ``orders+`` and
  ``orders+2`` go downstream; ``+orders+`` both ways. Graph operators apply to names and
  attributes (``+tag:nightly``), not to parenthesised groups.
* Attributes: ``group:``, ``system:``, ``tag:``, ``owner:``, ``kind:`` and ``key:`` (a glob on the
  rendered key only). Values may be globs.
* ``"odd name"`` and ``tag:"a b"`` quote names and values (``\\"`` escapes a quote inside);
  quoted text is literal, never a glob or a keyword.

Bad syntax raises :class:`SelectionError` with the 1-based column of the culprit.
:func:`parse` is cached, so a repeated query costs only its evaluation.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, TypeAlias

from lockgate.federation.errors import SelectionError, UnknownAssetError

ATTRIBUTES = ("group", "system", "tag", "owner", "kind")
"""Attributes indexed by value; ``key:`` is handled by glob matching."""
KNOWN_ATTRIBUTES = (*ATTRIBUTES, "key")
KEYWORDS = ("and", "or", "not")
_EXAMPLE = "e.g. orders, +orders, shop/stg_*, group:marts and not tag:pii"


class SelectableGraph(Protocol):
    """The id-level queries the evaluator needs; :class:`~lockgate.federation.graph.AssetGraph`
    implements them."""

    def all_ids(self) -> set[int]: ...
    def resolve_id(self, text: str) -> int: ...
    def match_ids(self, pattern: str, *, last_component: bool = True) -> set[int]: ...
    def attribute_ids(self, attribute: str) -> Mapping[str, frozenset[int]]: ...
    def walk_ids(self, start: Iterable[int], *, up: bool, depth: int | None = None) -> set[int]: ...


def is_glob(text: str) -> bool:
    return "*" in text or "?" in text or "[" in text


@dataclass(frozen=True, slots=True, kw_only=True)
class Name:
    """An asset name or key suffix (``glob`` when it has wildcards and was not quoted)."""

    text: str
    glob: bool
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Attribute:
    attribute: str
    value: str
    glob: bool
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Lineage:
    """``operand`` widened upstream and/or downstream; a depth of None means all the way."""

    operand: Name | Attribute
    up: bool = False
    up_depth: int | None = None
    down: bool = False
    down_depth: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Or:
    operands: tuple[Expr, ...]


Expr: TypeAlias = Name | Attribute | Lineage | Not | And | Or


@dataclass(frozen=True, slots=True, kw_only=True)
class _Token:
    kind: str  # "(", ")", "and", "or", "not", "term", "end"
    column: int
    text: str = ""
    quoted: bool = False
    value_quoted: bool = False
    body_column: int = 0
    up: bool = False
    up_depth: int | None = None
    down: bool = False
    down_depth: int | None = None


def _quoted(expression: str, i: int) -> tuple[str, int]:
    """Read a quoted string starting at the quote at ``i``; return it and the index after it."""
    out: list[str] = []
    j = i + 1
    while j < len(expression):
        c = expression[j]
        if c == "\\" and j + 1 < len(expression):
            out.append(expression[j + 1])
            j += 2
        elif c == '"':
            return "".join(out), j + 1
        else:
            out.append(c)
            j += 1
    msg = "this quote is never closed"
    raise SelectionError(msg, expression=expression, column=i + 1, fix="add the closing quote")


def _digits(expression: str, i: int) -> int:
    while i < len(expression) and expression[i].isdigit():
        i += 1
    return i


def tokenize(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    s, n, i = expression, len(expression), 0
    stops = '()+"'
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            tokens.append(_Token(kind=c, column=i + 1))
            i += 1
            continue
        start, up, up_depth = i, False, None
        j = _digits(s, i)
        if j < n and s[j] == "+":
            up, up_depth, i = True, (int(s[i:j]) if j > i else None), j + 1
        if i < n and s[i] == "(":
            msg = "'+' cannot widen a parenthesised group"
            raise SelectionError(
                msg, expression=expression, column=start + 1, fix="put it on each term: +a or +b"
            )
        if i >= n or s[i].isspace() or s[i] in ")+":
            msg = "'+' must touch the name it widens"
            raise SelectionError(
                msg,
                expression=expression,
                column=start + 1,
                fix="write +orders or orders+, without spaces",
            )
        body, quoted, value_quoted = i, False, False
        if s[i] == '"':
            text, i = _quoted(s, i)
            quoted = True
        else:
            while i < n and not s[i].isspace() and s[i] not in stops:
                i += 1
            text = s[body:i]
            if i < n and s[i] == '"':
                if not text.endswith(":"):
                    msg = "a quote in the middle of a name"
                    raise SelectionError(
                        msg,
                        expression=expression,
                        column=i + 1,
                        fix='quote the whole name, e.g. "odd name", or a value, e.g. tag:"a b"',
                    )
                value, i = _quoted(s, i)
                text += value
                value_quoted = True
        down, down_depth = False, None
        if i < n and s[i] == "+":
            j = _digits(s, i + 1)
            down, down_depth, i = True, (int(s[i + 1 : j]) if j > i + 1 else None), j
        if i < n and not s[i].isspace() and s[i] not in "()":
            raise SelectionError(
                f"unexpected {s[i]!r}",
                expression=expression,
                column=i + 1,
                fix='put a space between terms, or quote a name that contains it, e.g. "a+b"',
            )
        if not quoted and not value_quoted and text.lower() in KEYWORDS:
            if up or down:
                raise SelectionError(
                    f"'{text}' is a keyword and cannot take '+'",
                    expression=expression,
                    column=start + 1,
                    fix=f'quote it ("{text}") if it is an asset name',
                )
            tokens.append(_Token(kind=text.lower(), column=start + 1))
            continue
        tokens.append(
            _Token(
                kind="term",
                column=start + 1,
                text=text,
                quoted=quoted,
                value_quoted=value_quoted,
                body_column=body + 1,
                up=up,
                up_depth=up_depth,
                down=down,
                down_depth=down_depth,
            )
        )
    tokens.append(_Token(kind="end", column=n + 1))
    return tokens


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = tokenize(expression)
        self.pos = 0

    def error(self, what: str, column: int, fix: str) -> SelectionError:
        return SelectionError(what, expression=self.expression, column=column, fix=fix)

    def parse(self) -> Expr:
        if self.tokens[0].kind == "end":
            msg = "the selection is empty"
            raise self.error(msg, 1, "name what to select, " + _EXAMPLE)
        expr = self.parse_or()
        tok = self.tokens[self.pos]
        if tok.kind == ")":
            msg = "this ')' has no matching '('"
            raise self.error(msg, tok.column, "remove it or add a '(' before it")
        if tok.kind != "end":
            msg = "expected 'and', 'or' or the end of the selection"
            raise self.error(
                msg,
                tok.column,
                "join terms with 'or' (either) or 'and' (both)",
            )
        return expr

    def parse_or(self) -> Expr:
        operands = [self.parse_and()]
        while self.tokens[self.pos].kind == "or":
            operands.append(self.parse_operand_after(self.tokens[self.pos], self.parse_and))
        return operands[0] if len(operands) == 1 else Or(operands=tuple(operands))

    def parse_and(self) -> Expr:
        operands = [self.parse_not()]
        while self.tokens[self.pos].kind == "and":
            operands.append(self.parse_operand_after(self.tokens[self.pos], self.parse_not))
        return operands[0] if len(operands) == 1 else And(operands=tuple(operands))

    def parse_operand_after(self, op: _Token, parse: Callable[[], Expr]) -> Expr:
        self.pos += 1
        if self.tokens[self.pos].kind in ("end", ")"):
            raise self.error(
                f"nothing follows '{op.kind}'", op.column, f"add a term after '{op.kind}' or remove it"
            )
        return parse()

    def parse_not(self) -> Expr:
        tok = self.tokens[self.pos]
        if tok.kind == "not":
            return Not(operand=self.parse_operand_after(tok, self.parse_not))
        if tok.kind == "(":
            self.pos += 1
            if self.tokens[self.pos].kind == ")":
                msg = "empty parentheses"
                raise self.error(msg, tok.column, "put a term inside, or remove them")
            inner = self.parse_or()
            if self.tokens[self.pos].kind != ")":
                msg = "this '(' is never closed"
                raise self.error(msg, tok.column, "add a matching ')'")
            self.pos += 1
            return inner
        if tok.kind == "term":
            self.pos += 1
            return self.term(tok)
        if tok.kind == "end":
            msg = "the selection ends too early"
            raise self.error(msg, tok.column, _EXAMPLE)
        raise self.error(
            f"expected a name, an attribute or '(' but found '{tok.kind}'",
            tok.column,
            "start with a term, " + _EXAMPLE,
        )

    def term(self, tok: _Token) -> Expr:
        text = tok.text
        attribute, colon, value = text.partition(":")
        atom: Name | Attribute
        if colon and not tok.quoted:
            name = attribute.lower()
            if name not in KNOWN_ATTRIBUTES:
                raise self.error(
                    f"unknown attribute {attribute!r}",
                    tok.body_column,
                    "use one of "
                    + ", ".join(f"{a}:" for a in KNOWN_ATTRIBUTES)
                    + ", or quote a name with ':'",
                )
            if not value:
                raise self.error(
                    f"'{name}:' has no value", tok.body_column + len(attribute) + 1, f"e.g. {name}:marts"
                )
            atom = Attribute(
                attribute=name,
                value=value,
                glob=not tok.value_quoted and is_glob(value),
                column=tok.body_column,
            )
        else:
            atom = Name(text=text, glob=not tok.quoted and is_glob(text), column=tok.body_column)
        if not (tok.up or tok.down):
            return atom
        return Lineage(
            operand=atom, up=tok.up, up_depth=tok.up_depth, down=tok.down, down_depth=tok.down_depth
        )


@lru_cache(maxsize=1024)
def parse(expression: str) -> Expr:
    """Parse a selection expression into its (immutable, cached) syntax tree."""
    return _Parser(expression).parse()


def select_ids(graph: SelectableGraph, expression: str) -> set[int]:
    """Evaluate ``expression`` over ``graph``; the graph's integer ids of the selected assets."""
    return set(evaluate(graph, parse(expression), expression))


def evaluate(graph: SelectableGraph, expr: Expr, expression: str = "") -> set[int] | frozenset[int]:
    """Ids selected by ``expr``. The result may be shared: copy it before changing it."""
    if isinstance(expr, Name):
        if expr.glob:
            return graph.match_ids(expr.text)
        try:
            return {graph.resolve_id(expr.text)}
        except UnknownAssetError as exc:
            raise UnknownAssetError(
                exc.what, where=f"selection {expression!r}, column {expr.column}", fix=exc.fix
            ) from None
    if isinstance(expr, Attribute):
        if expr.attribute == "key":
            return graph.match_ids(expr.value, last_component=False)
        index = graph.attribute_ids(expr.attribute)
        if not expr.glob:
            return index.get(expr.value, frozenset())
        match = fnmatch.fnmatchcase
        hits = [ids for value, ids in index.items() if match(value, expr.value)]
        return set().union(*hits)
    if isinstance(expr, Lineage):
        base = evaluate(graph, expr.operand, expression)
        result = set(base)
        if expr.up:
            result |= graph.walk_ids(base, up=True, depth=expr.up_depth)
        if expr.down:
            result |= graph.walk_ids(base, up=False, depth=expr.down_depth)
        return result
    if isinstance(expr, Not):
        return graph.all_ids() - evaluate(graph, expr.operand, expression)
    if isinstance(expr, Or):
        return set().union(*(evaluate(graph, e, expression) for e in expr.operands))
    # And: intersect the positive operands (smallest first), then subtract the negated ones.
    positives = [evaluate(graph, e, expression) for e in expr.operands if not isinstance(e, Not)]
    negatives = [evaluate(graph, e.operand, expression) for e in expr.operands if isinstance(e, Not)]
    if positives:
        positives.sort(key=len)
        result = set(positives[0]).intersection(*positives[1:])
    else:
        result = graph.all_ids()
    for negative in negatives:
        result -= negative
    return result

"""PQL, parsed with lark: `field:value` conditions joined by `,`/`AND` (binds tighter) and
`OR` (or ` | ` with spaces), with parentheses. A value may be negated with `~`, compared
(`<`, `<=`, `>`, `>=`, `=`), `nil`, a list (`a|b|c`: IN), a range (`a .. b`), or a pattern
(`foo%`, `%foo`, `%foo%`). Errors carry the position and text of the offending token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken
from lark.exceptions import VisitError

GRAMMAR = r"""
start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: term (_AND term)*
?term: _LPAR or_expr _RPAR
     | condition
condition: FIELD _COLON NEG? operand
?operand: NIL              -> nil
        | CMP VALUE        -> compare
        | VALUE (PIPE VALUE)+  -> in_list
        | VALUE            -> plain

FIELD: /[A-Za-z_][A-Za-z0-9_.\-\/]*/
_COLON: /\s*:\s*/
NEG: /~\s*/
CMP: /(<=|>=|<|>|=)\s*/
NIL.2: /nil(?![^\s,()|])/
PIPE: "|"
VALUE: /[^\s,()|~<>=](?:(?!\s+(?i:OR|AND|\|)\s)[^,()|])*/
_AND: /\s*,\s*/ | /\s+(?i:AND)\s+/
_OR: /\s+(?i:OR)\s+/ | /\s+\|\s+/
_LPAR: /\(\s*/
_RPAR: /\s*\)/
"""

Op = Literal["eq", "lt", "le", "gt", "ge", "in", "nil", "like", "range"]
_COMPARISONS: dict[str, Op] = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "=": "eq"}
_FRIENDLY = {
    "_AND": "','",
    "_OR": "'OR'",
    "_RPAR": "')'",
    "_LPAR": "'('",
    "_COLON": "':'",
    "VALUE": "a value",
    "FIELD": "a field name",
    "NIL": "nil",
    "CMP": "a comparison",
    "NEG": "'~'",
    "PIPE": "'|'",
    "$END": "the end of the query",
}


class PQLError(ValueError):
    """A query that cannot be read; `position` (0-based) and `token` point at the problem."""

    def __init__(self, message: str, position: int, token: str) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.token = token


@dataclass(frozen=True)
class Condition:
    field: str
    op: Op
    values: tuple[str, ...]
    negated: bool
    position: int
    """Where the field starts in the query."""
    value_position: int


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Condition | And | Or


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool
    position: int


_PARSER = Lark(GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True)


def _strip(token: Token) -> tuple[str, int]:
    return str(token).strip(), token.start_pos or 0


class _Build(Transformer[Token, Node]):
    def start(self, items: list[Node]) -> Node:
        return items[0]

    def or_expr(self, items: list[Node]) -> Node:
        return Or(tuple(items))

    def and_expr(self, items: list[Node]) -> Node:
        return And(tuple(items))

    def nil(self, items: list[Token]) -> tuple[Op, tuple[str, ...], int]:
        return "nil", (), items[0].start_pos or 0

    def compare(self, items: list[Token]) -> tuple[Op, tuple[str, ...], int]:
        value, position = _strip(items[1])
        return _COMPARISONS[str(items[0]).strip()], (value,), position

    def in_list(self, items: list[Token]) -> tuple[Op, tuple[str, ...], int]:
        values = tuple(str(t).strip() for t in items if t.type == "VALUE")
        return "in", values, items[0].start_pos or 0

    def plain(self, items: list[Token]) -> tuple[Op, tuple[str, ...], int]:
        value, position = _strip(items[0])
        low, dots, high = value.partition("..")
        if dots and low.strip() and high.strip():
            return "range", (low.strip(), high.strip()), position
        if "%" in value:
            return "like", (value,), position
        return "eq", (value,), position

    def condition(self, items: list[object]) -> Condition:
        field = items[0]
        assert isinstance(field, Token)
        negated = any(isinstance(i, Token) and i.type == "NEG" for i in items)
        operand = items[-1]
        assert isinstance(operand, tuple)
        op: Op = operand[0]
        values: tuple[str, ...] = operand[1]
        position: int = operand[2]
        return Condition(str(field), op, values, negated, field.start_pos or 0, position)


def _expected(names: set[str] | frozenset[str]) -> str:
    wanted = sorted({_FRIENDLY.get(n, n.lower()) for n in names})
    return " or ".join(wanted) if wanted else "something else"


def parse(query: str) -> Node:
    """The syntax tree of `query`, or PQLError pointing at the first token that does not fit."""
    offset = len(query) - len(query.lstrip())
    text = query.strip()
    if not text:
        raise PQLError("the query is empty", 0, "")
    try:
        tree = _PARSER.parse(text)
        node = _Build().transform(tree)
    except UnexpectedCharacters as exc:
        position = exc.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        raise PQLError(
            f"unexpected {char!r} at position {position + offset}: "
            f"expected {_expected(exc.allowed or set())}",
            position + offset,
            char,
        ) from None
    except UnexpectedEOF as exc:
        raise PQLError(
            f"the query ends too early: expected {_expected(set(exc.expected))}",
            len(query),
            "",
        ) from None
    except UnexpectedToken as exc:
        token = exc.token
        position = (token.start_pos or 0) if token.type != "$END" else len(text)
        shown = str(token).strip() if token.type != "$END" else ""
        what = f"unexpected {shown!r}" if shown else "the query ends too early"
        raise PQLError(
            f"{what} at position {position + offset}: expected {_expected(exc.expected)}",
            position + offset,
            shown,
        ) from None
    except VisitError as exc:  # pragma: no cover - the transformer has no failing paths
        raise PQLError(str(exc.orig_exc), offset, "") from None
    return _shift(node, offset) if offset else node


def _shift(node: Node, offset: int) -> Node:
    if isinstance(node, Condition):
        return Condition(
            node.field,
            node.op,
            node.values,
            node.negated,
            node.position + offset,
            node.value_position + offset,
        )
    items = tuple(_shift(i, offset) for i in node.items)
    return And(items) if isinstance(node, And) else Or(items)


def parse_sort(sort: str) -> list[SortKey]:
    """`-created_at, metrics.loss` as keys; a leading `-` sorts descending."""
    keys: list[SortKey] = []
    position = 0
    for raw in sort.split(","):
        term = raw.strip()
        start = position + (len(raw) - len(raw.lstrip()))
        position += len(raw) + 1
        if not term:
            continue
        descending = term.startswith("-")
        name = term.lstrip("-+").strip()
        if not name:
            raise PQLError(f"a sort key without a field at position {start}", start, term)
        keys.append(SortKey(name, descending, start))
    return keys

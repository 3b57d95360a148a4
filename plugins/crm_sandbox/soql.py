"""A SOQL subset: parser and compiler to parameterised SQLite SQL.

Supported::

    SELECT f1, f2 | COUNT() FROM Object
    [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

    SELECT g1 [alias], AGG(f) [alias], ... FROM Object [WHERE cond] [GROUP BY g1, ...]
    [HAVING cond] [ORDER BY g1 | AGG(f) ...] [LIMIT n] [OFFSET n]

``AGG`` is ``COUNT``, ``COUNT_DISTINCT``, ``SUM``, ``AVG`` (numeric fields), ``MIN`` or ``MAX``
(not on booleans). An aggregate query answers with ``AggregateResult`` records: grouped fields
under their name, unaliased aggregates as ``expr0``, ``expr1``, ... in select order. Every
selected or ordered field must be grouped; double and dateTime fields cannot be grouped.
HAVING compares aggregates or grouped fields with literals, like WHERE.

``cond`` combines comparisons (``= != <> < <= > >=``), ``LIKE``, ``IN (...)``,
``NOT IN (...)`` with ``AND``, ``OR``, ``NOT`` and parentheses. Like Salesforce, ``AND`` and
``OR`` cannot be mixed at one level without parentheses. Literals: ``'strings'`` with
backslash escapes, numbers, ``true``/``false``, ``null``, datetimes
(``2026-11-01T10:00:00Z``, ``2026-11-01T10:00:00.000+00:00``), dates (``2026-11-01``) and the
date literals ``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n``, ``NEXT_N_DAYS:n``.

Field and object names are case-insensitive and resolved to their canonical casing. The
compiled SQL only ever contains validated identifiers; every literal is a bound parameter.
Unsupported syntax raises :class:`SoqlError` with ``MALFORMED_QUERY``; unknown fields
``INVALID_FIELD``; unknown objects ``INVALID_TYPE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_sandbox import store
from lead_scoring import crm_schema


class SoqlError(Exception):
    """A query Salesforce would reject, with its errorCode (``MALFORMED_QUERY``, ...)."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, datetime, date, dateliteral, op, punct, eof
    text: str  # raw text (for strings: the decoded value)
    pos: int
    value: Any = None  # decoded value for literals; LIKE pattern for strings


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)(?![\w:])
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])
  | (?P<dateliteral>[A-Za-z_]+:\d+)(?!\w)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<quote>')
    """,
    re.VERBOSE,
)

_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'"}


def _read_string(text: str, start: int) -> tuple[str, str, int]:
    """Read a quoted string starting after the opening quote at ``start``.

    Returns (decoded value, LIKE pattern for SQLite with ``ESCAPE '\\'``, end position)."""
    value: list[str] = []
    pattern: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "'":
            return "".join(value), "".join(pattern), i + 1
        if char == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            if nxt in _SIMPLE_ESCAPES:
                decoded = _SIMPLE_ESCAPES[nxt]
                value.append(decoded)
                pattern.append(decoded)
            elif nxt == "\\":
                value.append("\\")
                pattern.append("\\\\")
            elif nxt in "%_":
                # \% and \_ are literal wildcards in LIKE; elsewhere keep them verbatim.
                value.append("\\" + nxt)
                pattern.append("\\" + nxt)
            elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6] or ""):
                decoded = chr(int(text[i + 2 : i + 6], 16))
                value.append(decoded)
                pattern.append(decoded)
                i += 6
                continue
            else:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"Invalid string literal: illegal escape sequence '\\{nxt}' at position {i}",
                )
            i += 2
            continue
        value.append(char)
        if char == "\\":  # pragma: no cover - handled above
            pattern.append("\\\\")
        else:
            pattern.append(char)
        i += 1
    raise SoqlError("MALFORMED_QUERY", f"unterminated string literal starting at position {start}")


def tokenize(text: str) -> list[Token]:
    """Split a SOQL statement into tokens. Raises SoqlError on an unexpected character."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise SoqlError("MALFORMED_QUERY", _located(text, pos, f"unexpected token: '{text[pos]}'"))
        kind = match.lastgroup or ""
        if kind == "ws":
            pos = match.end()
            continue
        if kind == "quote":
            value, pattern, end = _read_string(text, pos)
            tokens.append(Token("string", value, pos, (value, pattern)))
            pos = end
            continue
        raw = match.group(kind)
        tokens.append(Token(kind, raw, pos))
        pos = match.end()
    tokens.append(Token("eof", "", len(text)))
    return tokens


def _located(text: str, pos: int, message: str) -> str:
    """Salesforce-style error text pointing at the column of the problem."""
    line = text.replace("\n", " ")
    return f"\n{line}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{message}"


# --------------------------------------------------------------------------------------------
# AST
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, date, datetime, dateliteral
    value: Any
    like_pattern: str | None = None
    pos: int = 0


@dataclass(frozen=True)
class Aggregate:
    """An aggregate function call, ``MAX(Lead_Score__c)``."""

    func: str  # one of AGGREGATE_FUNCTIONS
    field: str
    pos: int = 0  # of the field token, for errors

    def __str__(self) -> str:
        return f"{self.func}({self.field})"


@dataclass(frozen=True)
class Column:
    """One item of an aggregate query's select list, under its AggregateResult key."""

    name: str
    expr: str | Aggregate


@dataclass(frozen=True)
class Comparison:
    field: str | Aggregate  # an aggregate only in HAVING
    op: str  # = != < <= > >= LIKE IN NOTIN
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass(frozen=True)
class OrderItem:
    field: str | Aggregate
    descending: bool = False
    nulls_last: bool | None = None  # None = Salesforce default


@dataclass
class Query:
    """A parsed, name-resolved SOQL statement."""

    object: str
    fields: list[str] = field(default_factory=list)
    count: bool = False
    where: Any = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    columns: list[Column] = field(default_factory=list)  # aggregate queries only
    group_by: list[str] = field(default_factory=list)
    having: Any = None

    @property
    def aggregate(self) -> bool:
        """An aggregate query (aggregate functions or GROUP BY): AggregateResult records."""
        return bool(self.columns)


@dataclass(frozen=True)
class _SelectItem:
    """A select list item as parsed: a field token or an aggregate, and its alias token."""

    expr: Token | Aggregate
    alias: Token | None = None


AGGREGATE_FUNCTIONS = ("COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX")


_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "GROUP",
    "HAVING",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "TRUE",
    "FALSE",
    "NULL",
}
_UNSUPPORTED_CLAUSES = {
    "WITH": "WITH",
    "FOR": "FOR VIEW/UPDATE/REFERENCE",
    "USING": "USING SCOPE",
    "TYPEOF": "TYPEOF",
    "INCLUDES": "INCLUDES",
    "EXCLUDES": "EXCLUDES",
    "UPDATE": "UPDATE TRACKING/VIEWSTAT",
    "FIELDS": "FIELDS()",
    "ROLLUP": "GROUP BY ROLLUP",
    "CUBE": "GROUP BY CUBE",
}
_COMPARISON_OPS = {"=", "!=", "<>", "<", "<=", ">", ">="}
_DATE_LITERALS = {"TODAY", "YESTERDAY", "TOMORROW"}
_N_DATE_LITERALS = {"LAST_N_DAYS", "NEXT_N_DAYS"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self._order_tokens: list[Token] = []
        self._where_tokens: list[Token] = []  # the field of each WHERE, then HAVING comparison
        self._group_tokens: list[Token] = []
        self._having_tok: Token | None = None
        self._in_having = False

    # -- helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _is_kw(self, word: str, tok: Token | None = None) -> bool:
        tok = tok or self.tok
        return tok.kind == "ident" and tok.text.upper() == word

    def _error(self, message: str | None = None, tok: Token | None = None) -> SoqlError:
        tok = tok or self.tok
        if message is None:
            shown = tok.text if tok.kind != "eof" else "<EOF>"
            if tok.kind == "ident" and tok.text.upper() in _UNSUPPORTED_CLAUSES:
                message = (
                    f"{_UNSUPPORTED_CLAUSES[tok.text.upper()]} is not supported by the "
                    f"leadscore CRM sandbox (unexpected token: '{shown}')"
                )
            else:
                message = f"unexpected token: '{shown}'"
        return SoqlError("MALFORMED_QUERY", _located(self.text, tok.pos, message))

    def _expect_kw(self, word: str) -> Token:
        if not self._is_kw(word):
            raise self._error()
        tok = self.tok
        self.i += 1
        return tok

    def _expect_punct(self, char: str) -> None:
        if self.tok.kind != "punct" or self.tok.text != char:
            raise self._error()
        self.i += 1

    def _accept_kw(self, word: str) -> bool:
        if self._is_kw(word):
            self.i += 1
            return True
        return False

    def _accept_punct(self, char: str) -> bool:
        if self.tok.kind == "punct" and self.tok.text == char:
            self.i += 1
            return True
        return False

    def _at_call(self) -> bool:
        """Whether the current token starts a function call, ``NAME(``."""
        return self.tok.kind == "ident" and self.tokens[self.i + 1].text == "("

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> tuple[Query, list[_SelectItem], Token]:
        self._expect_kw("SELECT")
        count = False
        items: list[_SelectItem] = []
        if (
            self._is_kw("COUNT")
            and self.tokens[self.i + 1].text == "("
            and self.tokens[self.i + 2].text == ")"
        ):
            self.i += 3
            count = True
        else:
            items = self._parse_select()
        self._expect_kw("FROM")
        obj_tok = self.tok
        if obj_tok.kind != "ident" or obj_tok.text.upper() in _KEYWORDS:
            raise self._error()
        self.i += 1
        query = Query(object=obj_tok.text, count=count)
        self._obj_token = obj_tok
        if self._accept_kw("WHERE"):
            query.where = self._parse_expr()
        if self._is_kw("GROUP"):
            self.i += 1
            self._expect_kw("BY")
            self._parse_group_by()
        if self._is_kw("HAVING"):
            self._having_tok = self.tok
            self.i += 1
            self._in_having = True
            query.having = self._parse_expr()
            self._in_having = False
        if self._is_kw("ORDER"):
            self.i += 1
            self._expect_kw("BY")
            query.order_by = self._parse_order_by()
        if self._accept_kw("LIMIT"):
            query.limit = self._parse_int("LIMIT")
        if self._accept_kw("OFFSET"):
            query.offset = self._parse_int("OFFSET")
        if self.tok.kind != "eof":
            raise self._error()
        return query, items, obj_tok

    def _parse_select(self) -> list[_SelectItem]:
        """The select list: fields and aggregate calls, each with an optional alias."""
        items = []
        while True:
            tok = self.tok
            if tok.kind != "ident" or tok.text.upper() in _KEYWORDS - {"FIRST", "LAST"}:
                raise self._error()
            if self._at_call():
                expr: Token | Aggregate = self._parse_aggregate()
            else:
                expr = tok
                self.i += 1
            items.append(_SelectItem(expr, self._parse_alias()))
            if not self._accept_punct(","):
                return items

    def _parse_alias(self) -> Token | None:
        tok = self.tok
        if tok.kind != "ident" or tok.text.upper() in _KEYWORDS or "." in tok.text:
            return None
        self.i += 1
        return tok

    def _parse_aggregate(self) -> Aggregate:
        """``FUNC(field)`` at the current token; other functions are not supported."""
        tok = self.tok
        func = tok.text.upper()
        if func in _UNSUPPORTED_CLAUSES:
            raise self._error()
        if func not in AGGREGATE_FUNCTIONS:
            raise self._error(f"function {tok.text}() is not supported by the leadscore CRM sandbox")
        self.i += 2
        arg = self.tok
        if func == "COUNT" and arg.text == ")":
            raise self._error("COUNT() must be the only item of the select list: use COUNT(Id)")
        if arg.kind != "ident" or arg.text.upper() in _KEYWORDS:
            raise self._error()
        self.i += 1
        self._expect_punct(")")
        return Aggregate(func, arg.text, arg.pos)

    def _parse_group_by(self) -> None:
        while True:
            tok = self.tok
            if tok.kind != "ident" or tok.text.upper() in _KEYWORDS:
                raise self._error()
            if self._at_call():
                self._parse_aggregate()  # other functions raise their own error
                raise self._error("aggregate functions cannot be used in GROUP BY", tok)
            self._group_tokens.append(tok)
            self.i += 1
            if not self._accept_punct(","):
                return

    def _parse_int(self, clause: str) -> int:
        tok = self.tok
        if tok.kind != "number" or not re.fullmatch(r"\d+", tok.text):
            raise self._error(f"{clause} must be a non-negative integer")
        self.i += 1
        return int(tok.text)

    def _parse_order_by(self) -> list[OrderItem]:
        items = []
        while True:
            tok = self.tok
            if tok.kind != "ident" or tok.text.upper() in _KEYWORDS:
                raise self._error()
            target: str | Aggregate = tok.text
            if self._at_call():
                target = self._parse_aggregate()
            else:
                self.i += 1
            descending = False
            if self._accept_kw("DESC"):
                descending = True
            else:
                self._accept_kw("ASC")
            nulls_last = None
            if self._accept_kw("NULLS"):
                if self._accept_kw("FIRST"):
                    nulls_last = False
                elif self._accept_kw("LAST"):
                    nulls_last = True
                else:
                    raise self._error()
            items.append(OrderItem(target, descending, nulls_last))
            # the field token is resolved later; keep its position for errors
            self._order_tokens.append(tok)
            if self.tok.kind == "punct" and self.tok.text == ",":
                self.i += 1
                continue
            return items

    def _parse_expr(self) -> Any:
        items = [self._parse_unary()]
        op: str | None = None
        while self._is_kw("AND") or self._is_kw("OR"):
            this = self.tok.text.upper()
            if op is not None and this != op:
                raise self._error(
                    f"unexpected token: '{self.tok.text}' (use parentheses to combine AND and OR)"
                )
            op = this
            self.i += 1
            items.append(self._parse_unary())
        if op is None:
            return items[0]
        return BoolOp(op, tuple(items))

    def _parse_unary(self) -> Any:
        if self._accept_kw("NOT"):
            return Not(self._parse_unary())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.i += 1
            inner = self._parse_expr()
            self._expect_punct(")")
            return inner
        return self._parse_comparison()

    def _parse_comparison(self) -> Comparison:
        ftok = self.tok
        if ftok.kind != "ident" or ftok.text.upper() in _KEYWORDS:
            raise self._error()
        target = self._parse_compared()
        tok = self.tok
        if tok.kind == "op":
            self.i += 1
            op = "!=" if tok.text == "<>" else tok.text
            return Comparison(target, op, self._parse_literal())
        if self._accept_kw("LIKE"):
            lit = self._parse_literal()
            if lit.kind != "string":
                raise self._error("LIKE needs a string literal", self.tokens[self.i - 1])
            return Comparison(target, "LIKE", lit)
        if self._accept_kw("IN"):
            return Comparison(target, "IN", self._parse_list())
        if self._is_kw("NOT") and self._is_kw("IN", self.tokens[self.i + 1]):
            self.i += 2
            return Comparison(target, "NOTIN", self._parse_list())
        raise self._error()

    def _parse_compared(self) -> str | Aggregate:
        """The left side of a comparison: a field, or in HAVING also an aggregate. Its field
        token is kept (in order) for name resolution."""
        if self._in_having and self._at_call():
            agg = self._parse_aggregate()
            self._where_tokens.append(Token("ident", agg.field, agg.pos))
            return agg
        tok = self.tok
        self.i += 1
        self._where_tokens.append(tok)
        return tok.text

    def _parse_list(self) -> tuple[Literal, ...]:
        self._expect_punct("(")
        values = [self._parse_literal()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.i += 1
            values.append(self._parse_literal())
        self._expect_punct(")")
        return tuple(values)

    def _parse_literal(self) -> Literal:
        tok = self.tok
        self.i += 1
        if tok.kind == "string":
            value, pattern = tok.value
            return Literal("string", value, pattern, tok.pos)
        if tok.kind == "number":
            number = float(tok.text) if re.search(r"[.eE]", tok.text) else int(tok.text)
            return Literal("number", number, None, tok.pos)
        if tok.kind == "datetime":
            try:
                value = store.parse_datetime(tok.text, require_tz=True)
            except ValueError:
                raise self._error(
                    f"invalid datetime literal '{tok.text}': use e.g. 2026-11-01T10:00:00Z", tok
                ) from None
            return Literal("datetime", value, None, tok.pos)
        if tok.kind == "date":
            try:
                value = store.parse_date(tok.text)
            except ValueError:
                raise self._error(f"invalid date literal '{tok.text}'", tok) from None
            return Literal("date", value, None, tok.pos)
        if tok.kind == "dateliteral":
            name, _, amount = tok.text.partition(":")
            if name.upper() not in _N_DATE_LITERALS:
                raise self._error(f"unsupported date literal '{tok.text}'", tok)
            return Literal("dateliteral", (name.upper(), int(amount)), None, tok.pos)
        if tok.kind == "ident":
            word = tok.text.upper()
            if word in ("TRUE", "FALSE"):
                return Literal("boolean", word == "TRUE", None, tok.pos)
            if word == "NULL":
                return Literal("null", None, None, tok.pos)
            if word in _DATE_LITERALS:
                return Literal("dateliteral", (word, 0), None, tok.pos)
            raise self._error(f"unexpected token: '{tok.text}' (expected a literal value)", tok)
        if tok.kind == "op" or tok.text.startswith(":"):
            raise self._error(tok=tok)
        raise self._error(tok=tok)


# --------------------------------------------------------------------------------------------
# Name resolution and literal type checks
# --------------------------------------------------------------------------------------------
def parse_soql(text: str) -> Query:
    """Parse a SOQL statement and resolve object and field names against crm_schema.

    Raises SoqlError (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE)."""
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
    parser = _Parser(text)
    query, items, obj_tok = parser.parse()
    obj = store.canonical_object(query.object)
    if obj is None:
        raise SoqlError(
            "INVALID_TYPE",
            _located(
                text,
                obj_tok.pos,
                f"sObject type '{query.object}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            ),
        )
    query.object = obj
    names = _Resolver(text, obj)
    _check_grouping_clauses(text, query, parser)
    if parser._group_tokens or any(isinstance(item.expr, Aggregate) for item in items):
        query.group_by = [names.groupable(tok) for tok in parser._group_tokens]
        query.columns = names.columns(items, query.group_by)
    else:
        query.fields = names.fields(items)
    grouped = query.group_by if query.aggregate else None
    query.order_by = [
        names.order_item(item, tok, grouped)
        for item, tok in zip(query.order_by, parser._order_tokens, strict=True)
    ]
    where_tokens = iter(parser._where_tokens)
    if query.where is not None:
        query.where = names.condition(query.where, where_tokens, None)
    if query.having is not None:
        query.having = names.condition(query.having, where_tokens, query.group_by)
    return query


def _check_grouping_clauses(text: str, query: Query, parser: _Parser) -> None:
    """COUNT() cannot be grouped, and HAVING needs GROUP BY (as in Salesforce)."""
    if query.count and parser._group_tokens:
        raise SoqlError(
            "MALFORMED_QUERY",
            _located(
                text, parser._group_tokens[0].pos, "COUNT() cannot be used with GROUP BY: use COUNT(Id)"
            ),
        )
    if query.having is not None and not parser._group_tokens:
        pos = parser._having_tok.pos if parser._having_tok else 0
        raise SoqlError("MALFORMED_QUERY", _located(text, pos, "HAVING needs a GROUP BY clause"))


_NOT_GROUPABLE = {"double", "datetime"}  # like Salesforce's double, currency, dateTime


def result_type(obj: str, target: str | Aggregate) -> str:
    """The crm_schema type of a field's or an aggregate's value (COUNT: int, AVG: double)."""
    if isinstance(target, str):
        return crm_schema.OBJECTS[obj][target]
    if target.func in ("COUNT", "COUNT_DISTINCT"):
        return "int"
    if target.func == "AVG":
        return "double"
    return crm_schema.OBJECTS[obj][target.field]


class _Resolver:
    """Resolves a parsed statement's names on ``obj`` and checks them like Salesforce."""

    def __init__(self, text: str, obj: str) -> None:
        self.text = text
        self.obj = obj

    def error(self, code: str, pos: int, message: str) -> SoqlError:
        return SoqlError(code, _located(self.text, pos, message))

    def field(self, tok: Token) -> str:
        """The canonical name of a field token (INVALID_FIELD if unknown or a relationship)."""
        name = tok.text
        if "." in name:
            raise self.error(
                "INVALID_FIELD",
                tok.pos,
                f"Didn't understand relationship '{name.split('.')[0]}' in field path. "
                "Relationship queries are not supported by the leadscore CRM sandbox.",
            )
        canonical = store.canonical_field(self.obj, name)
        if canonical is None:
            raise self.error(
                "INVALID_FIELD",
                tok.pos,
                f"No such column '{name}' on entity '{self.obj}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
            )
        return canonical

    def fields(self, items: list[_SelectItem]) -> list[str]:
        """A plain select list: distinct fields without aliases."""
        fields: list[str] = []
        for item in items:
            assert isinstance(item.expr, Token)
            if item.alias is not None:
                raise self.error(
                    "MALFORMED_QUERY", item.alias.pos, "Only aggregate expressions use field aliasing"
                )
            name = self.field(item.expr)
            if name in fields:
                raise self.error("MALFORMED_QUERY", item.expr.pos, f"duplicate field selected: {name}")
            fields.append(name)
        return fields

    def aggregate(self, agg: Aggregate) -> Aggregate:
        """The aggregate with its field resolved: SUM and AVG need a number, MIN and MAX
        do not take booleans."""
        name = self.field(Token("ident", agg.field, agg.pos))
        ftype = crm_schema.OBJECTS[self.obj][name]
        numeric = ftype in ("int", "double")
        if (agg.func in ("SUM", "AVG") and not numeric) or (
            agg.func in ("MIN", "MAX") and ftype == "boolean"
        ):
            raise self.error(
                "MALFORMED_QUERY", agg.pos, f"field {name} does not support aggregate operator {agg.func}"
            )
        return Aggregate(agg.func, name, agg.pos)

    def groupable(self, tok: Token) -> str:
        """A GROUP BY field (double and dateTime fields cannot be grouped)."""
        name = self.field(tok)
        if crm_schema.OBJECTS[self.obj][name] in _NOT_GROUPABLE:
            raise self.error("MALFORMED_QUERY", tok.pos, f"field '{name}' can not be grouped in a query call")
        return name

    def grouped(self, tok: Token, group_by: list[str], role: str = "Field") -> str:
        """A field an aggregate query uses outside an aggregate: it must be grouped."""
        name = self.field(tok)
        if name not in group_by:
            raise self.error("MALFORMED_QUERY", tok.pos, f"{role} must be grouped or aggregated: {name}")
        return name

    def columns(self, items: list[_SelectItem], group_by: list[str]) -> list[Column]:
        """An aggregate select list, named like Salesforce: the alias, else the field's name,
        else expr0, expr1, ... counting the unaliased aggregates."""
        columns: list[Column] = []
        unnamed = 0
        for item in items:
            if isinstance(item.expr, Aggregate):
                expr: str | Aggregate = self.aggregate(item.expr)
            else:
                expr = self.grouped(item.expr, group_by)
            if item.alias is not None:
                name = item.alias.text
            elif isinstance(expr, Aggregate):
                name = f"expr{unnamed}"
                unnamed += 1
            else:
                name = expr
            if name.lower() in {c.name.lower() for c in columns}:
                what = "alias" if item.alias is not None else "field selected"
                pos = (item.alias or item.expr).pos
                raise self.error("MALFORMED_QUERY", pos, f"duplicate {what}: {name}")
            columns.append(Column(name, expr))
        return columns

    def order_item(self, item: OrderItem, tok: Token, grouped: list[str] | None) -> OrderItem:
        """An ORDER BY item; in an aggregate query (``grouped`` not None) it must be grouped
        or aggregated, elsewhere it cannot be an aggregate."""
        if isinstance(item.field, Aggregate):
            if grouped is None:
                raise self.error(
                    "MALFORMED_QUERY",
                    tok.pos,
                    f"cannot order by {item.field.func}() outside an aggregate query "
                    "(GROUP BY, or aggregates in the select list)",
                )
            target: str | Aggregate = self.aggregate(item.field)
        elif grouped is None:
            target = self.field(tok)
        else:
            target = self.grouped(tok, grouped, "Ordered field")
        return OrderItem(target, item.descending, item.nulls_last)

    def condition(self, node: Any, tokens: Any, grouped: list[str] | None) -> Any:
        """A WHERE (``grouped`` None) or HAVING condition with its names resolved and its
        literals checked; ``tokens`` yields each comparison's field token, in order."""
        if isinstance(node, BoolOp):
            return BoolOp(node.op, tuple(self.condition(n, tokens, grouped) for n in node.items))
        if isinstance(node, Not):
            return Not(self.condition(node.item, tokens, grouped))
        tok = next(tokens)
        if isinstance(node.field, Aggregate):
            target: str | Aggregate = self.aggregate(node.field)
        elif grouped is None:
            target = self.field(tok)
        else:
            target = self.grouped(tok, grouped)
        return self.comparison(node, target, tok)

    def comparison(self, cmp: Comparison, target: str | Aggregate, tok: Token) -> Comparison:
        """The comparison on the resolved ``target``, once its operator and literals fit the type."""
        name = str(target)
        ftype = result_type(self.obj, target)
        values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
        for lit in values:
            _check_literal(self.text, name, ftype, cmp.op, lit)
        if cmp.op == "LIKE" and ftype not in ("string", "id"):
            raise self.error("MALFORMED_QUERY", tok.pos, f"invalid operator on {ftype} field: LIKE on {name}")
        if cmp.op in ("<", "<=", ">", ">=") and ftype == "boolean":
            raise self.error(
                "MALFORMED_QUERY", tok.pos, f"invalid operator on boolean field: {cmp.op} on {name}"
            )
        return Comparison(target, cmp.op, cmp.value)


def _check_literal(text: str, name: str, ftype: str, op: str, lit: Literal) -> None:
    if lit.kind == "null":
        if op not in ("=", "!=", "IN", "NOTIN"):
            raise SoqlError(
                "MALFORMED_QUERY",
                _located(text, lit.pos, f"null is only allowed with = and != ({name})"),
            )
        return
    expected = {
        "string": ("string",),
        "id": ("string",),
        "int": ("number",),
        "double": ("number",),
        "boolean": ("boolean",),
        "date": ("date", "dateliteral"),
        "datetime": ("datetime", "dateliteral"),
    }[ftype]
    if lit.kind in expected:
        if lit.kind == "dateliteral" and op in ("LIKE", "IN", "NOTIN"):
            raise SoqlError(
                "MALFORMED_QUERY",
                _located(text, lit.pos, f"date literals cannot be used with {op}"),
            )
        return
    if ftype in ("string", "id"):
        hint = "must be of type string and should be enclosed in quotes"
    elif ftype in ("int", "double"):
        hint = f"must be of type {ftype} and should not be enclosed in quotes"
    elif ftype == "boolean":
        hint = "must be of type boolean and should not be enclosed in quotes"
    elif ftype == "date":
        hint = "must be of type date (e.g. 2026-11-01) and should not be enclosed in quotes"
    else:
        hint = "must be of type dateTime (e.g. 2026-11-01T10:00:00Z) and should not be enclosed in quotes"
    raise SoqlError(
        "MALFORMED_QUERY",
        _located(text, lit.pos, f"value of filter criterion for field '{name}' {hint}"),
    )


# --------------------------------------------------------------------------------------------
# Compilation to SQLite
# --------------------------------------------------------------------------------------------
def _date_range(name: str, amount: int, ftype: str, today: datetime) -> tuple[str, str]:
    """[start, end) of a date literal, in the stored format of ``ftype`` (UTC days)."""
    day = today.replace(hour=0, minute=0, second=0, microsecond=0)
    if name == "TODAY":
        start, end = day, day + timedelta(days=1)
    elif name == "YESTERDAY":
        start, end = day - timedelta(days=1), day
    elif name == "TOMORROW":
        start, end = day + timedelta(days=1), day + timedelta(days=2)
    elif name == "LAST_N_DAYS":
        start, end = day - timedelta(days=amount), day + timedelta(days=1)
    else:  # NEXT_N_DAYS
        start, end = day + timedelta(days=1), day + timedelta(days=amount + 1)
    if ftype == "date":
        return start.date().isoformat(), end.date().isoformat()
    return store.format_datetime(start), store.format_datetime(end)


class _Compiler:
    def __init__(self, query: Query, now: datetime | None) -> None:
        self.query = query
        self.obj = query.object
        self.params: list[Any] = []
        self.now = now or datetime.now(UTC)

    def col(self, name: str) -> str:
        return store.quote_ident(name)

    def expr(self, target: str | Aggregate) -> str:
        """The SQL of a field or an aggregate call."""
        if isinstance(target, str):
            return self.col(target)
        return _AGGREGATE_SQL[target.func].format(col=self.col(target.field))

    def bind(self, ftype: str, lit: Literal) -> str:
        value = lit.value
        if lit.kind == "boolean":
            value = int(value)
        elif ftype == "id" and isinstance(value, str):
            value = store.normalize_id(value) if store.is_valid_id(value) else value
        self.params.append(value)
        return "?"

    def node(self, node: Any) -> str:
        if isinstance(node, BoolOp):
            return "(" + f" {node.op} ".join(self.node(n) for n in node.items) + ")"
        if isinstance(node, Not):
            # Two-valued logic like Salesforce: an unknown (NULL) comparison counts as false.
            return f"(NOT coalesce({self.node(node.item)}, 0))"
        return self.comparison(node)

    def comparison(self, cmp: Comparison) -> str:
        col = self.expr(cmp.field)
        ftype = result_type(self.obj, cmp.field)
        if cmp.op in ("IN", "NOTIN"):
            lits = cmp.value
            assert isinstance(lits, tuple)
            non_null = [lit for lit in lits if lit.kind != "null"]
            has_null = len(non_null) != len(lits)
            parts = []
            if non_null:
                marks = ", ".join(self.bind(ftype, lit) for lit in non_null)
                parts.append(f"{col} {'IN' if cmp.op == 'IN' else 'NOT IN'} ({marks})")
            if cmp.op == "IN":
                if has_null:
                    parts.append(f"{col} IS NULL")
                return "(" + " OR ".join(parts) + ")" if parts else "0"
            # NOT IN: like '!=', rows with a null value match unless null is excluded.
            if has_null:
                parts.append(f"{col} IS NOT NULL")
                return "(" + " AND ".join(parts) + ")"
            return f"({col} IS NULL OR {parts[0]})" if parts else "1"
        lit = cmp.value
        assert isinstance(lit, Literal)
        if lit.kind == "null":
            return f"{col} IS NULL" if cmp.op == "=" else f"{col} IS NOT NULL"
        if cmp.op == "LIKE":
            self.params.append(lit.like_pattern)
            return f"{col} LIKE ? ESCAPE '\\'"
        if lit.kind == "dateliteral":
            start, end = _date_range(lit.value[0], lit.value[1], ftype, self.now)
            self.params.extend(_RANGE_PARAMS[cmp.op](start, end))
            return _RANGE_SQL[cmp.op].format(col=col)
        mark = self.bind(ftype, lit)
        if cmp.op == "!=":
            return f"({col} IS NULL OR {col} <> {mark})"
        return f"{col} {cmp.op} {mark}"

    def where(self, include_deleted: bool) -> str:
        clauses = []
        if not include_deleted and crm_schema.has_soft_delete(self.obj):
            clauses.append('"IsDeleted" = 0')
        if self.query.where is not None:
            clauses.append(self.node(self.query.where))
        return (" WHERE " + " AND ".join(clauses)) if clauses else ""

    def order_limit(self) -> str:
        sql = ""
        if self.query.order_by:
            terms = []
            for item in self.query.order_by:
                term = f"{self.expr(item.field)} {'DESC' if item.descending else 'ASC'}"
                # SOQL and SQLite share the defaults (ASC NULLS FIRST, DESC NULLS LAST); only
                # spell out a non-default so SQLite can keep using an index for the sort.
                if item.nulls_last is not None and item.nulls_last != item.descending:
                    term += " NULLS LAST" if item.nulls_last else " NULLS FIRST"
                terms.append(term)
            sql += " ORDER BY " + ", ".join(terms)
        if self.query.limit is not None or self.query.offset is not None:
            sql += " LIMIT ?"
            self.params.append(self.query.limit if self.query.limit is not None else -1)
            if self.query.offset is not None:
                sql += " OFFSET ?"
                self.params.append(self.query.offset)
        return sql


_AGGREGATE_SQL = {
    "COUNT": "count({col})",
    "COUNT_DISTINCT": "count(DISTINCT {col})",
    "SUM": "sum({col})",
    "AVG": "avg({col})",
    "MIN": "min({col})",
    "MAX": "max({col})",
}
_RANGE_SQL = {
    "=": "({col} >= ? AND {col} < ?)",
    "!=": "({col} IS NULL OR {col} < ? OR {col} >= ?)",
    "<": "{col} < ?",
    "<=": "{col} < ?",
    ">": "{col} >= ?",
    ">=": "{col} >= ?",
}
_RANGE_PARAMS = {
    "=": lambda s, e: (s, e),
    "!=": lambda s, e: (s, e),
    "<": lambda s, e: (s,),
    "<=": lambda s, e: (e,),
    ">": lambda s, e: (e,),
    ">=": lambda s, e: (s,),
}


def compile_rowids(
    query: Query, include_deleted: bool = False, now: datetime | None = None
) -> tuple[str, list[Any]]:
    """SQL selecting the matching rowids in result order, with its parameters."""
    comp = _Compiler(query, now)
    where = comp.where(include_deleted)
    sql = f"SELECT rowid FROM {store.quote_ident(query.object)}{where}"
    sql += comp.order_limit()
    return sql, comp.params


def compile_count(
    query: Query, include_deleted: bool = False, now: datetime | None = None
) -> tuple[str, list[Any]]:
    """SQL counting the matching rows (honouring LIMIT/OFFSET), with its parameters."""
    comp = _Compiler(query, now)
    where = comp.where(include_deleted)
    inner = f"SELECT 1 FROM {store.quote_ident(query.object)}{where}"
    if query.limit is not None or query.offset is not None:
        inner += comp.order_limit()
    return f"SELECT count(*) FROM ({inner})", comp.params


def compile_aggregate(
    query: Query, include_deleted: bool = False, now: datetime | None = None
) -> tuple[str, list[Any]]:
    """SQL computing an aggregate query's rows (one value per column, in select order),
    with its parameters."""
    comp = _Compiler(query, now)
    columns = ", ".join(comp.expr(column.expr) for column in query.columns)
    sql = f"SELECT {columns} FROM {store.quote_ident(query.object)}{comp.where(include_deleted)}"
    if query.group_by:
        sql += " GROUP BY " + ", ".join(comp.col(name) for name in query.group_by)
    if query.having is not None:
        sql += " HAVING " + comp.node(query.having)
    return sql + comp.order_limit(), comp.params


def aggregate_records(query: Query, rows: list[tuple]) -> list[dict[str, Any]]:
    """Salesforce ``AggregateResult`` records of compile_aggregate's rows."""
    types = [result_type(query.object, column.expr) for column in query.columns]
    out = []
    for row in rows:
        record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for column, ftype, value in zip(query.columns, types, row, strict=True):
            record[column.name] = store.to_json_value(ftype, value)
        out.append(record)
    return out

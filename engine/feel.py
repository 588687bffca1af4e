"""FEEL subset: an expression is parsed once into closures, then evaluated null-friendly.

Supported: number, string, boolean and null literals; list ``[…]`` and context ``{a: …}``
literals; variable names and paths ``a.b.c``; list indexes ``xs[1]`` (1-based, negative
from the end); ``= != < <= > >=``; ``and``/``or`` (three-valued); ``+ - * / **`` with the
usual precedence; string concatenation with ``+``; unary minus; ``if … then … else …``;
and a handful of built-in functions (see ``feel_functions``). A missing variable reads as null.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .feel_functions import BUILTINS
from .feel_values import (
    FeelEvalError,
    add,
    compare,
    index,
    is_number,
    member,
    numeric,
    to_string,
    type_name,
)

__all__ = [
    "BUILTINS", "MISSING", "Context", "DictContext", "Expression", "FeelEvalError",
    "FeelSyntaxError", "evaluate", "is_number", "parse", "to_string", "type_name",
]

MISSING: Any = object()


class FeelSyntaxError(ValueError):
    """The text is not an expression of the supported subset."""


class Context(Protocol):
    def lookup(self, name: str) -> Any:
        """The variable's value, or ``MISSING``."""


class DictContext:
    """Variables from a plain dict (tests, nested evaluation)."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def lookup(self, name: str) -> Any:
        return self.values.get(name, MISSING)


Fn = Callable[[Context], Any]


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression; ``source`` is the text after the ``=``."""

    source: str
    fn: Fn

    def evaluate(self, context: Context) -> Any:
        return self.fn(context)


# ---------------------------------------------------------------------------- tokens

_MULTI_WORD = re.compile(
    r"(is\s+defined|date\s+and\s+time|string\s+length|upper\s+case|lower\s+case|"
    r"get\s+or\s+else|list\s+contains|starts\s+with|ends\s+with)(?=\s*\()"
)
_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<number>\d+(?:\.\d+)?|\.\d+)"
    r'|(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<quoted>`[^`]+`)"
    r"|(?P<op>\*\*|<=|>=|!=|[-+*/=<>()\[\]{},.:])"
)
_KEYWORDS = {"true", "false", "null", "and", "or", "if", "then", "else"}
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "'": "'"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # number, string, name, keyword, op, end
    text: str
    pos: int
    value: Any = None


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and i + 5 < len(body) + 1 and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        multi = _MULTI_WORD.match(text, pos)
        if multi is not None:
            tokens.append(_Tok("name", " ".join(multi.group(1).split()), pos))
            pos = multi.end()
            continue
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FeelSyntaxError(f"unexpected character '{text[pos]}' at position {pos + 1}")
        kind = match.lastgroup
        raw = match.group()
        if kind == "number":
            value: Any = float(raw) if "." in raw else int(raw)
            tokens.append(_Tok("number", raw, pos, value))
        elif kind == "string":
            tokens.append(_Tok("string", raw, pos, _unescape(raw[1:-1])))
        elif kind == "name":
            tokens.append(_Tok("keyword" if raw in _KEYWORDS else "name", raw, pos))
        elif kind == "quoted":
            tokens.append(_Tok("name", raw[1:-1], pos))
        elif kind == "op":
            tokens.append(_Tok("op", raw, pos))
        pos = match.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


# ---------------------------------------------------------------------------- parser


def _binary(apply: Callable[[Any, Any], Any], left: Fn, right: Fn) -> Fn:
    def run(c: Context) -> Any:
        return apply(left(c), right(c))
    return run


def _not_null(fn: Fn) -> Fn:
    def run(c: Context) -> bool:
        return fn(c) is not None
    return run


def _member(base: Fn, base_defined: Fn, key: str) -> tuple[Fn, Fn]:
    """``base.key`` and whether it exists (for ``is defined``)."""
    def read(c: Context) -> Any:
        return member(base(c), key)

    def defined(c: Context) -> bool:
        if not base_defined(c):
            return False
        value = base(c)
        return isinstance(value, dict) and key in value
    return read, defined


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.last_postfix: tuple[int, int, Fn] | None = None

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def error(self, what: str | None = None) -> FeelSyntaxError:
        tok = self.tok
        found = "end of expression" if tok.kind == "end" else f"'{tok.text}'"
        detail = f"expected {what}, but found {found}" if what else f"unexpected {found}"
        return FeelSyntaxError(f"{detail} at position {tok.pos + 1}")

    def accept(self, kind: str, text: str | None = None) -> _Tok | None:
        tok = self.tok
        if tok.kind == kind and (text is None or tok.text == text):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, text: str) -> _Tok:
        tok = self.accept(kind, text)
        if tok is None:
            raise self.error(f"'{text}'")
        return tok

    def parse(self) -> Fn:
        if self.tok.kind == "end":
            raise FeelSyntaxError("the expression is empty")
        fn = self.expression()
        if self.tok.kind != "end":
            raise self.error()
        return fn

    def expression(self) -> Fn:
        if self.accept("keyword", "if"):
            cond = self.expression()
            self.expect("keyword", "then")
            then = self.expression()
            self.expect("keyword", "else")
            other = self.expression()
            return lambda c: then(c) if cond(c) is True else other(c)
        return self.disjunction()

    def disjunction(self) -> Fn:
        fn = self.conjunction()
        while self.accept("keyword", "or"):
            left, right = fn, self.conjunction()

            def either(c: Context, left: Fn = left, right: Fn = right) -> Any:
                a = left(c)
                if a is True:
                    return True
                b = right(c)
                if b is True:
                    return True
                return False if a is False and b is False else None
            fn = either
        return fn

    def conjunction(self) -> Fn:
        fn = self.comparison()
        while self.accept("keyword", "and"):
            left, right = fn, self.comparison()

            def both(c: Context, left: Fn = left, right: Fn = right) -> Any:
                a = left(c)
                if a is False:
                    return False
                b = right(c)
                if b is False:
                    return False
                return True if a is True and b is True else None
            fn = both
        return fn

    def comparison(self) -> Fn:
        left = self.additive()
        tok = self.tok
        if tok.kind == "op" and tok.text in ("=", "!=", "<", "<=", ">", ">="):
            self.i += 1
            right = self.additive()
            return _binary(compare(tok.text), left, right)
        return left

    def additive(self) -> Fn:
        fn = self.multiplicative()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.tok.text
            self.i += 1
            left, right = fn, self.multiplicative()
            fn = _binary(add if op == "+" else numeric("-"), left, right)
        return fn

    def multiplicative(self) -> Fn:
        fn = self.power()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            apply = numeric(self.tok.text)
            self.i += 1
            fn = _binary(apply, fn, self.power())
        return fn

    def power(self) -> Fn:
        fn = self.unary()
        while self.accept("op", "**"):
            fn = _binary(numeric("**"), fn, self.unary())
        return fn

    def unary(self) -> Fn:
        if self.accept("op", "-"):
            inner = self.unary()

            def negate(c: Context) -> Any:
                v = inner(c)
                if v is None:
                    return None
                if not is_number(v):
                    raise FeelEvalError(f"can't negate '{type_name(v)}'")
                return -v
            return negate
        return self.postfix()

    def postfix(self) -> Fn:
        start = self.i
        fn, defined = self.primary()
        while True:
            if self.accept("op", "."):
                tok = self.accept("name") or self.accept("keyword")
                if tok is None:
                    raise self.error("a name after '.'")
                fn, defined = _member(fn, defined, tok.text)
            elif self.accept("op", "["):
                position = self.expression()
                self.expect("op", "]")
                fn = _binary(index, fn, position)
                defined = _not_null(fn)
            else:
                self.last_postfix = (start, self.i, defined)
                return fn

    def primary(self) -> tuple[Fn, Fn]:
        tok = self.tok
        if tok.kind in ("number", "string"):
            self.i += 1
            value = tok.value
            return (lambda c: value), (lambda c: True)
        if tok.kind == "keyword" and tok.text in ("true", "false", "null"):
            self.i += 1
            value = {"true": True, "false": False, "null": None}[tok.text]
            return (lambda c: value), (lambda c: True)
        if tok.kind == "name":
            self.i += 1
            if self.tok.kind == "op" and self.tok.text == "(":
                fn = self.call(tok)
                return fn, (lambda c: fn(c) is not None)
            name = tok.text

            def read(c: Context) -> Any:
                v = c.lookup(name)
                return None if v is MISSING else v
            return read, (lambda c: c.lookup(name) is not MISSING)
        if self.accept("op", "("):
            fn = self.expression()
            self.expect("op", ")")
            return fn, (lambda c: fn(c) is not None)
        if self.accept("op", "["):
            items: list[Fn] = []
            if not self.accept("op", "]"):
                items.append(self.expression())
                while self.accept("op", ","):
                    items.append(self.expression())
                self.expect("op", "]")
            return (lambda c: [f(c) for f in items]), (lambda c: True)
        if self.accept("op", "{"):
            entries: list[tuple[str, Fn]] = []
            if not self.accept("op", "}"):
                entries.append(self.context_entry())
                while self.accept("op", ","):
                    entries.append(self.context_entry())
                self.expect("op", "}")
            return (lambda c: {k: f(c) for k, f in entries}), (lambda c: True)
        raise self.error("a value, a name or '('")

    def context_entry(self) -> tuple[str, Fn]:
        tok = self.accept("name") or self.accept("string") or self.accept("keyword")
        if tok is None:
            raise self.error("a context key")
        key = tok.value if tok.kind == "string" else tok.text
        self.expect("op", ":")
        return key, self.expression()

    def call(self, name_tok: _Tok) -> Fn:
        name = name_tok.text
        self.expect("op", "(")
        args: list[tuple[Fn, Fn]] = []
        if not self.accept("op", ")"):
            args.append(self.argument())
            while self.accept("op", ","):
                args.append(self.argument())
            self.expect("op", ")")
        if name == "is defined":
            if len(args) != 1:
                raise FeelSyntaxError(
                    f"function 'is defined' takes 1 argument, but got {len(args)}")
            defined = args[0][1]
            return lambda c: bool(defined(c))
        spec = BUILTINS.get(name)
        if spec is None:
            raise FeelSyntaxError(f"unknown function '{name}' at position {name_tok.pos + 1}")
        low, high, impl = spec
        if len(args) < low or (high is not None and len(args) > high):
            want = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise FeelSyntaxError(
                f"function '{name}' takes {want} argument(s), but got {len(args)}")
        fns = [a[0] for a in args]
        return lambda c: impl(*(f(c) for f in fns))

    def argument(self) -> tuple[Fn, Fn]:
        start = self.i
        fn = self.expression()
        last = self.last_postfix
        # ``is defined`` needs to know whether a bare name/path exists, not just its value
        if last is not None and last[0] == start and last[1] == self.i:
            return fn, last[2]
        return fn, (lambda c: fn(c) is not None)


def parse(text: str) -> Expression:
    """Parse FEEL text (without the leading ``=``); raises FeelSyntaxError."""
    return Expression(text.strip(), _Parser(text).parse())


def evaluate(text: str, variables: dict[str, Any]) -> Any:
    """Parse and evaluate in one go (tests and one-off use)."""
    return parse(text).evaluate(DictContext(variables))

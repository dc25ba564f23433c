"""Masking secrets in log text. `redact()` masks what looks like a secret: the value of
a secret-named key (`apikey`, `password`, `passkey`, `token`, `secret`...) in every
spelling the API edge accepts (any case, `[0]` indexes, percent-encoding), quoted or
not, in URLs, JSON, reprs and headers; credentials in URLs; tracker passkeys in announce
paths; SQLAlchemy's bound parameters and Postgres's "Failing row contains" detail.
`Redact` applies it (or one pattern) to log records, tracebacks included, and
`RedactingFormatter` to every line a handler writes."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import partial
from urllib.parse import unquote_plus

MASK = "<redacted>"
_NAME_SPELLINGS = ("apikey", "api_key", "api-key", "token", "passkey", "authkey",
                   "torrent_pass", "rsskey", "password", "passwd", "secret", "authorization")
_NAMES = "(?:" + "|".join(map(re.escape, _NAME_SPELLINGS)) + ")"
_SECRET_NAME = re.compile(_NAMES, re.IGNORECASE)
_BRACKETS = re.compile(r"\[[^\]]*\]")
_NOT_MASKED = rf"(?!{MASK})"

# name=value pairs (a query string, a setting): the name is compared once decoded.
_PAIR = re.compile(rf"(?<![\w.%\[\]-])([\w.%\[\]-]+=){_NOT_MASKED}[^\s&\"'#]*")
# A secret-named key followed by = or : (or their %-encodings), then a quoted value (up
# to the same, unescaped, quote; the rest of the line if there is none) or a bare one.
_SCHEME = r"(?:(?:bearer|basic|digest|token)\s+)?+"
_KEYED = re.compile(
    rf"({_NAMES}(?:\[[^\]\s]*\]|%5B[^=&\s]*?%5D)*\\*[\"']?\s*(?:[=:]|%3[AD])\s*{_SCHEME})"
    rf"(?:(\\*[\"'])({_SCHEME}).*?(?:(?<!\\)(\2)|$)|{_NOT_MASKED}[^\s&\"']+)",
    re.IGNORECASE | re.MULTILINE)
_SLASH = r"(?:/|%2F)"


class _Needs:
    """Literals a pattern cannot match without (any one of them), looked for before the
    pattern runs: most log lines hold none, and a substitution only puts MASK where a value
    was, so it never brings one in. Where the pattern ignores case, an ASCII text is
    searched lowered; any other goes through a regex with the pattern's flags, since
    IGNORECASE also equates the long s with s, the dotless and dotted i with i, and the
    Kelvin sign with k."""

    def __init__(self, *literals: str, ignore_case: bool = True) -> None:
        self.literals = tuple(x.lower() for x in literals) if ignore_case else literals
        self.ignore_case = ignore_case
        self._regex = (re.compile("|".join(map(re.escape, literals)), re.IGNORECASE)
                       if ignore_case else None)

    def found(self, text: str, lowered: str | None) -> bool:
        """`lowered`: text.lower() if the text is ASCII, else None."""
        if not self.ignore_case:  # the literals as they are, ASCII or not
            return any(x in text for x in self.literals)
        if lowered is not None:
            return any(x in lowered for x in self.literals)
        assert self._regex is not None
        return self._regex.search(text) is not None


_KEYED_NEEDS = _Needs(*_NAME_SPELLINGS)  # _KEYED starts with one of the names
_RULES: list[tuple[re.Pattern[str], str, _Needs]] = [
    (re.compile(rf"(\bbearer\s+){_NOT_MASKED}[^\s\"'<>]+", re.IGNORECASE), rf"\1{MASK}",
     _Needs("bearer")),
    # user:password@ in a URL
    (re.compile(rf"(://[^/\s:@\"'<>]*:){_NOT_MASKED}[^/\s@\"'<>]+(?=@)"), rf"\1{MASK}",
     _Needs("://", ignore_case=False)),
    # tracker passkeys in the path: /announce/<key>, /<key>/announce (also %2F-encoded)
    (re.compile(rf"({_SLASH}(?:announce|scrape)(?:\.php)?{_SLASH})[A-Za-z0-9]{{16,}}",
                re.IGNORECASE), rf"\1{MASK}", _Needs("announce", "scrape")),
    (re.compile(rf"({_SLASH})[A-Za-z0-9]{{16,}}(?={_SLASH}(?:announce|scrape))",
                re.IGNORECASE), rf"\1{MASK}", _Needs("announce", "scrape")),
    # SQLAlchemy's bound parameters (engines hide them; this is for any other) and the
    # row Postgres shows for a NOT NULL or CHECK violation.
    (re.compile(r"(\[parameters: )[^\n]*"), rf"\1{MASK}",
     _Needs("[parameters: ", ignore_case=False)),
    (re.compile(r"(Failing row contains )[^\n]*"), rf"\1{MASK}",
     _Needs("Failing row contains ", ignore_case=False)),
]


def _pair(match: re.Match[str]) -> str:
    name = _BRACKETS.sub("", unquote_plus(match.group(1)))
    return match.group(1) + MASK if _SECRET_NAME.search(name) else match.group(0)


def _keyed(match: re.Match[str]) -> str:
    keep, quote, scheme, closing = (g or "" for g in match.groups())
    return f"{keep}{quote}{scheme}{MASK}{closing}"


def redact(text: str) -> str:
    """`text` with every secret it seems to hold replaced by <redacted>."""

    def lowered() -> str | None:
        return text.lower() if text.isascii() else None

    if "=" in text:  # _PAIR's name=value
        text = _PAIR.sub(_pair, text)
    low = lowered()
    if _KEYED_NEEDS.found(text, low):
        text = _KEYED.sub(_keyed, text)
        low = lowered()
    for pattern, replacement, needs in _RULES:
        if needs.found(text, low):
            changed = pattern.sub(replacement, text)
            if changed != text:
                text, low = changed, lowered()
    return text


_TRACEBACKS = logging.Formatter()


class Redact(logging.Filter):
    """Masks secrets in a record's message, traceback and stack, so that every handler
    after this one sees them masked. With a `pattern`, group 1 of each match is kept and
    the rest of it masked; without, `redact()` decides."""

    def __init__(self, pattern: re.Pattern[str] | None = None) -> None:
        super().__init__()
        self._redact: Callable[[str], str] = (
            redact if pattern is None else partial(pattern.sub, rf"\1{MASK}"))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging would print the args in clear
            message = f"{record.msg!s} {record.args!r}"
            record.msg, record.args = message, None
        # The message is frozen as it is now, masked or not: a library may log an object
        # and change it afterwards (python-telegram-bot puts the file URL, token and all,
        # into a result it logged), and a handler formats the record later.
        record.msg, record.args = self._redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose every line goes through `redact()`, whatever the format: the
    message, the traceback (exception text can hold bound SQL parameters) and the stack."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

"""Reading the client's config file, ``~/.warmpool/config.toml`` (runtimes/README.md, "Configuration").

Python 3.9 and 3.10 have no TOML reader in the standard library, so the file's format is a subset of
TOML, which this module parses:
tables ``[name]`` (letters, digits, ``-``, ``_``), and ``key = value`` lines whose value is a basic
string ``"..."`` (escapes ``\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX``), a literal string ``'...'``,
``true``/``false`` or an integer, with ``#`` comments and blank lines. Anything else is refused with
its line number, on every version the same way: the subset is checked first (and ``tomllib`` then
reads what passed), so a file that works on 3.11 works on 3.9.
"""

from __future__ import annotations

import re
from typing import Any, Dict

Tables = Dict[str, Dict[str, Any]]

_NAME = r"[A-Za-z0-9_-]+"
_TABLE = re.compile(rf"\[\s*({_NAME})\s*\]\s*(#.*)?")
_KEY = re.compile(rf"({_NAME})\s*=\s*")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


class FileFormatError(ValueError):
    """The file is not in the config format; the message names the line."""


def parse(text: str, where: str) -> Tables:
    """The tables of a config file: ``{profile: {key: value}}``. Keys outside a table are refused."""
    tables: Tables = {}
    current: Dict[str, Any] = {}
    name = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line == "" or line.startswith("#"):
            continue
        if line.startswith("["):
            header = _TABLE.fullmatch(line)
            if not header:
                raise FileFormatError(f"{where}:{number}: a table is [name], the name of letters, digits, - and _")
            name = header.group(1)
            if name in tables:
                raise FileFormatError(f"{where}:{number}: table [{name}] appears twice")
            current = tables[name] = {}
            continue
        key = _KEY.match(line)
        if not key:
            raise FileFormatError(f"{where}:{number}: expected [profile] or key = value, got {raw.strip()!r}")
        if name == "":
            raise FileFormatError(f"{where}:{number}: {key.group(1)} is outside any [profile] table")
        value, rest = _value(line[key.end():], where, number)
        if rest.strip() and not rest.strip().startswith("#"):
            raise FileFormatError(f"{where}:{number}: unexpected text after the value of {key.group(1)}")
        if key.group(1) in current:
            raise FileFormatError(f"{where}:{number}: {key.group(1)} is set twice in [{name}]")
        current[key.group(1)] = value
    return _with_tomllib(text, where, tables)


def _with_tomllib(text: str, where: str, subset: Tables) -> Tables:
    # Where tomllib exists it has the last word (it knows TOML's corner cases; the subset parser
    # only has to agree with it on files inside the subset).
    try:
        import tomllib  # type: ignore[import-not-found]
    except ImportError:
        return subset
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FileFormatError(f"{where}: {error}") from None
    return {name: dict(table) for name, table in document.items() if isinstance(table, dict)}


def _value(text: str, where: str, number: int) -> "tuple[Any, str]":
    if text.startswith('"'):
        return _basic_string(text, where, number)
    if text.startswith("'"):
        end = text.find("'", 1)
        if end < 0:
            raise FileFormatError(f"{where}:{number}: unterminated string")
        return text[1:end], text[end + 1:]
    word = re.match(r"[A-Za-z0-9_+-]+", text)
    token = word.group(0) if word else ""
    if token in ("true", "false"):
        return token == "true", text[len(token):]
    if re.fullmatch(r"[+-]?(0|[1-9][0-9_]*)", token):
        return int(token.replace("_", "")), text[len(token):]
    raise FileFormatError(f"{where}:{number}: values are \"strings\", true/false or integers, got {text.strip()!r}")


def _basic_string(text: str, where: str, number: int) -> "tuple[str, str]":
    out = []
    i = 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return "".join(out), text[i + 1:]
        if char == "\\":
            escape = text[i + 1:i + 2]
            if escape in _ESCAPES:
                out.append(_ESCAPES[escape])
                i += 2
                continue
            if escape == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2:i + 6]):
                out.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
                continue
            raise FileFormatError(f"{where}:{number}: unsupported escape \\{escape} in a string")
        out.append(char)
        i += 1
    raise FileFormatError(f"{where}:{number}: unterminated string")

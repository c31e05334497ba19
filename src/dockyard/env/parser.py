"""A strict reader of env files: every line either means one thing to every tool, or is a problem.

python-dotenv logs and skips what it cannot parse, and it and Compose read some
lines differently (`$NAME`, single-quoted `${NAME}`). Here each such line is a
`Problem` with its file and line, and the line's text with secrets masked. The
functions are pure: bytes in, an `EnvFile` out; reading the file is
`envstore`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dockyard.core.secrets import looks_secret
from dockyard.env.mask import MASK, Sensitive, cut, shown_line

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
BOM = b"\xef\xbb\xbf"
# Linux refuses one environment string (KEY=value plus its NUL) longer than MAX_ARG_STRLEN.
MAX_ARG_STRLEN = 131072
REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}$]*))?\}")
_YAML_KEY = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*:(\s|$)")
_ASSIGNMENT = re.compile(r"[ \t]*(export[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t]*=")
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t"}
KEY_RULE = "use letters, digits and '_', not starting with a digit"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an env file; `line` 0 means the file as a whole."""

    path: str
    line: int
    message: str
    key: str | None = None
    text: str | None = None  # the line as it may be shown: secrets masked, long lines cut
    column: int | None = None

    @property
    def location(self) -> str:
        if not self.line:
            return self.path
        return f"{self.path}:{self.line}" + (f":{self.column}" if self.column else "")

    def __str__(self) -> str:
        shown = f"{self.location}: {self.message}"
        return shown if self.text is None else f"{shown}\n    > {self.text}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.path,
            "line": self.line,
            "column": self.column,
            "key": self.key,
            "message": self.message,
            "text": self.text,
        }


@dataclass(frozen=True)
class Reference:
    """A `${NAME}` or `${NAME:-default}` inside a value."""

    name: str
    default: str | None
    column: int | None


@dataclass(frozen=True)
class Entry:
    """One `KEY=value` assignment; `value` unquoted and unescaped, `${...}` not yet expanded."""

    key: str
    value: str
    quote: str  # "", "'" or '"'
    line: int
    end_line: int
    references: tuple[Reference, ...]
    shown: str  # the first line as it may be printed


@dataclass(frozen=True)
class EnvFile:
    """A parsed env file: its assignments in order (duplicates included) and its problems."""

    path: str
    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...]
    newline: str = "\n"
    blank: bool = False  # nothing but whitespace
    flawed: frozenset[int] = frozenset()  # lines whose value has a problem, not just their key

    def final(self) -> dict[str, Entry]:
        """The assignment that wins for each key: the last one, as in python-dotenv and Compose."""
        return {entry.key: entry for entry in self.entries}


def parse(data: bytes, path: str, sensitive: Sensitive = looks_secret) -> EnvFile:
    """Parse an env file's bytes; every problem is collected, none stops the parse."""
    return _Parser(path, sensitive).run(data)


@dataclass
class _Parser:
    path: str
    sensitive: Sensitive
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    flawed: set[int] = field(default_factory=set)

    def problem(
        self, line: int, message: str, key: str | None, text: str | None, column: int | None = None
    ) -> None:
        shown = None if text is None else shown_line(text, self.sensitive)
        self.problems.append(Problem(self.path, line, message, key, shown, column))

    def run(self, data: bytes) -> EnvFile:
        if data.startswith(BOM):
            data = data[len(BOM) :]
            self.problem(
                1,
                "the file starts with a UTF-8 byte order mark (BOM), which a shell's `source` "
                "reads as part of the first key: save the file as UTF-8 without a BOM",
                None,
                None,
                1,
            )
        raw_lines = data.split(b"\n")
        if raw_lines and raw_lines[-1] == b"":
            raw_lines.pop()
        newline = "\r\n" if any(raw.endswith(b"\r") for raw in raw_lines) else "\n"
        lines = [
            self.decode(number, raw.removesuffix(b"\r"))
            for number, raw in enumerate(raw_lines, start=1)
        ]
        index = 0
        while index < len(lines):
            index = self.statement(lines, index)
        self.duplicates()
        return EnvFile(
            self.path,
            tuple(self.entries),
            tuple(sorted(self.problems, key=lambda p: (p.line, p.column or 0))),
            newline,
            blank=not data.strip(),
            flawed=frozenset(self.flawed),
        )

    def decode(self, number: int, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            head = raw[: error.start].decode("utf-8", errors="replace")
            key = head.split("=", 1)[0].strip() if "=" in head else None
            self.problem(
                number,
                f"not valid UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1}): "
                "save the file as UTF-8",
                key,
                f"{key}=..." if key else None,
                error.start + 1,
            )
            return ""

    def statement(self, lines: list[str], index: int) -> int:
        """Parse the statement starting at `lines[index]`; return the index after it."""
        number = index + 1
        text = lines[index]
        rest = text.lstrip(" \t")
        if not rest or rest.startswith("#"):
            return index + 1
        column = len(text) - len(rest) + 1
        export = re.match(r"export[ \t]+", rest)
        if export:
            rest = rest[export.end() :]
            column += export.end()
        equals = rest.find("=")
        yaml = _YAML_KEY.match(rest)
        if yaml and (equals < 0 or equals > yaml.end() - 1):
            self.problem(
                number,
                f"'{yaml['key']}: ...' is YAML, not an env file line: write {yaml['key']}=value",
                yaml["key"],
                text,
                column,
            )
            return index + 1
        if equals < 0:
            key = rest.strip()
            if NAME.fullmatch(key):
                message = f"{key} has no '=': write {key}=value, or {key}= for an empty value"
            else:
                message = "not a KEY=value line: write KEY=value, or start a comment with '#'"
            self.problem(number, message, key if NAME.fullmatch(key) else None, text, column)
            return index + 1
        key = rest[:equals].rstrip(" \t")
        value_text = rest[equals + 1 :].lstrip(" \t")
        value_column = column + len(rest) - len(value_text)
        if value_text[:1] in ("'", '"'):
            value, end = self.quoted(lines, index, value_text, value_column, key)
            if value is None:
                return end
            quote = value_text[0]
        else:
            value, end, quote = _unquoted(value_text), index + 1, ""
        if not NAME.fullmatch(key):
            self.problem(number, f"invalid key name {key!r}: {KEY_RULE}", None, text, column)
            return end
        start = value_column + (1 if quote else 0)
        before = len(self.problems)
        references = self.references(number, key, value, quote=quote, column=start, text=text)
        self.check_value(number, key, value, text)
        if len(self.problems) > before:
            self.flawed.add(number)
        shown = shown_line(text, self.sensitive)
        self.entries.append(Entry(key, value, quote, number, end, references, shown))
        return end

    def quoted(
        self, lines: list[str], index: int, value_text: str, column: int, key: str
    ) -> tuple[str | None, int]:
        """A quoted value, which may run over several lines; (None, next index) when broken."""
        quote = value_text[0]
        kind = "double" if quote == '"' else "single"
        chunks: list[str] = []
        body, line, position = value_text[1:], index, 0
        while True:
            if position >= len(body):
                if line + 1 >= len(lines):
                    self.problem(
                        index + 1,
                        f"unterminated {kind} quote: the value of {key} opened at column {column} "
                        f"never closes; add the closing {quote}",
                        key,
                        lines[index],
                        column,
                    )
                    return None, index + 1
                line += 1
                chunks.append("\n")
                body, position = lines[line], 0
                continue
            char = body[position]
            if char == "\\" and position + 1 < len(body) and body[position + 1] in _ESCAPES:
                escaped = body[position + 1]
                keep = quote == '"' or escaped in ("\\", "'")
                chunks.append(_ESCAPES[escaped] if keep else char + escaped)
                position += 2
                continue
            if char == quote:
                trailing = body[position + 1 :].strip(" \t")
                swallowed = [
                    n + 1 for n in range(index + 1, line + 1) if _ASSIGNMENT.match(lines[n])
                ]
                if swallowed or (trailing and not trailing.startswith("#")):
                    self.problem(
                        index + 1,
                        _quote_message(
                            key,
                            kind,
                            (index + 1, line + 1),
                            MASK if self.sensitive(key) else trailing,
                            swallowed,
                        ),
                        key,
                        lines[index],
                        column,
                    )
                    return None, index + 1
                return "".join(chunks), line + 1
            chunks.append(char)
            position += 1

    def references(
        self, number: int, key: str, value: str, *, quote: str, column: int, text: str
    ) -> tuple[Reference, ...]:
        found: list[Reference] = []
        position = value.find("$")
        while position >= 0:
            on_first_line = "\n" not in value[:position]
            at = column + position if on_first_line else None
            if quote == "'":
                name = REFERENCE.match(value, position)
                if value.startswith("${", position):
                    shown = name[0] if name and not self.sensitive(key) else "${...}"
                    self.problem(
                        number,
                        f"single-quoted {shown} in {key} is expanded by python-dotenv but kept "
                        "literally by Compose: use double quotes to refer to the variable, or "
                        "remove the ${...}",
                        key,
                        text,
                        at,
                    )
                position = value.find("$", position + 1)
                continue
            match = REFERENCE.match(value, position)
            if match:
                found.append(Reference(match["name"], match["default"], at))
                position = value.find("$", match.end())
                continue
            message = _dollar_message(key, value, position, secret=self.sensitive(key))
            self.problem(number, message, key, text, at)
            skip = 2 if value.startswith("$$", position) else 1
            position = value.find("$", position + skip)
        return tuple(found)

    def check_value(self, number: int, key: str, value: str, text: str) -> None:
        if "\x00" in value:
            self.problem(
                number, f"{key} contains a NUL character, which no environment can hold", key, text
            )
        size = len(key.encode()) + 1 + len(value.encode())
        if size >= MAX_ARG_STRLEN:
            self.problem(
                number,
                f"{key} is {size} bytes long; Linux refuses environment entries of "
                f"{MAX_ARG_STRLEN} bytes or more, so no container could start with it: "
                "keep large values in a file and pass its path",
                key,
                text,
            )

    def duplicates(self) -> None:
        lines: dict[str, list[int]] = {}
        for entry in self.entries:
            lines.setdefault(entry.key, []).append(entry.line)
        for key, numbers in lines.items():
            if len(numbers) > 1:
                listed = ", ".join(str(n) for n in numbers)
                winner = next(e for e in reversed(self.entries) if e.key == key)
                self.problems.append(
                    Problem(
                        self.path,
                        numbers[-1],
                        f"{key} is set {len(numbers)} times (lines {listed}); python-dotenv and "
                        f"Compose use the last one, line {numbers[-1]}: delete the others",
                        key,
                        winner.shown,
                    )
                )


def _unquoted(text: str) -> str:
    """An unquoted value: up to a ` #` comment, trailing blanks dropped."""
    comment = re.search(r"[ \t]#", text)
    return (text[: comment.start()] if comment else text).rstrip(" \t")


def _quote_message(
    key: str, kind: str, lines: tuple[int, int], trailing: str, swallowed: list[int]
) -> str:
    opened, closed = lines
    if opened == closed:
        return (
            f"unexpected text after the closing quote of {key}: {cut(trailing, 40)!r}; "
            "put it inside the quotes, or start a comment with ' #'"
        )
    taken = f" and takes in the assignments on lines {', '.join(map(str, swallowed))}"
    return (
        f"the {kind} quote that opens {key}'s value on line {opened} closes only on line "
        f"{closed}{taken if swallowed else ''}: close the quote on line {opened}"
    )


def _dollar_message(key: str, value: str, position: int, *, secret: bool) -> str:
    after = value[position + 1 :]
    name = NAME.match(after)
    if secret:
        return (
            f"{key} has a '$' that Compose and python-dotenv read differently: "
            "single-quote the value to keep it literally"
        )
    if after.startswith("$"):
        return (
            f"'$$' in {key} is one '$' to Compose but two to python-dotenv: "
            "single-quote the value to keep it literally"
        )
    if name:
        return (
            f"${name[0]} in {key} is expanded by Compose but kept literally by python-dotenv: "
            f"write ${{{name[0]}}} to refer to {name[0]}, or single-quote the value to keep the '$'"
        )
    if after.startswith("{"):
        closing = after.find("}")
        if closing < 0:
            return f"unterminated ${{ in {key}: close it with '}}'"
        return (
            f"unsupported reference ${{{after[1:closing]}}} in {key}: "
            "write ${NAME} or ${NAME:-default}, the forms Compose and python-dotenv both read"
        )
    return (
        f"a '$' in {key} that does not start ${{NAME}} is read differently by Compose and "
        "python-dotenv: single-quote the value to keep it literally"
    )

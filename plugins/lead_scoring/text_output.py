"""One voice for every command: readable text by default, ``--json`` for scripts, floats
rounded in both (no 16-digit floats).

A command builds one result (dicts, lists, numbers, text) and hands it to ``emit``. Text
renders a dict as aligned ``key  value`` lines, a nested dict as an indented block and a
list of dicts as a column table; long text is never cut.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime

NUMBER_TEXT = re.compile(r"[-+]?[\d,]*\.?\d+%?|-|n/a")
DIGITS = 4  # decimals kept in JSON
TEXT_DIGITS = 3  # decimals shown in text


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of readable text")


def rounded(value, digits: int = DIGITS):
    """``value`` with every float rounded to ``digits`` decimals (NaN and infinities become
    None: JSON has no such numbers)."""
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item, digits) for item in value]
    return value


def as_json(value) -> str:
    return json.dumps(rounded(value), indent=2, default=str)


def emit(args: argparse.Namespace, result, text: Callable[[object], str] | None = None) -> None:
    """Print ``result``: JSON with ``--json``, else ``text(result)`` (default ``as_text``)."""
    print(as_json(result) if getattr(args, "json", False) else (text or as_text)(result))


def cell(value) -> str:
    """One value as text: thousands separators, at most three decimals, ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        text = f"{value:,.{TEXT_DIGITS}f}".rstrip("0").rstrip(".")
        return "0" if text in {"-0", ""} else text
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {cell(item)}" for key, item in value.items()) or "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(item) for item in value) or "-"
    return str(value)


def _is_table(value) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and bool(value)
        and all(isinstance(row, Mapping) for row in value)
    )


def _is_flat(value) -> bool:
    return isinstance(value, Mapping) and not any(
        isinstance(item, Mapping) or _is_table(item) for item in value.values()
    )


def _is_keyed_table(value) -> bool:
    """A dict of flat dicts (per object, per suite): one table row per key."""
    return isinstance(value, Mapping) and bool(value) and all(_is_flat(item) for item in value.values())


def _is_block(value) -> bool:
    """A nested dict shown as its own indented block (not squeezed into one cell)."""
    return isinstance(value, Mapping) and not _is_flat(value)


def table(rows: Sequence[Mapping], indent: int = 0) -> list[str]:
    """Rows as aligned columns under a header; a column whose every cell reads as a number
    (``1,234``, ``0.780``, ``12.5%``, ``-`` for none) is right-aligned."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    numeric = [all(NUMBER_TEXT.fullmatch(line[i]) for line in cells) for i in range(len(columns))]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]

    def line(values: list[str]) -> str:
        parts = [
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ]
        return (" " * indent + "  ".join(parts)).rstrip()

    return [line(columns), *(line(values) for values in cells)]


def text_lines(value, indent: int = 0) -> list[str]:
    pad = " " * indent
    if _is_table(value):
        return table(value, indent)
    if _is_keyed_table(value):
        return table([{"": key, **item} for key, item in value.items()], indent)
    if not isinstance(value, Mapping):
        return [pad + cell(value)]
    width = max((len(str(key)) for key in value), default=0)
    lines: list[str] = []
    for key, item in value.items():
        if _is_table(item) or _is_block(item) or (isinstance(item, Mapping) and len(cell(item)) > 60):
            lines += [f"{pad}{key}:", *text_lines(item, indent + 2)]
        else:
            lines.append(f"{pad}{str(key).ljust(width)}  {cell(item)}".rstrip())
    return lines


def as_text(value) -> str:
    return "\n".join(text_lines(value))


def progress_printer(args: argparse.Namespace) -> Callable[[str], None]:
    """Where a long command's progress lines go: stdout, or stderr with ``--json`` (so the
    JSON on stdout stays whole for a script)."""
    stream = sys.stderr if getattr(args, "json", False) else sys.stdout
    return lambda line: print(line, file=stream, flush=True)

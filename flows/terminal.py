"""What `rekap` prints: tables and lines that fit a 100-column terminal, and `rekap query`'s formats.

Nothing is ever cut: a long cell wraps inside its column, a row too wide for any column layout
is shown as a record (one `column  value` line per field), a long message wraps onto indented
lines. Ballot numbers read the same everywhere a person reads them: `01`, as on the ballot.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import polars as pl

WIDTH = 100
GAP = "  "
LONGEST_WORD = 24  # a word longer than this may break across lines
QUERY_FORMATS = ("table", "csv", "json", "jsonl", "markdown", "parquet", "line")
# Columns that hold ballot numbers (nomor_urut), in marts and in the CLI's own summaries.
BALLOT_COLUMN = re.compile(r"(^|_)(nomor_urut|no)$")


def is_ballot_column(name: str) -> bool:
    return bool(BALLOT_COLUMN.search(name))


def cell(name: str, value) -> str:
    """One value as a person reads it: 1,234 for counts, 01 for ballot numbers, — for no data."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:02d}" if is_ballot_column(name) else f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(name, v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _wrap(text: str, width: int) -> list[str]:
    lines = []
    for part in text.splitlines() or [""]:
        lines += textwrap.wrap(part, width, break_long_words=True, break_on_hyphens=False) or [""]
    return lines


def _fit(natural: list[int], minimum: list[int], width: int, numeric: list[bool]) -> list[int] | None:
    """Column widths that fit `width`, or None if even the minimums do not. Numeric columns give
    up their room first (only their names wrap, costing one header line), then the widest text
    column still above its minimum, one character at a time (each costs lines in every row)."""
    widths = list(natural)
    room = width - len(GAP) * (len(widths) - 1)
    for i in (i for i, n in enumerate(numeric) if n):
        widths[i] = max(minimum[i], widths[i] - max(0, sum(widths) - room))
    while sum(widths) > room:
        candidates = [i for i, w in enumerate(widths) if w > minimum[i]]
        if not candidates:
            return None
        widths[max(candidates, key=lambda i: widths[i])] -= 1
    return widths


def _header_parts(header: str) -> list[str]:
    """Where a column name may break: after an underscore or a space (tps_ / total, status / valid)."""
    return re.findall(r"[^ _]*_|[^ _]+ ?| ", header) or [""]


def _header_lines(header: str, width: int) -> list[str]:
    """A column name broken at its parts, hard-broken only where one part is too long."""
    lines = [""]
    for part in _header_parts(header):
        while len(part.rstrip()) > width:
            lines.append(part[:width])
            part = part[width:]
        if lines[-1] and len(lines[-1]) + len(part.rstrip()) > width:
            lines.append("")
        lines[-1] += part
    return [line.rstrip() for line in lines if line.strip()] or [""]


def _minimums(headers: list[str], cells: list[list[str]], numeric: list[bool]) -> tuple[list[int], list[int]]:
    """Each column's natural width, and the narrowest it may get: numbers never wrap (their
    column is as wide as its widest number or the longest part of its name); text wraps down to
    its longest word and the longest part of its name."""
    natural, minimum = [], []
    for i, header in enumerate(headers):
        values = max((len(line) for row in cells for line in (row[i].splitlines() or [""])), default=0)
        natural.append(max(len(header), values))
        longest_part = max(len(p.rstrip()) for p in _header_parts(header))
        # Text wraps between words: a column keeps room for its longest word (up to LONGEST_WORD).
        longest_word = max((len(word) for row in cells for word in row[i].split()), default=0)
        floor = max(longest_part, min(longest_word, LONGEST_WORD), 1)
        minimum.append(max(values, longest_part, 1) if numeric[i] else min(natural[-1], floor))
    return natural, minimum


def table(frame: pl.DataFrame, width: int = WIDTH, rows: int | None = None) -> str:
    """The frame as aligned columns within `width`; as records when its columns cannot fit."""
    if frame.width == 0:
        return "(no columns)"
    shown = frame if rows is None else frame.head(rows)
    headers = frame.columns
    cells = [[cell(name, value) for name, value in zip(headers, row)] for row in shown.iter_rows()]
    numeric = [dtype.is_numeric() for dtype in frame.dtypes]
    natural, minimum = _minimums(headers, cells, numeric)
    widths = _fit(natural, minimum, width, numeric)
    out = records(shown, width) if widths is None else _columns(headers, cells, numeric, widths)
    footer = []
    if rows is not None and frame.height > rows:
        footer.append(f"… {frame.height - rows:,} more rows (rekap query shows them all)")
    footer.append(f"({frame.height:,} row{'s' if frame.height != 1 else ''})")
    return out + "\n" + "\n".join(footer)


def _columns(headers: list[str], cells: list[list[str]], numeric: list[bool], widths: list[int]) -> str:
    def line(values: list[str], is_header: bool = False) -> list[str]:
        if is_header:
            wrapped = [_header_lines(v, w) for v, w in zip(values, widths)]
        else:
            wrapped = [[v] if n else _wrap(v, w) for v, w, n in zip(values, widths, numeric)]
        out = []
        for k in range(max(len(w) for w in wrapped)):
            parts = []
            for lines, w, n in zip(wrapped, widths, numeric):
                text = lines[k] if k < len(lines) else ""
                parts.append(text.rjust(w) if n else text.ljust(w))
            out.append(GAP.join(parts).rstrip())
        return out

    rule = GAP.join("─" * w for w in widths)
    body = [text for row in cells for text in line(row)]
    return "\n".join([*line(headers, is_header=True), rule, *body])


def records(frame: pl.DataFrame, width: int = WIDTH) -> str:
    """One block per row, one `column  value` line per field (values wrap under themselves)."""
    if frame.is_empty():
        return "(no rows) columns: " + ", ".join(frame.columns)
    name_width = min(max(len(c) for c in frame.columns), width // 3)
    value_width = width - name_width - len(GAP)
    blocks = []
    for number, row in enumerate(frame.iter_rows(named=True), start=1):
        lines = [f"── row {number} " + "─" * max(0, width - len(f"── row {number} "))]
        for name, value in row.items():
            wrapped = _wrap(cell(name, value), value_width)
            label = _wrap(name, name_width)
            for k in range(max(len(wrapped), len(label))):
                left = label[k] if k < len(label) else ""
                right = wrapped[k] if k < len(wrapped) else ""
                lines.append(f"{left.ljust(name_width)}{GAP}{right}".rstrip())
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


# Honorifics and degrees around a candidate's name on the ballot (Dr. Ir. H. ..., S.E., M.Si.).
_LEADING_TITLES = re.compile(r"^(?:\(?(?:[A-Za-z]{1,5}\.)+\)?\s+)+")


def short_name(name: str | None) -> str | None:
    """A pair as people say it: 'Dr. Ir. H. ISRAN NOOR, M.Si. - H. HADI MULYADI, S.Si., M.Si.'
    -> 'ISRAN NOOR - HADI MULYADI'. For the run summary's narrow tables; the marts keep the
    full name."""
    if not name:
        return name
    people = [_LEADING_TITLES.sub("", person.split(",")[0].strip()) or person.strip() for person in name.split(" - ")]
    return " - ".join(people)


def line_format(frame: pl.DataFrame) -> str:
    """One line per row, `column=value` pairs (values with spaces quoted): for grep and logs."""

    def pair(name: str, value) -> str:
        text = cell(name, value) if value is not None else ""
        return f"{name}={json.dumps(text, ensure_ascii=False)}" if (not text or re.search(r'[\s"=]', text)) else f"{name}={text}"

    return "\n".join(" ".join(pair(n, v) for n, v in row.items()) for row in frame.iter_rows(named=True))


def markdown(frame: pl.DataFrame) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    numeric = [dtype.is_numeric() for dtype in frame.dtypes]
    head = "| " + " | ".join(escape(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---:" if n else "---" for n in numeric) + "|"
    rows = ["| " + " | ".join(escape(cell(n, v)) for n, v in zip(frame.columns, row)) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *rows])


def flat_for_csv(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV has no lists or structs: write them as JSON text, which reads back unambiguously."""
    nested = [name for name, dtype in frame.schema.items() if isinstance(dtype, (pl.List, pl.Array, pl.Struct))]
    if not nested:
        return frame
    return frame.with_columns(
        pl.Series(name, [None if v is None else json.dumps(v if not isinstance(v, pl.Series) else v.to_list(), ensure_ascii=False, default=str)
                         for v in frame[name].to_list()], dtype=pl.Utf8)
        for name in nested
    )  # fmt: skip


def write_query(frame: pl.DataFrame, fmt: str, output: Path | None) -> str | None:
    """Render a query result; parquet (binary) goes to `output` only. Returns the text to print."""
    if fmt == "parquet":
        assert output is not None
        frame.write_parquet(output)
        return None
    if fmt == "csv":
        text = flat_for_csv(frame).write_csv()
    elif fmt == "json":
        text = frame.write_json() + "\n"
    elif fmt == "jsonl":
        text = frame.write_ndjson()
    elif fmt == "markdown":
        text = markdown(frame) + "\n"
    elif fmt == "line":
        text = line_format(frame) + "\n"
    else:
        text = table(frame) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
        return None
    return text


def fit_lines(text: str, width: int = WIDTH) -> str:
    """Wrap each line longer than `width` at spaces, continuing under its own indentation.

    Markdown tables (the data-quality summary shared with the Prefect artifact) become aligned
    columns, which wrap inside their cells instead."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|"):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append(lines[i])
                i += 1
            out.append(_markdown_table(block, width))
            continue
        out += wrap_line(lines[i], width)
        i += 1
    return "\n".join(out)


def wrap_line(line: str, width: int = WIDTH) -> list[str]:
    if len(line) <= width:
        return [line]
    indent = re.match(r"\s*", line).group(0)
    # A word longer than the line (a path, a URL) stays whole: breaking it would spoil a copy-paste.
    return textwrap.wrap(line, width, initial_indent="", subsequent_indent=indent + "    ",
                         break_long_words=False, break_on_hyphens=False, drop_whitespace=True)  # fmt: skip


def _markdown_table(block: list[str], width: int) -> str:
    def split(row: str) -> list[str]:
        return [c.strip().replace("`", "") for c in row.strip().strip("|").split("|")]

    header = split(block[0])
    has_rule = len(block) > 1 and set(block[1]) <= set("|-: ")
    rows = [(split(r) + [""] * len(header))[: len(header)] for r in block[2 if has_rule else 1 :]]
    numeric = [bool(rows) and all(re.fullmatch(r"[\d,.%+−-]*", r[i]) for r in rows) for i in range(len(header))]
    natural, minimum = _minimums(header, rows, numeric)
    widths = _fit(natural, minimum, width, numeric)
    if widths is None:
        return records(pl.DataFrame({h: [r[i] for r in rows] for i, h in enumerate(header)}, schema={h: pl.Utf8 for h in header}), width)
    return _columns(header, rows, numeric, widths)


def echo(text: str = "", **options) -> None:
    """click.echo, every line fitted to WIDTH (wrapped, never cut)."""
    import click

    click.echo(fit_lines(text) if text else text, **options)

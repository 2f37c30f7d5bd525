"""Read a count spreadsheet (internal count or official recap) into typed rows, or say exactly why not.

Shared by flows/sources/internal.py and flows/sources/official.py. Pure: a file in, a
`CountTable` or a `CountFileError` out; nothing here knows the warehouse. What a file must look
like:

- CSV (`,` `;` or tab separated, UTF-8), XLSX (first sheet, read by polars through fastexcel)
  or Parquet; the first row holds the headers.
- One row per region or TPS, identified by a code column; wide (one column per candidate, by
  ballot number: `suara_paslon_01`, `isran_hadi_01`) or, for internal counts, long (code,
  candidate, votes).
- Columns map to fields through `count_columns.toml` (beside this file), overridable per run.

Every cell is read as text first, so nothing is guessed: an empty cell (or "-") is unknown,
never zero; a count must be a whole number (thousands separators allowed); anything else stops
the file with a message naming the file, the column, the row and what was expected.
"""

from __future__ import annotations

import hashlib
import io
import re
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from schemas.regions import CODE_LENGTHS, LEVEL_BY_CODE_LENGTH
from schemas.rows import ROW_SCHEMA, VOTE_SCHEMA, CountFileError, CountTable  # noqa: F401  (the shapes a count reader fills)

DEFAULT_COLUMNS = Path(__file__).with_name("count_columns.toml")
FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet", ".pq": "parquet"}
LEVELS = {length: LEVEL_BY_CODE_LENGTH[length] for length in CODE_LENGTHS}  # a count file names no nation
COUNT_FIELDS = ("suara_sah", "suara_tidak_sah", "dpt")
TEXT_FIELDS = ("name", "witness_id", "source_note")
UNKNOWN_CELLS = {"", "-", "–", "—"}
# Whole numbers as spreadsheets write them: 214374, 214.374 or 214,374 (thousands), 214374.0 (a float cell).
_WHOLE = re.compile(r"^-?(?:[0-9]+|[0-9]{1,3}(?:[.,\s][0-9]{3})+)(?:\.0+)?$")
_BALLOT = re.compile(r"(?i)^(?:paslon|calon|pasangan|no\.?|nomor|nomor urut|no urut|#)?\s*0*([1-9][0-9]?)$")
_TOTAL_NAMES = re.compile(r"(?i)^(?:jumlah|total)\b")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
                     "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y")  # fmt: skip
EXAMPLES = 3



@dataclass(frozen=True)
class ColumnConfig:
    """Which header means which field; see count_columns.toml for the meaning of each key."""

    fields: dict[str, tuple[str, ...]]
    candidate_patterns: tuple[re.Pattern, ...]
    ignore_names: frozenset[str]
    ignore_patterns: tuple[re.Pattern, ...]
    election: str | None = None
    contest: str | None = None

    @classmethod
    def load(cls, override: Path | None = None) -> "ColumnConfig":
        """The default mapping, with `override`'s keys replacing its lists. Every key of the
        override is checked here (types, race names, regular expressions and their capture
        group), so a bad configuration stops a run before anything is read, naming file and key."""
        config = tomllib.loads(DEFAULT_COLUMNS.read_text())
        if override is not None:
            try:
                mine = tomllib.loads(Path(override).read_text())
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ValueError(f"column configuration {override}: {exc}") from exc
            unknown = set(mine) - {"election", "contest", "fields", "candidates", "ignore"}
            if unknown:
                raise ValueError(f"column configuration {override}: unknown keys {sorted(unknown)}")
            for key, shape in (("election", _ELECTION_ID), ("contest", _CONTEST)):
                if key in mine:
                    if not isinstance(mine[key], str) or not shape.match(mine[key]):
                        raise ValueError(f"column configuration {override}: {key} = {mine[key]!r} is not {_RACE_PART_MEANING[key]}")
                    config[key] = mine[key]
            for section in ("fields", "candidates", "ignore"):
                given = mine.get(section, {})
                if not isinstance(given, dict):
                    raise ValueError(f"column configuration {override}: {section} must be a table ([{section}])")
                unknown = set(given) - set(config[section])
                if unknown:
                    raise ValueError(f"column configuration {override}: unknown keys in [{section}]: {sorted(unknown)}")
                for key, value in given.items():
                    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                        raise ValueError(f"column configuration {override}: {section}.{key} must be a list of strings")
                config[section].update(given)
        where = override or DEFAULT_COLUMNS
        return cls(
            fields={name: tuple(normalise(h) for h in headers) for name, headers in config["fields"].items()},
            candidate_patterns=_patterns(where, "candidates.patterns", config["candidates"]["patterns"], groups=1),
            ignore_names=frozenset(normalise(h) for h in config["ignore"]["names"]),
            ignore_patterns=_patterns(where, "ignore.patterns", config["ignore"]["patterns"], groups=0),
            election=config.get("election"),
            contest=config.get("contest"),
        )

    def signature(self) -> str:
        """What the mapping is, hashed: the same file read under another mapping is another version."""
        text = repr((sorted(self.fields.items()), [p.pattern for p in self.candidate_patterns],
                     sorted(self.ignore_names), [p.pattern for p in self.ignore_patterns]))  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def expected(self, fields: tuple[str, ...]) -> str:
        """The accepted names, for error messages."""
        listed = "; ".join(f"{name}: {', '.join(self.fields[name][:6])}" for name in fields)
        return f"{listed}; candidate columns like suara_paslon_01, paslon_02, isran_hadi_01 (one per ballot number)"


_ELECTION_ID = re.compile(r"^(?:pemilu|pilkada)[0-9]{4}$")
_CONTEST = re.compile(r"^[a-z]+$")
_RACE_PART_MEANING = {"election": "an election id like pilkada2024", "contest": "a contest like pkwkp"}


def _patterns(path: Path, key: str, patterns: list[str], groups: int) -> tuple[re.Pattern, ...]:
    """Compile a configuration's regular expressions; a candidate pattern must capture the ballot number."""
    compiled = []
    for i, pattern in enumerate(patterns):
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"column configuration {path}: {key}[{i}] = {pattern!r} is not a regular expression: {exc}") from exc
        if regex.groups < groups:
            raise ValueError(f"column configuration {path}: {key}[{i}] = {pattern!r} has no capture group: its first group must capture the ballot number")
        compiled.append(regex)
    return tuple(compiled)




def normalise(header: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(header).strip().lower()).strip("_")


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise CountFileError(path, "unknown_format", f"{path.suffix or 'no extension'} is not a count file format (expected .csv, .xlsx or .parquet)")
    return fmt


def read_cells(path: Path) -> tuple[pl.DataFrame, str, bytes]:
    """Every cell as text (null = empty), the format, and the file's bytes."""
    path = Path(path)
    fmt = file_format(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CountFileError(path, "unreadable", f"cannot read: {exc}") from exc
    if fmt == "xlsx":
        _refuse_uncalculated_formulas(path, data)
    try:
        if fmt == "csv":
            text = data.decode("utf-8-sig")
            first = text.split("\n", 1)[0]
            separator = max((",", ";", "\t"), key=first.count)
            frame = pl.read_csv(io.StringIO(text), separator=separator, infer_schema=False, truncate_ragged_lines=False)
        elif fmt == "xlsx":
            frame = pl.read_excel(io.BytesIO(data), infer_schema_length=0)
        else:
            frame = pl.read_parquet(io.BytesIO(data))
            frame = frame.with_columns(pl.all().cast(pl.Utf8))
    except UnicodeDecodeError as exc:
        raise CountFileError(path, "unreadable", f"not UTF-8 text: {exc}") from exc
    except Exception as exc:  # polars/fastexcel raise many kinds for a broken file; all mean "cannot read"
        raise CountFileError(path, "unreadable", f"cannot read as {fmt}: {exc}") from exc
    frame = frame.with_columns(pl.all().str.strip_chars())
    # Trailing blank rows are common in spreadsheets; they hold nothing.
    frame = frame.with_row_index("row_number", offset=2).filter(~pl.all_horizontal(pl.exclude("row_number").is_null() | (pl.exclude("row_number") == "")))
    return frame.with_columns(pl.col("row_number").cast(pl.Int64)), fmt, data


_SHEET = re.compile(rb'<sheet\b[^>]*?\br:id="([^"]+)"')
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]+[0-9]+)"')
_CACHED_VALUE = re.compile(rb"<v>[^<]+</v>")


def _refuse_uncalculated_formulas(path: Path, data: bytes) -> None:
    """A formula cell of the first sheet without a saved result reads as empty, and workbooks
    written by a program that never calculated them (`fullCalcOnLoad`) carry 0 as the result:
    either way the number the formula stands for is not in the file, so the file is refused
    rather than read as unknown or 0."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            workbook = book.read("xl/workbook.xml")
            rels = book.read("xl/_rels/workbook.xml.rels")
            first = _SHEET.search(workbook)
            target = first and re.search(rb'Id="' + re.escape(first.group(1)) + rb'"[^>]*?Target="([^"]+)"', rels)
            if not target:
                return  # not the layout this check knows: the reader says what is wrong
            sheet = book.read("xl/" + target.group(1).decode().removeprefix("/xl/").removeprefix("xl/"))
    except (zipfile.BadZipFile, KeyError):
        return
    never_calculated = re.search(rb'fullCalcOnLoad="(?:1|true)"', workbook) is not None
    for cell in _CELL.finditer(sheet):
        inner = cell.group(2) or b""
        if b"<f" in inner and (never_calculated or not _CACHED_VALUE.search(inner)):
            ref = _CELL_REF.search(cell.group(1))
            where = ref.group(1).decode() if ref else "?"
            why = "whose saved result was never calculated (the workbook asks to be calculated when opened)" if never_calculated else "with no saved result"
            raise CountFileError(path, "formula_without_value", f"cell {where} holds a formula {why}: open and save the file in a "
                                                               "spreadsheet program (or type the number) so the value is in the file",
                                 locator=f"cell {where}")  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """Which column is what in one file."""

    fields: dict[str, str]  # field -> original header
    candidates: dict[int, str]  # ballot number -> original header (wide form)
    ignored: tuple[str, ...]
    long_form: bool


def map_columns(path: Path, headers: list[str], config: ColumnConfig, allowed: tuple[str, ...]) -> Layout:
    """Assign each header to a field, a ballot number or the ignore list; refuse unknown or ambiguous ones."""
    by_field: dict[str, list[str]] = {}
    by_ballot: dict[int, list[str]] = {}
    ignored, unknown = [], []
    lookup = {h: name for name in allowed for h in config.fields[name]}
    for header in headers:
        key = normalise(header)
        if key in lookup:
            by_field.setdefault(lookup[key], []).append(header)
        elif key in config.ignore_names or any(p.search(key) for p in config.ignore_patterns):
            ignored.append(header)
        elif (ballot := _ballot_of(key, config)) is not None:
            by_ballot.setdefault(ballot, []).append(header)
        else:
            unknown.append(header)
    if unknown:
        raise CountFileError(path, "unknown_column", f"column {unknown[0]!r} is not a known column; expected {config.expected(allowed)}"
                             + (f" (also unknown: {', '.join(repr(u) for u in unknown[1:])})" if len(unknown) > 1 else ""),  # fmt: skip
                             locator=f"column {unknown[0]}")
    for name, found in by_field.items():
        if len(found) > 1:
            raise CountFileError(path, "ambiguous_column", f"columns {found[0]!r} and {found[1]!r} both mean {name}; keep one (or list one under [ignore] in --columns)", locator=f"column {found[1]}")
    for ballot, found in by_ballot.items():
        if len(found) > 1:
            raise CountFileError(path, "ambiguous_column", f"columns {found[0]!r} and {found[1]!r} both read as candidate {ballot:02d}; keep one (or list one under [ignore] in --columns)", locator=f"column {found[1]}")
    fields = {name: found[0] for name, found in by_field.items()}
    if "code" not in fields:
        raise CountFileError(path, "missing_column", f"no code column; expected one of {', '.join(config.fields['code'][:8])}")
    long_form = "candidate" in fields or "votes" in fields
    if long_form and not {"candidate", "votes"} <= set(fields):
        missing = "votes" if "candidate" in fields else "candidate"
        raise CountFileError(path, "missing_column", f"long form needs a {missing} column too; expected one of {', '.join(config.fields[missing])}")
    if long_form and by_ballot:
        raise CountFileError(path, "ambiguous_column", f"both long form (candidate, votes) and candidate columns ({', '.join(h[0] for h in by_ballot.values())}); use one form per file")
    if not long_form and not by_ballot:
        raise CountFileError(path, "missing_column", f"no candidate columns; expected {config.expected(())}")
    return Layout(fields, {b: h[0] for b, h in sorted(by_ballot.items())}, tuple(ignored), long_form)


def _ballot_of(key: str, config: ColumnConfig) -> int | None:
    for pattern in config.candidate_patterns:
        match = pattern.match(key)
        if match:
            return int(match.group(1))
    return None


def parse_whole(path: Path, cells: pl.DataFrame, column: str, what: str) -> pl.Series:
    """A column of counts: whole numbers or unknown (null); text stops the file."""
    raw = cells[column]
    text = raw.str.replace_all(r"\s", "")
    unknown = raw.is_null() | raw.is_in(list(UNKNOWN_CELLS))
    ok = text.str.contains(_WHOLE.pattern).fill_null(False)
    bad = cells.filter(~unknown & ~ok)
    if bad.height:
        examples = ", ".join(f"row {r[0]} ({r[1]!r})" for r in bad.select("row_number", column).head(EXAMPLES).iter_rows())
        raise CountFileError(path, "not_a_count", f"column {column!r} ({what}) holds text, not a whole number: {examples}"
                             + (f" and {bad.height - EXAMPLES} more" if bad.height > EXAMPLES else "") + "; an unknown count must be left empty",  # fmt: skip
                             locator=f"column {column}, row {bad['row_number'][0]}")
    digits = text.str.replace(r"\.0+$", "").str.replace_all(r"[.,]", "")
    counts = pl.select(pl.when(unknown).then(None).otherwise(digits).cast(pl.Int64, strict=False).alias(column)).to_series()
    # A whole number past 64-bit integers would become "unknown" silently: say which cell it is.
    overflow = cells.filter(~unknown & counts.is_null())
    if overflow.height:
        r = overflow.select("row_number", column).row(0)
        raise CountFileError(path, "not_a_count", f"column {column!r} ({what}) row {r[0]}: {r[1]!r} is beyond any possible count (and past 64-bit integers)",
                             locator=f"column {column}, row {r[0]}")  # fmt: skip
    return counts


def parse_codes(path: Path, cells: pl.DataFrame, column: str) -> pl.Series:
    """Region codes as SIREKAP writes them: digits only. Kemendagri dots and a float cell's .0 are dropped."""
    codes = cells[column].str.replace(r"\.0$", "").str.replace_all(r"[.\s]", "")
    return codes.alias("code")


def parse_times(path: Path, cells: pl.DataFrame, column: str) -> pl.Series:
    raw = cells[column]
    parsed = pl.Series("submitted_at", [None] * cells.height, dtype=pl.Datetime("us"))
    for fmt in _DATETIME_FORMATS:
        attempt = raw.str.strptime(pl.Datetime("us"), fmt, strict=False)
        parsed = parsed.fill_null(attempt)
    bad = cells.filter(raw.is_not_null() & parsed.is_null())
    if bad.height:
        r = bad.select("row_number", column).row(0)
        raise CountFileError(path, "not_a_time", f"column {column!r} row {r[0]}: {r[1]!r} is not a date/time (expected YYYY-MM-DD[ HH:MM[:SS]] or DD/MM/YYYY[ HH:MM])", locator=f"column {column}, row {r[0]}")
    return parsed


def read_count_file(path: Path, kind: str, config: ColumnConfig, allowed: tuple[str, ...], long_form_ok: bool) -> CountTable:
    """Read one file into rows and votes, typed; total rows are not recognised here (see official.py)."""
    path = Path(path).resolve()
    cells, fmt, data = read_cells(path)
    headers = [c for c in cells.columns if c != "row_number"]
    layout = map_columns(path, headers, config, allowed)
    if layout.long_form and not long_form_ok:
        raise CountFileError(path, "unknown_column", f"column {layout.fields['candidate']!r}: a {kind} file is wide (one column per candidate); expected {config.expected(allowed)}", locator=f"column {layout.fields['candidate']}")
    if cells.height == 0:
        raise CountFileError(path, "empty_file", "no data rows under the header")

    f = layout.fields
    rows = pl.DataFrame({"row_number": cells["row_number"]})
    rows = rows.with_columns(parse_codes(path, cells, f["code"]))
    for name in TEXT_FIELDS:
        rows = rows.with_columns((cells[f[name]] if name in f else pl.Series([None] * cells.height, dtype=pl.Utf8)).alias(name))
    for name in COUNT_FIELDS:
        rows = rows.with_columns(parse_whole(path, cells, f[name], name).alias(name) if name in f else pl.lit(None, pl.Int64).alias(name))
    rows = rows.with_columns(parse_times(path, cells, f["submitted_at"]) if "submitted_at" in f else pl.lit(None, pl.Datetime("us")).alias("submitted_at"))
    rows = rows.with_columns(
        pl.col("code").str.len_chars().replace_strict(LEVELS, default=None, return_dtype=pl.Utf8).alias("level"),
        pl.lit(False).alias("is_total"),
    )

    if layout.long_form:
        rows, votes = _long_form(path, cells, rows, layout)
        labels: dict[int, str] = {}
    else:
        parts = []
        for ballot, header in layout.candidates.items():
            counts = parse_whole(path, cells, header, f"votes for candidate {ballot:02d}")
            parts.append(pl.DataFrame({"row_number": cells["row_number"], "nomor_urut": ballot, "votes": counts, "column_name": header}))
        votes = pl.concat(parts).filter(pl.col("votes").is_not_null())
        labels = dict(layout.candidates)
    columns = {h: n for n, h in layout.fields.items()} | {h: f"candidate {b:02d}" for b, h in layout.candidates.items()} | {h: "ignored" for h in layout.ignored}
    return CountTable(
        kind=kind,
        source_file=str(path),
        content_hash=hashlib.sha256(data).hexdigest(),
        file_format=fmt,
        columns=columns,
        rows=rows.select(ROW_SCHEMA.keys()).cast(ROW_SCHEMA),
        votes=votes.select(VOTE_SCHEMA.keys()).cast(VOTE_SCHEMA),
        ballot_labels=labels,
    )


def _long_form(path: Path, cells: pl.DataFrame, rows: pl.DataFrame, layout: Layout) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Long form: one line per code x candidate. Lines with the same code, witness and time are one
    submission (a row of the result, numbered by its first line)."""
    f = layout.fields
    raw_candidate = cells[f["candidate"]]
    ballots = raw_candidate.str.extract(_BALLOT.pattern, 1).cast(pl.Int64, strict=False)
    bad = cells.filter(raw_candidate.is_not_null() & ballots.is_null() | raw_candidate.is_null())
    if bad.height:
        r = bad.select("row_number", f["candidate"]).row(0)
        raise CountFileError(path, "not_a_candidate", f"column {f['candidate']!r} row {r[0]}: {r[1]!r} is not a ballot number (expected 1, 01 or 'paslon 01')", locator=f"column {f['candidate']}, row {r[0]}")
    lines = rows.with_columns(ballots.alias("nomor_urut"), parse_whole(path, cells, f["votes"], "votes").alias("votes"))
    key = ["code", "witness_id", "submitted_at"]
    lines = lines.with_columns(pl.col("row_number").min().over(key, mapping_strategy="group_to_rows").alias("submission"))
    dupes = lines.filter(pl.len().over(["submission", "nomor_urut"]) > 1)
    if dupes.height:
        r = dupes.sort("row_number").row(1, named=True)
        raise CountFileError(path, "ambiguous_row", f"row {r['row_number']}: candidate {r['nomor_urut']:02d} at {r['code']} appears twice in one submission (same code, witness and time); give each submission its own witness or time", locator=f"row {r['row_number']}", code=r["code"])
    submissions = lines.filter(pl.col("row_number") == pl.col("submission")).drop("nomor_urut", "votes", "submission")
    votes = lines.select(pl.col("submission").alias("row_number"), "nomor_urut", "votes", pl.lit(f["votes"]).alias("column_name"))
    return submissions, votes.filter(pl.col("votes").is_not_null())


def mark_total_row(path: Path, table: CountTable) -> CountTable:
    """A recap's total row: the row whose code contains every other row's code (the province on a
    kab/kota recap), or a row named JUMLAH/TOTAL without a code (it then gets the common parent's code)."""
    rows = table.rows
    named_total = rows["code"].is_null() & rows["name"].str.contains(_TOTAL_NAMES.pattern).fill_null(False)
    others = rows.filter(~named_total)["code"].drop_nulls().to_list()
    if named_total.any():
        parent = _common_parent(others)
        if parent is None:
            raise CountFileError(path, "not_a_region", "a JUMLAH/TOTAL row without a code, and the other rows share no parent region to give it", locator="total row")
        rows = rows.with_columns(pl.when(named_total).then(pl.lit(parent)).otherwise(pl.col("code")).alias("code"))
        rows = rows.with_columns(pl.when(named_total).then(pl.lit(True)).otherwise(pl.col("is_total")).alias("is_total"))
    else:
        for code in others:
            rest = [c for c in others if c != code]
            if rest and all(c.startswith(code) and len(c) > len(code) for c in rest):
                rows = rows.with_columns((pl.col("code") == code).alias("is_total"))
                break
    rows = rows.with_columns(pl.col("code").str.len_chars().replace_strict(LEVELS, default=None, return_dtype=pl.Utf8).alias("level"))
    table.rows = rows
    return table


def _common_parent(codes: list[str]) -> str | None:
    if not codes:
        return None
    shortest = min(len(c) for c in codes)
    for length in sorted((n for n in LEVELS if n < shortest), reverse=True):
        prefix = codes[0][:length]
        if all(c.startswith(prefix) for c in codes):
            return prefix
    return None

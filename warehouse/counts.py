"""Load internal-count and official-recap files into the raw layer, whole or not at all.

Each file is one *record* of the run: it is either loaded (all its rows) or quarantined (none of
them), so `runs` keeps read = loaded + quarantined. A file is refused when the reader or its
contract refuses it (flows/sources, schemas/counts.py), or when what the warehouse already knows
contradicts it: a code that is not a region of its parent, a ballot number the race's candidate
master lacks, a race that cannot be told. Loading the same file again adds nothing.

The race (election and contest) of a file comes from the column configuration if it says, else
from the SIREKAP data already loaded: the races whose regions contain every code of the file.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import polars as pl

from schemas.counts import COUNT_TABLES, check_count_table
from schemas.rows import CountFileError, CountTable
from warehouse.load import QUARANTINE_SCHEMA, LoadResult, utc_now

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
SHOWN = 12  # codes listed in a message


class CountReader(Protocol):
    """What the loader needs of the readers (flows/sources/count_files.py CountFiles)."""

    config: Any  # the column configuration: election, contest, signature()

    def read(self, kind: str, path: Path) -> CountTable: ...

    def total_mismatches(self, table: CountTable) -> list[tuple[int, int, int]]: ...


@dataclass(frozen=True)
class CountLoadResult(LoadResult):
    messages: tuple[str, ...] = field(default=())  # one per refused file, and per official total that does not add up


@dataclass
class _Accepted:
    table: CountTable
    version_id: str
    election: str
    contest: str


class _Knowledge:
    """What the warehouse knows, before this file: races with data, regions' children, candidate masters."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        contests = con.execute((SQL_DIR / "intermediate" / "int_contests.sql").read_text()).fetchall()
        self.race_length = {row[0]: row[2] for row in contests}
        self.node_codes: dict[tuple[str, str], set[str]] = {}
        for election, contest, code in con.execute("select distinct election, contest, code from raw_documents where kind = 'node'").fetchall():
            self.node_codes.setdefault((election, contest), set()).add(code)
        self.children: dict[str, set[str]] = {}
        listed = con.execute(
            """select raw_documents.code, raw_child_rows.child_code
               from raw_child_rows inner join raw_documents on raw_documents.version_id = raw_child_rows.version_id
               union
               select parent_code, code from raw_regions"""
        ).fetchall()
        for parent, child in listed:
            self.children.setdefault(parent, set()).add(child)
        with open(SQL_DIR / "seeds" / "ref_provinces.csv") as seed:
            self.children.setdefault("0", set()).update(row["code"] for row in csv.DictReader(seed))
        self.ballots: dict[tuple[str, str, str | None], set[int]] = {}
        masters = con.execute(
            """select raw_documents.election, raw_documents.contest, raw_candidates.region_code, raw_candidates.nomor_urut
               from raw_candidates inner join raw_documents on raw_documents.version_id = raw_candidates.version_id
               where raw_candidates.nomor_urut is not null"""
        ).fetchall()
        for election, contest, region, ballot in masters:
            self.ballots.setdefault((election, contest, region), set()).add(ballot)

    def race_of(self, path: str, codes: list[str], config: Any, election_year: int) -> tuple[str, str]:
        if config.election and config.contest:
            if (config.election, config.contest) not in self.node_codes:
                # Loaded under a race that exists nowhere, its numbers would reconcile with nothing.
                loaded = ", ".join(f"{e}/{c}" for e, c in sorted(self.node_codes)) or "none: no SIREKAP data is loaded"
                raise CountFileError(path, "unknown_race", f"--columns names the race {config.election}/{config.contest}, which no loaded SIREKAP data has; "
                                                           f"the loaded races are {loaded}")  # fmt: skip
            return config.election, config.contest
        fits = []
        for (election, contest), known in sorted(self.node_codes.items()):
            if config.election and election != config.election or config.contest and contest != config.contest:
                continue
            length = self.race_length.get(contest)
            if length is None:
                continue
            races = {c[:length] for c in known if len(c) >= length and c != "0"} if length else {""}
            if all(len(c) >= length and c[:length] in races for c in codes):
                fits.append((election, contest))
        if len(fits) == 1:
            return fits[0]
        if not fits:
            hint = "no SIREKAP data is loaded" if not self.node_codes else "no loaded SIREKAP race contains all of its codes"
            raise CountFileError(path, "unknown_race", f"cannot tell which race the file counts ({hint}); set election and contest in a --columns file")
        names = ", ".join(f"{e}/{c}" for e, c in fits)
        raise CountFileError(path, "ambiguous_race", f"the file's codes fit several races ({names}); set election and contest in a --columns file")

    def check_regions(self, path: str, table: CountTable) -> None:
        """Refuse a code whose parent's list of children (a SIREKAP table or region list) lacks it."""
        for row_number, code in table.rows.select("row_number", "code").iter_rows():
            parent = "0"
            for length in (2, 4, 6, 10, 13):
                if length > len(code):
                    break
                prefix = code[:length]
                known = self.children.get(parent)
                if known and prefix not in known:
                    siblings = sorted(known)
                    shown = ", ".join(siblings[:SHOWN]) + (f" and {len(siblings) - SHOWN} more" if len(siblings) > SHOWN else "")
                    what = f"{code}" if prefix == code else f"{code} (its {_level(length)} {prefix})"
                    raise CountFileError(path, "not_a_region", f"row {row_number}: code {what} is not a region of {parent}; the regions there are {shown}",
                                         locator=f"row {row_number}", code=code)  # fmt: skip
                parent = prefix

    def check_ballots(self, path: str, table: CountTable, election: str, contest: str) -> None:
        length = self.race_length.get(contest, 0)
        rows = table.rows.select("row_number", "code")
        votes = table.votes.join(rows, on="row_number")
        for (race_code,), group in votes.group_by(pl.col("code").str.slice(0, length) if length else pl.lit("0")):
            known = self.ballots.get((election, contest, race_code)) or self.ballots.get((election, contest, None))
            if not known:
                continue  # no candidate master for the race: ballot numbers are kept as given
            unknown = sorted(set(group["nomor_urut"]) - known)
            if unknown:
                header = table.ballot_labels.get(unknown[0], f"candidate {unknown[0]:02d}")
                raise CountFileError(path, "unknown_candidate", f"column {header!r}: ballot number {unknown[0]:02d} is not a candidate of {election}/{contest} {race_code}; its ballot numbers are {', '.join(f'{b:02d}' for b in sorted(known))}",
                                     locator=f"column {header}")  # fmt: skip


def _level(length: int) -> str:
    return {2: "province", 4: "kab/kota", 6: "kecamatan", 10: "kelurahan", 13: "TPS"}[length]


def version_of(table: CountTable, election: str, contest: str, config: Any) -> str:
    key = f"count|{table.kind}|{election}|{contest}|{config.signature()}|{table.content_hash}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def read_and_check(kind: str, path: Path, files: CountReader, election_year: int, knowledge: _Knowledge) -> _Accepted:
    """Read one file and hold it against its contract and the warehouse; raise CountFileError to refuse it."""
    config = files.config
    table = files.read(kind, path)
    failures = check_count_table(table)
    if failures:
        rule, locator, _, code = failures[0]
        raise CountFileError(table.source_file, rule, "; ".join(reason for *_, reason, _ in failures), locator=locator, code=code)
    knowledge.check_regions(table.source_file, table)
    election, contest = knowledge.race_of(table.source_file, table.rows["code"].to_list(), config, election_year)
    knowledge.check_ballots(table.source_file, table, election, contest)
    return _Accepted(table, version_of(table, election, contest, config), election, contest)


def ingest_counts(con: duckdb.DuckDBPyConnection, run_id: str, internal: list[Path], official: list[Path],
                  files: CountReader, election_year: int = 2024) -> CountLoadResult:  # fmt: skip
    """Read (through `files`), check and load every count file of a run; refused files go to quarantine."""
    knowledge = _Knowledge(con)
    accepted: list[_Accepted] = []
    quarantine: list[dict] = []
    messages: list[str] = []
    sources = [(kind, Path(p)) for kind, paths in (("internal", internal), ("official", official)) for p in paths]
    for kind, path in sources:
        try:
            item = read_and_check(kind, path, files, election_year, knowledge)
        except CountFileError as exc:
            quarantine.append({"source_file": exc.path, "source_path": exc.path, "locator": exc.locator, "node_code": exc.code,
                               "rule": exc.rule, "reason": f"{kind} file not loaded: {exc.reason}", "excerpt": _excerpt(path)})  # fmt: skip
            messages.append(f"{kind} file not loaded: {exc.path}: {exc.reason}")
            continue
        accepted.append(item)
        for ballot, total, rows in files.total_mismatches(item.table):
            messages.append(f"official recap {item.table.source_file}: total row says {total:,} for candidate {ballot:02d}, its rows sum to {rows:,} ({total - rows:+,})")
    return _load(con, run_id, [str(p.resolve()) for _, p in sources], accepted, quarantine, messages)


def _excerpt(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(300).decode("utf-8", "replace")
    except OSError:
        return None


def _load(con: duckdb.DuckDBPyConnection, run_id: str, sources: list[str], accepted: list[_Accepted],
          quarantine: list[dict], messages: list[str]) -> CountLoadResult:  # fmt: skip
    now = utc_now()
    files = pl.DataFrame(
        [{"version_id": a.version_id, "source_kind": a.table.kind, "election": a.election, "contest": a.contest,
          "content_hash": a.table.content_hash, "file_format": a.table.file_format,
          "column_map": json.dumps(a.table.columns, ensure_ascii=False), "data_rows": a.table.rows.height} for a in accepted],
        schema=COUNT_TABLES["raw_count_files"][1],
    ).unique("version_id", keep="first", maintain_order=True)  # fmt: skip
    rows = pl.concat([a.table.rows.with_columns(pl.lit(a.version_id).alias("version_id")) for a in accepted] or
                     [pl.DataFrame(schema=COUNT_TABLES["raw_count_rows"][1])], how="diagonal").unique(["version_id", "row_number"])  # fmt: skip
    votes = pl.concat([a.table.votes.with_columns(pl.lit(a.version_id).alias("version_id")) for a in accepted] or
                      [pl.DataFrame(schema=COUNT_TABLES["raw_count_votes"][1])], how="diagonal").unique(["version_id", "row_number", "nomor_urut"])  # fmt: skip
    observed = pl.DataFrame(
        [{"version_id": a.version_id, "source_file": a.table.source_file, "position": i} for i, a in enumerate(accepted)],
        schema={"version_id": pl.Utf8, "source_file": pl.Utf8, "position": pl.Int64},
    ).unique(["version_id", "source_file"], keep="last", maintain_order=True)
    quarantined = pl.DataFrame([{k: q.get(k) for k in QUARANTINE_SCHEMA} for q in quarantine], schema=QUARANTINE_SCHEMA)

    # Inside the run's one transaction (flows/pipeline.py commits it).
    fresh = con.sql("select version_id from files anti join raw_count_files using (version_id)").pl()
    for table, frame in (("raw_count_files", files), ("raw_count_rows", rows), ("raw_count_votes", votes)):
        new = frame.join(fresh, on="version_id", how="semi").select(COUNT_TABLES[table][1].keys())
        con.execute(f"insert into {table} by name select * from new")  # by name, not registered: warehouse/load.py
    base = con.execute("select coalesce(max(observed_seq), 0) from raw_observations").fetchone()[0]
    before = con.execute("select count(*) from raw_observations").fetchone()[0]
    con.execute(
        """
        insert into raw_observations by name
        select observed.version_id, ? as run_id, observed.source_file, observed.source_file as source_path, '' as locator,
               ? + observed.position + 1 as observed_seq, ? as observed_at
        from observed
        anti join raw_observations using (version_id, source_file)
        """,
        [run_id, base, now],
    )
    observations_new = con.execute("select count(*) from raw_observations").fetchone()[0] - before
    con.execute("insert into quarantine by name select ? as run_id, *, ? as quarantined_at from quarantined", [run_id, now])
    result = CountLoadResult(len(accepted) + len(quarantine), len(accepted), len(quarantine), fresh.height, observations_new, tuple(messages))
    # Count files add to what the SIREKAP step of the same run recorded.
    con.execute(
        """update runs set sources = list_concat(coalesce(sources, []), ?),
                  files_read = coalesce(files_read, 0) + ?, records_read = coalesce(records_read, 0) + ?,
                  records_loaded = coalesce(records_loaded, 0) + ?, records_quarantined = coalesce(records_quarantined, 0) + ?,
                  versions_new = coalesce(versions_new, 0) + ?, observations_new = coalesce(observations_new, 0) + ?
           where run_id = ?""",
        [sources, len(sources), result.records_read, result.records_loaded, result.records_quarantined,
         result.versions_new, result.observations_new, run_id],
    )  # fmt: skip
    return result

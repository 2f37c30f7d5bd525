"""Read every source of a run into one batch of parsed rows, observations and quarantine.

Pure of the database: the loader decides what is new. Every record read ends up either as an
observation (to load) or in quarantine, which is what lets a run balance
read = loaded + quarantined.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from flows.sirekap import Rows, StructuralError, parse_document
from flows.sources.archive import is_crawl_index, read_crawl
from flows.sources.dump import is_dump, read_dump
from flows.sources.mirror import KnownFiles, read_mirror
from flows.sources.records import SourceRecord

EXCERPT_CHARS = 300


class SourceError(ValueError):
    """A source path that is neither a mirror folder nor a dump file, or that holds no document."""


@dataclass
class Batch:
    rows: Rows = field(default_factory=Rows)
    # One per record that parsed: version_id, source_file, source_path, position (read order).
    observations: list[dict] = field(default_factory=list)
    # One per record that did not: source_file, source_path, locator, node_code, rule, reason, excerpt.
    quarantine: list[dict] = field(default_factory=list)
    files_read: int = 0
    records_read: int = 0
    # Records whose exact bytes the warehouse already loaded from the same file: counted as
    # loaded (their observation exists), never parsed again.
    known_records: int = 0
    # Known files seen under a new size or mtime: source_file, stat, version_id (for raw_files).
    refreshed_files: list[dict] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def quarantine_versions(self, reasons: dict[str, list[tuple[str, str]]]) -> None:
        """Move the observations of documents that broke a contract into quarantine."""
        if not reasons:
            return
        kept = []
        for obs in self.observations:
            why = reasons.get(obs["version_id"])
            if why is None:
                kept.append(obs)
                continue
            self.quarantine.append(
                {"source_file": obs["source_file"], "source_path": obs["source_path"], "locator": obs["locator"],
                 "node_code": obs["node_code"], "rule": why[0][0], "reason": "; ".join(r for _, r in why[:5]), "excerpt": None}
            )  # fmt: skip
        self.observations = kept


def records_of(path: Path, known: KnownFiles | None = None) -> Iterator[SourceRecord]:
    path = Path(path)
    if is_crawl_index(path):  # before dumps: a crawl's index is .jsonl too
        return read_crawl(path)
    if path.is_dir():
        return read_mirror(path, known)
    if is_dump(path):
        return read_dump(path)
    raise SourceError(f"{path}: not a SIREKAP mirror folder, a .jsonl/.jsonl.gz dump or a crawl index")


def read_sources(paths: Iterable[Path], election_year: int) -> Batch:
    """Every record of every source in one batch (small inputs, tests)."""
    (batch,) = iter_batches(paths, election_year, chunk_records=None)
    return batch


def iter_batches(paths: Iterable[Path], election_year: int, chunk_records: int | None = 50_000,
                 known: KnownFiles | None = None) -> Iterator[Batch]:  # fmt: skip
    """The records of every source, in read order, as batches of at most `chunk_records`.

    Loading batch by batch keeps a national run's memory to one batch's rows (a whole Pemilu
    mirror is over 800,000 TPS files) instead of the whole election's. The first batch lists the
    sources; a file counts once, in the batch that first reads it.
    """
    batch = Batch()
    seen_files: set[str] = set()
    for path in paths:
        batch.sources.append(str(Path(path).resolve()))
        yielded = False
        for record in records_of(path, known):
            yielded = True
            if chunk_records is not None and batch.records_read >= chunk_records:
                yield batch
                batch = Batch()
            if record.source_file not in seen_files:
                seen_files.add(record.source_file)
                batch.files_read += 1
            add_record(batch, record, election_year)
        if not yielded:
            # An empty folder or dump "succeeding" with 0 records would pass for a quiet night.
            raise SourceError(f"{path}: no SIREKAP document in it (a mirror holds <election>/hhcw/... .json files, a dump one JSON line per node)")
    yield batch


def add_record(batch: Batch, record: SourceRecord, election_year: int) -> None:
    batch.records_read += 1
    if record.known_version is not None:
        batch.known_records += 1
        if record.restat:  # same bytes, new mtime: remembered, so the next night skips it by its stat
            batch.refreshed_files.append({"source_file": record.source_file, "stat": record.stat, "version_id": record.known_version})
        return
    where = {"source_file": record.source_file, "source_path": record.source_path, "locator": record.locator}
    if record.error:
        batch.quarantine.append(where | {"node_code": None, "rule": record.error_rule, "reason": record.error, "excerpt": None})
        return
    node_code = record.source_path.rsplit("/", 1)[-1].removesuffix(".json")
    try:
        payload = record.body if record.decoded else orjson.loads(record.body)
    except orjson.JSONDecodeError as exc:
        excerpt = bytes(record.body[:EXCERPT_CHARS]).decode("utf-8", "replace")
        batch.quarantine.append(where | {"node_code": node_code, "rule": "not_json", "reason": f"not valid JSON: {exc}", "excerpt": excerpt})
        return
    try:
        _, vid = parse_document(record.source_path, payload, election_year, batch.rows, raw=None if record.decoded else record.body)
    except StructuralError as exc:
        excerpt = orjson.dumps(payload)[:EXCERPT_CHARS].decode("utf-8", "replace")
        batch.quarantine.append(where | {"node_code": node_code, "rule": exc.rule, "reason": exc.reason, "excerpt": excerpt})
        return
    batch.observations.append(where | {"version_id": vid, "node_code": node_code, "position": len(batch.observations), "stat": record.stat})


def files_below(path: Path) -> int:
    """How many mirror files a source holds (0 for a dump or crawl index: their records are
    lines, counted as they are read): the load's progress plan, on a terminal only."""
    path = Path(path)
    if not path.is_dir() or is_crawl_index(path):
        return 0
    return sum(1 for _, _, names in os.walk(path, followlinks=True) for name in names
               if name.lower().endswith((".json", ".json.gz")))  # fmt: skip

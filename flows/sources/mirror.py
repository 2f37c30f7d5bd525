"""Read a SIREKAP mirror: a folder of endpoint JSON files (`<election>/hhcw/<contest>/...`).

A night first lists the mirror (every file's path, size and mtime, in read order), compares
the listing with what the warehouse loaded (warehouse/load.py `held_files`), and reads only the
files whose stat differs: a quiet night costs a listing, not a read of a million files. At
national scale the listing itself is shared out to worker processes, subtree by subtree.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import polars as pl

from flows.sources.records import SourceRecord
from schemas.rows import FILE_SCHEMA

# What a mirror file may be called: scrapers upper-case the suffix or gzip the body.
PLAIN_SUFFIX = ".json"
GZIP_SUFFIX = ".json.gz"
# A listing walks this many files in this process before it shares the rest of the mirror out
# to worker processes (a test's or a province's mirror never gets that far).
LIST_IN_PROCESS_FILES = 20_000
# Subtrees the rest is cut into, per worker: enough that one large province is not the tail.
SUBTREES_PER_WORKER = 32
# Tasks they are sent to the workers in, per worker, each a run of subtrees next to each other
# (within one split folder): a national mirror is cut into 2,607 kab/kota, and a task each made
# its listing 3.7-4.3 s against 3.3-3.5 s in 28 tasks.
TASKS_PER_WORKER = 8
LISTING_SCHEMA = {"source_file": pl.Utf8, "size_bytes": pl.Int64, "mtime_ns": pl.Int64}
# Given a mirror's root, what the warehouse holds from the files below it (FILE_SCHEMA, one row per file).
HeldFiles = Callable[[str], pl.DataFrame]


def bytes_hash(body: bytes) -> str:
    """A fast fingerprint of a file's bytes as stored (not its JSON content: that is canonical_hash)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def nothing_held(root: str) -> pl.DataFrame:
    """A warehouse that holds none of the files (a first night), for `plan_reads`."""
    return pl.DataFrame(schema=FILE_SCHEMA)


class FileTask(NamedTuple):
    """A mirror file to read (and, unless its bytes are the known ones, parse): what a reader
    (this process or a worker) makes of a row of Reads.files (`file_tasks`) and hands to
    `read_file`. Its endpoint path is `source_file` past the mirror's root (`prefix`
    characters: worked out by the reader, not per file in the process that plans the reads).
    `held` is what the warehouse loaded from the file (its stat differed), `hashing` whether to
    fingerprint the bytes."""

    source_file: str
    prefix: int
    held: tuple[int, int, str, str] | None
    hashing: bool


@dataclass
class Listing:
    """Every mirror file below `root` in read order, with its stat (`files`, LISTING_SCHEMA),
    and the records the walk itself decided (a link loop, a file that cannot be stat'ed), each
    with the number of files listed before it."""

    root: str
    files: pl.DataFrame
    problems: list[tuple[int, SourceRecord]] = field(default_factory=list)


class _Walked:
    """What a walk found, column-wise (a worker sends it back whole). Without `stat` (nothing
    below the root is held, so nothing to compare) files are listed without their size and mtime."""

    def __init__(self, stat: bool = True) -> None:
        self.stat = stat
        self.paths: list[str] = []
        self.sizes: list[int] = []
        self.mtimes: list[int] = []
        self.problems: list[tuple[int, SourceRecord]] = []
        self.folders: list[str] = []  # real paths of the folders entered, to find links across walks
        self.conflict = False  # a link to a folder another walk holds: the listing is redone in one walk
        self.files: pl.DataFrame | None = None  # the three lists as a frame, once the walk is done

    def frame(self) -> pl.DataFrame:
        if self.files is None:
            if self.stat:
                self.files = pl.DataFrame({"source_file": self.paths, "size_bytes": self.sizes, "mtime_ns": self.mtimes}, schema=LISTING_SCHEMA)
            else:
                self.files = pl.DataFrame({"source_file": self.paths}, schema={"source_file": pl.Utf8}).with_columns(
                    pl.lit(None, pl.Int64).alias("size_bytes"), pl.lit(None, pl.Int64).alias("mtime_ns"))  # fmt: skip
            self.paths, self.sizes, self.mtimes = [], [], []
        return self.files

    def __len__(self) -> int:
        return len(self.paths) if self.files is None else self.files.height


def _walk(walked: _Walked, stack: list[tuple[str, str]], visited: set[str], prefix: int,
          budget: int | None = None, guard: AbstractSet[str] = frozenset(), folders: int | None = None) -> None:  # fmt: skip
    """Walk the folders on `stack` (last first, each with its real path) depth first in sorted
    order: a folder's link loops, then its files, then its folders. Stops with folders left on
    `stack` once `budget` files are listed or `folders` folders read, or at a link into `guard`
    (folders another walk enters).

    Folders that are symbolic links are followed (mirrors are often assembled from linked
    snapshot folders); a link to a folder already entered is a loop, reported as one unreadable
    record instead of being read forever. Plain strings and `os.scandir`, not Path objects or
    `os.walk`: at national scale (a million files) the walk costs more than parsing otherwise."""
    paths, sizes, mtimes, problems = walked.paths, walked.sizes, walked.mtimes, walked.problems
    while stack:
        if (budget is not None and len(paths) >= budget) or folders == 0:
            return
        if folders is not None:
            folders -= 1
        folder, base = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except OSError:  # as os.walk: a folder that cannot be listed is passed over
            continue
        dirs, files = [], []
        for entry in listed:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            (dirs if is_dir else files).append(entry)
        dirs.sort(key=lambda e: e.name)
        below = []
        for entry in dirs:
            child = entry.path
            # Only a link can lead back: a plain folder's real path is its parent's plus its name.
            real = os.path.realpath(child) if entry.is_symlink() else base + "/" + entry.name
            if real in guard:
                walked.conflict = True
                return
            if real in visited:
                problems.append((len(paths), SourceRecord(child, child[prefix:].replace(os.sep, "/"), "", error=f"folder {child} links to {real}, already read (a link loop, or a second link to one folder): not read again",
                                                          error_rule="link_loop")))  # fmt: skip
            else:
                visited.add(real)
                walked.folders.append(real)
                below.append((child, real))
        stack.extend(reversed(below))  # depth first, in sorted order: a folder's files, then its folders
        files.sort(key=lambda e: e.name)
        for entry in files:
            lower = entry.name.lower()
            if not (lower.endswith(PLAIN_SUFFIX) or lower.endswith(GZIP_SUFFIX)):
                continue
            if not walked.stat:  # a file that cannot be read is found when it is read
                paths.append(entry.path)
                continue
            try:
                st = entry.stat()
            except OSError as exc:
                path = entry.path
                problems.append((len(paths), SourceRecord(path, endpoint(path[prefix:])[0], "", error=f"cannot read {path}: {exc}")))
                continue
            paths.append(entry.path)
            sizes.append(st.st_size)
            mtimes.append(st.st_mtime_ns)


def _above(real: str, root: str) -> frozenset[str]:
    """The folders a link in the subtree at `real` must not lead back to (its real parents, and
    the mirror's root) for its worker to stop at once, not walk them again."""
    parents = {root}
    while (real := os.path.dirname(real)) not in ("/", ""):
        parents.add(real)
    return frozenset(parents)


def _walk_subtrees(prefix: int, subtrees: list[tuple[str, str, frozenset[str]]], stat: bool) -> _Walked:
    """A worker's part of a listing: subtrees next to each other in read order (folder, real
    path, guard), each whole, as one walk would list them one after the other. Their links into
    the rest of the mirror (or into each other) are found when the parts are put together (the
    same folder entered twice)."""
    walked = _Walked(stat)
    for folder, real, guard in subtrees:
        _walk(walked, [(folder, real)], {real}, prefix, guard=guard)
        if walked.conflict:
            break
    walked.frame()  # sent back as one frame, not a million strings
    return walked


def endpoint(rel: str) -> tuple[str, bool]:
    """The endpoint path a mirror file's path names (`6402.JSON` and `6402.json.gz` are
    `6402.json`), and whether its body is gzipped."""
    rel = rel.replace(os.sep, "/")
    if rel.lower().endswith(GZIP_SUFFIX):
        return rel[: -len(GZIP_SUFFIX)] + PLAIN_SUFFIX, True
    return rel[: -len(PLAIN_SUFFIX)] + PLAIN_SUFFIX, False


def list_mirror(root: Path, pool: Callable[[], tuple[Executor, int]] | None = None, stat: bool = True) -> Listing:
    """Every `.json` (any case) and `.json.gz` file below `root` with its size and mtime (if
    `stat`), in sorted path order (reproducible, and for a folder of timestamped snapshot
    folders, older snapshots first). Past LIST_IN_PROCESS_FILES files, `pool()` (an executor and
    its number of workers) lists the rest, subtree by subtree; the listing is the same either way."""
    root = str(Path(root).resolve())
    prefix = len(root) + 1
    real = os.path.realpath(root)
    walked, visited, stack = _Walked(stat), {real}, [(root, real)]
    _walk(walked, stack, visited, prefix, budget=LIST_IN_PROCESS_FILES if pool is not None else None)
    if not stack:
        return Listing(root, walked.frame(), walked.problems)
    executor, workers = pool()
    # The rest of the mirror as subtrees in read order. Subtrees at one depth are alike in size
    # (provinces, kab/kota, ...), one high up is much larger: the shallowest are split a level
    # (their folder's files listed here, each subfolder a subtree) while they are too few to
    # share out evenly, so a province left whole is not the tail of the listing.
    parts: list[_Walked | tuple[str, str]] = [walked, *reversed(stack)]
    while True:
        depths = [p[0].count("/") for p in parts if isinstance(p, tuple)]
        top = min(depths, default=None)
        if top is None or depths.count(top) >= SUBTREES_PER_WORKER * workers:
            break
        split: list[_Walked | tuple[str, str]] = []
        for part in parts:
            if isinstance(part, tuple) and part[0].count("/") == top:
                # Any folder met again here is a conflict, not a loop: which one a walk meets
                # first depends on subtrees not read yet.
                listed, below = _Walked(stat), [part]
                _walk(listed, below, visited, prefix, guard=visited, folders=1)
                if listed.conflict:
                    return list_mirror(root, stat=stat)
                split += [listed, *reversed(below)]
            else:
                split.append(part)
        parts = split
    # Runs of subtrees next to each other, TASKS_PER_WORKER a worker, each sent as one task.
    subtrees = [i for i, part in enumerate(parts) if isinstance(part, tuple)]
    size = -(-len(subtrees) // (TASKS_PER_WORKER * workers))
    runs: dict[int, list[int]] = {}  # first subtree -> the run it starts
    for i in subtrees:
        if runs and (last := runs[next(reversed(runs))])[-1] == i - 1 and len(last) < size:
            last.append(i)
        else:
            runs[i] = [i]
    futures = {first: executor.submit(_walk_subtrees, prefix, [(*parts[i], _above(parts[i][1], real)) for i in run], stat)
               for first, run in runs.items()}  # fmt: skip
    done = [futures[i].result() if i in futures else part for i, part in enumerate(parts) if i in futures or not isinstance(part, tuple)]
    entered = [f for part in done for f in part.folders]
    if any(part.conflict for part in done) or len(set(entered)) < len(entered):
        # A link from one subtree into another: which of the two is the loop depends on the
        # order of the whole walk, so the mirror is listed again in one walk.
        return list_mirror(root, stat=stat)
    problems, offset = [], 0
    for part in done:
        problems += [(offset + at, record) for at, record in part.problems]
        offset += len(part)
    return Listing(root, pl.concat([part.frame() for part in done]), problems)


@dataclass
class Reads:
    """What a night reads of a mirror, in read order: the `files` whose stat differs from what
    the warehouse holds (UNREAD_COLUMNS; what was held, if anything: their bytes may hash the
    same), and the records the walk decided (`problems`, each with the number of files listed
    before it). Kept as columns, cut into parts for the readers (`parts`): a national first night
    is a million files, and a Python object for each cost the planning process ~4 s."""

    prefix: int  # characters of a file's path before its endpoint path (the mirror's root and /)
    hashing: bool  # fingerprint what is read, for the next night
    files: pl.DataFrame
    problems: list[tuple[int, SourceRecord]] = field(default_factory=list)

    def parts(self, size: int) -> Iterator[tuple[list[SourceRecord], pl.DataFrame]]:
        """The reads as (records, files) parts in read order: each part's records come before its
        files, at most `size` files (cut where a record comes between two files)."""
        ats = self.files["at"]
        # Each record goes before the first file listed after it.
        cuts = deque((int(ats.search_sorted(at, side="left")), record) for at, record in self.problems)
        start, records = 0, []
        for end in range(size, self.files.height + size, size):
            end = min(end, self.files.height)
            while cuts and cuts[0][0] < end:
                cut, record = cuts.popleft()
                if cut > start:  # the files before the record first
                    yield records, self.files.slice(start, cut - start)
                    start, records = cut, []
                records.append(record)
            if end > start:
                yield records, self.files.slice(start, end - start)
                start, records = end, []
        records += [record for _, record in cuts]
        if records:
            yield records, self.files.clear()


UNREAD_COLUMNS = ("at", "source_file", "size_bytes_held", "mtime_ns_held", "bytes_hash", "version_id")


def plan_reads(listing: Listing, held: pl.DataFrame, hashing: bool = True) -> tuple[int, Reads]:
    """Compare a listing with what the warehouse `held` from its files: how many files are
    known by their size and mtime (counted, not read), and the Reads of every other file and
    the records the walk decided. `hashing` fingerprints what is read, for the next night."""
    files = listing.files.with_row_index("at").join(held, on="source_file", how="left", suffix="_held", maintain_order="left")
    known = (pl.col("size_bytes") == pl.col("size_bytes_held")) & (pl.col("mtime_ns") == pl.col("mtime_ns_held"))
    unread = files.filter(~known.fill_null(False)).select(UNREAD_COLUMNS)
    # Only what is to be read is kept while it is read (on a first night, every path).
    return files.height - unread.height, Reads(len(listing.root) + 1, hashing, unread, listing.problems)


def file_tasks(files: pl.DataFrame, prefix: int, hashing: bool) -> Iterator[FileTask]:
    """A FileTask for each row of a part of Reads.files."""
    for _, path, size, mtime, digest, version in files.iter_rows():
        yield FileTask(path, prefix, None if version is None else (size, mtime, digest, version), hashing)


def read_bytes(path: str) -> tuple[os.stat_result, bytes]:
    """A file's stat and its bytes. Plain descriptors, not `open()`: its buffered file object
    costs about as much as the reads (a million warm mirror files, one core: 10 s read through
    `open()`, 7.5 s so)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        chunks = []
        while chunk := os.read(fd, max(st.st_size + 1, 65536)):  # to the end, as a file that grew since would be read
            chunks.append(chunk)
        return st, chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def read_file(task: FileTask) -> SourceRecord:
    """Read one mirror file: a record of its bytes, of the known version its bytes hash to, or
    of why it cannot be read."""
    path, prefix, held, hashing = task
    rel, gzipped = endpoint(path[prefix:])
    try:
        st, stored = read_bytes(path)
        digest = bytes_hash(stored) if hashing else None
        if held is not None and held[2] == digest:
            return SourceRecord(path, rel, "", stat=(st.st_size, st.st_mtime_ns, digest), known_version=held[3])
        body = gzip.decompress(stored) if gzipped else stored
    except (OSError, EOFError, zlib.error) as exc:  # gzip raises BadGzipFile (an OSError) or EOFError when cut short
        return SourceRecord(path, rel, "", error=f"cannot read {path}: {exc}")
    return SourceRecord(path, rel, "", body, stat=(st.st_size, st.st_mtime_ns, digest) if hashing else None)

"""Read a SIREKAP mirror: a folder of endpoint JSON files (`<election>/hhcw/<contest>/...`)."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from flows.sources.records import SourceRecord

# What a mirror file may be called: scrapers upper-case the suffix or gzip the body.
PLAIN_SUFFIX = ".json"
GZIP_SUFFIX = ".json.gz"
# source_file -> (size, mtime_ns, bytes hash, version_id) of what the warehouse loaded from it.
KnownFiles = Mapping[str, tuple[int, int, str, str]]


def bytes_hash(body: bytes) -> str:
    """A fast fingerprint of a file's bytes as stored (not its JSON content: that is canonical_hash)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class FileTask(NamedTuple):
    """A mirror file to read (and, unless its bytes are the known ones, parse): what the walk
    hands to `read_file`, in this process or a worker's. `held` is what the warehouse loaded
    from the file (its stat differed), `hashing` whether to fingerprint the bytes."""

    source_file: str
    source_path: str
    gzipped: bool
    held: tuple[int, int, str, str] | None
    hashing: bool


class KnownFile(NamedTuple):
    """A mirror file whose size and mtime are those the warehouse loaded it under: not read."""

    source_file: str
    source_path: str
    stat: tuple[int, int, str]
    version_id: str


def read_mirror(root: Path, known: KnownFiles | None = None) -> Iterator[SourceRecord]:
    """Yield every `.json` (any case) and `.json.gz` file below `root`, in sorted path order.

    Sorted order makes a run reproducible and, for a folder of timestamped snapshot folders,
    observes older snapshots first. Folders that are symbolic links are followed (mirrors are
    often assembled from linked snapshot folders); a link back to a folder already read is a
    loop, reported as one unreadable record instead of being read forever.

    With `known`, a file whose size and mtime are those the warehouse loaded is not read at all,
    and one whose bytes hash the same is not parsed: a quiet night costs a walk of the folder, a
    mirror downloaded again whole a read of it.
    """
    for item in walk_mirror(root, known):
        if type(item) is FileTask:
            yield read_file(item)
        elif type(item) is KnownFile:
            yield SourceRecord(item.source_file, item.source_path, "", stat=item.stat, known_version=item.version_id)
        else:
            yield item


def walk_mirror(root: Path, known: KnownFiles | None = None) -> Iterator[SourceRecord | KnownFile | FileTask]:
    """The files of `read_mirror`, in its order, without reading them: a KnownFile for a file
    known by its stat, a SourceRecord where the walk alone decides otherwise (a link loop, a
    file that cannot be stat'ed), a FileTask for `read_file` for the rest. Plain strings and `os.scandir`, not Path objects or
    `os.walk`: at national scale (a million files) the walk costs more than parsing otherwise."""
    root = str(Path(root).resolve())
    prefix = len(root) + 1
    hashing = known is not None
    visited = {os.path.realpath(root)}
    stack = [(root, os.path.realpath(root))]  # folders still to read, each with its real path
    while stack:
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
            if real in visited:
                yield SourceRecord(child, child[prefix:].replace(os.sep, "/"), "", error=f"folder {child} links to {real}, already read (a link loop, or a second link to one folder): not read again",
                                   error_rule="link_loop")  # fmt: skip
            else:
                visited.add(real)
                below.append((child, real))
        stack.extend(reversed(below))  # depth first, in sorted order: a folder's files, then its folders
        rel_folder = folder[prefix:].replace(os.sep, "/") + "/" if len(folder) > len(root) else ""
        names = sorted(entry.name for entry in files)
        for name in names:
            lower = name.lower()
            if lower.endswith(PLAIN_SUFFIX):
                endpoint, gzipped = name[: -len(PLAIN_SUFFIX)] + PLAIN_SUFFIX, False
            elif lower.endswith(GZIP_SUFFIX):
                endpoint, gzipped = name[: -len(GZIP_SUFFIX)] + PLAIN_SUFFIX, True
            else:
                continue
            path = folder + "/" + name
            # The endpoint path names the document: `6402.JSON` and `6402.json.gz` are `6402.json`.
            rel = rel_folder + endpoint
            held = known.get(path) if hashing else None
            if held is not None:
                try:
                    st = os.stat(path)
                except OSError as exc:
                    yield SourceRecord(path, rel, "", error=f"cannot read {path}: {exc}")
                    continue
                if held[0] == st.st_size and held[1] == st.st_mtime_ns:
                    yield KnownFile(path, rel, held[:3], held[3])
                    continue
            yield FileTask(path, rel, gzipped, held, hashing)


def read_file(task: FileTask) -> SourceRecord:
    """Read one mirror file: a record of its bytes, of the known version its bytes hash to, or
    of why it cannot be read."""
    path, rel, gzipped, held, hashing = task
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno()) if hashing else None
            stored = handle.read()
        digest = bytes_hash(stored) if hashing else None
        if held is not None and held[2] == digest:
            return SourceRecord(path, rel, "", stat=(st.st_size, st.st_mtime_ns, digest), known_version=held[3], restat=True)
        body = gzip.decompress(stored) if gzipped else stored
    except (OSError, EOFError, zlib.error) as exc:  # gzip raises BadGzipFile (an OSError) or EOFError when cut short
        return SourceRecord(path, rel, "", error=f"cannot read {path}: {exc}")
    return SourceRecord(path, rel, "", body, stat=(st.st_size, st.st_mtime_ns, digest) if hashing else None)

"""Read a SIREKAP mirror: a folder of endpoint JSON files (`<election>/hhcw/<contest>/...`)."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from flows.sources.records import SourceRecord

# What a mirror file may be called: scrapers upper-case the suffix or gzip the body.
PLAIN_SUFFIX = ".json"
GZIP_SUFFIX = ".json.gz"
# source_file -> (size, mtime_ns, bytes hash, version_id) of what the warehouse loaded from it.
KnownFiles = Mapping[str, tuple[int, int, str, str]]


def bytes_hash(body: bytes) -> str:
    """A fast fingerprint of a file's bytes as stored (not its JSON content: that is canonical_hash)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


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
    root = str(Path(root).resolve())
    prefix = len(root) + 1
    real_of = {root: os.path.realpath(root)}
    visited = {real_of[root]}
    # Plain strings, not Path objects: at national scale (a million files) pathlib costs more than parsing.
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        base = real_of.pop(folder)
        for name in list(dirs):
            child = os.path.join(folder, name)
            # Only a link can lead back: a plain folder's real path is its parent's plus its name
            # (one lstat, where resolving every folder cost more than the walk itself).
            real = os.path.realpath(child) if os.path.islink(child) else os.path.join(base, name)
            real_of[child] = real
            if real in visited:
                dirs.remove(name)
                link = os.path.join(folder, name)
                yield SourceRecord(link, link[prefix:].replace(os.sep, "/"), "", error=f"folder {link} links to {real}, already read (a link loop, or a second link to one folder): not read again",
                                   error_rule="link_loop")  # fmt: skip
            else:
                visited.add(real)
        for name in sorted(files):
            lower = name.lower()
            if lower.endswith(PLAIN_SUFFIX):
                endpoint = name[: -len(PLAIN_SUFFIX)] + PLAIN_SUFFIX
            elif lower.endswith(GZIP_SUFFIX):
                endpoint = name[: -len(GZIP_SUFFIX)] + PLAIN_SUFFIX
            else:
                continue
            path = os.path.join(folder, name)
            # The endpoint path names the document: `6402.JSON` and `6402.json.gz` are `6402.json`.
            rel = os.path.join(folder, endpoint)[prefix:].replace(os.sep, "/")
            held = known.get(path) if known is not None else None
            try:
                if known is not None:
                    st = os.stat(path)
                    if held is not None and held[0] == st.st_size and held[1] == st.st_mtime_ns:
                        yield SourceRecord(path, rel, "", stat=held[:3], known_version=held[3])
                        continue
                with open(path, "rb") as handle:
                    stored = handle.read()
                digest = bytes_hash(stored) if known is not None else None
                if held is not None and held[2] == digest:
                    yield SourceRecord(path, rel, "", stat=(st.st_size, st.st_mtime_ns, digest), known_version=held[3], restat=True)
                    continue
                body = gzip.decompress(stored) if lower.endswith(GZIP_SUFFIX) else stored
            except (OSError, EOFError, zlib.error) as exc:  # gzip raises BadGzipFile (an OSError) or EOFError when cut short
                yield SourceRecord(path, rel, "", error=f"cannot read {path}: {exc}")
                continue
            yield SourceRecord(path, rel, "", body, stat=(st.st_size, st.st_mtime_ns, digest) if known is not None else None)

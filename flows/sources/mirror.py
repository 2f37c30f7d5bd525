"""Read a SIREKAP mirror: a folder of endpoint JSON files (`<election>/hhcw/<contest>/...`)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from flows.sources.records import SourceRecord

# source_file -> (size, mtime_ns, bytes hash, version_id) of what the warehouse loaded from it.
KnownFiles = Mapping[str, tuple[int, int, str, str]]


def bytes_hash(body: bytes) -> str:
    """A fast fingerprint of a file's bytes (not its JSON content: that is canonical_hash)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def read_mirror(root: Path, known: KnownFiles | None = None) -> Iterator[SourceRecord]:
    """Yield every `.json` file below `root`, in sorted path order.

    Sorted order makes a run reproducible and, for a folder of timestamped snapshot folders,
    observes older snapshots first. With `known`, a file whose size and mtime are those the
    warehouse loaded is not read at all, and one whose bytes hash the same is not parsed: a
    quiet night costs a walk of the folder, a mirror downloaded again whole a read of it.
    """
    root = str(Path(root).resolve())
    prefix = len(root) + 1
    # Plain strings, not Path objects: at national scale (a million files) pathlib costs more than parsing.
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            path = os.path.join(folder, name)
            rel = path[prefix:].replace(os.sep, "/")
            try:
                held = known.get(path) if known is not None else None
                if known is not None:
                    st = os.stat(path)
                    if held is not None and held[0] == st.st_size and held[1] == st.st_mtime_ns:
                        yield SourceRecord(path, rel, "", stat=held[:3], known_version=held[3])
                        continue
                with open(path, "rb") as handle:
                    body = handle.read()
            except OSError as exc:
                yield SourceRecord(path, rel, "", error=f"cannot read: {exc}")
                continue
            if known is None:
                yield SourceRecord(path, rel, "", body)
                continue
            digest = bytes_hash(body)
            same = held is not None and held[2] == digest
            yield SourceRecord(path, rel, "", None if same else body, stat=(st.st_size, st.st_mtime_ns, digest),
                               known_version=held[3] if same else None)  # fmt: skip

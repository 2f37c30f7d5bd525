"""Read a SIREKAP mirror: a folder of endpoint JSON files (`<election>/hhcw/<contest>/...`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from flows.sources.records import SourceRecord


def read_mirror(root: Path) -> Iterator[SourceRecord]:
    """Yield every `.json` file below `root`, in sorted path order.

    Sorted order makes a run reproducible and, for a folder of timestamped snapshot folders,
    observes older snapshots first.
    """
    root = Path(root).resolve()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            try:
                body = path.read_bytes()
            except OSError as exc:
                yield SourceRecord(str(path), rel, "", error=f"cannot read: {exc}")
                continue
            yield SourceRecord(str(path), rel, "", body)

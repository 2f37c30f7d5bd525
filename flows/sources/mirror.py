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
                with open(path, "rb") as handle:
                    body = handle.read()
            except OSError as exc:
                yield SourceRecord(path, rel, "", error=f"cannot read: {exc}")
                continue
            yield SourceRecord(path, rel, "", body)

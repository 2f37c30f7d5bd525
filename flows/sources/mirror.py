"""Read a SIREKAP mirror: a folder of endpoint JSON files (`<election>/hhcw/<contest>/...`)."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from flows.sources.records import SourceRecord

# What a mirror file may be called: scrapers upper-case the suffix or gzip the body.
PLAIN_SUFFIX = ".json"
GZIP_SUFFIX = ".json.gz"


def read_mirror(root: Path) -> Iterator[SourceRecord]:
    """Yield every `.json` (any case) and `.json.gz` file below `root`, in sorted path order.

    Sorted order makes a run reproducible and, for a folder of timestamped snapshot folders,
    observes older snapshots first. Folders that are symbolic links are followed (mirrors are
    often assembled from linked snapshot folders); a link back to a folder already read is a
    loop, reported as one unreadable record instead of being read forever.
    """
    root = str(Path(root).resolve())
    prefix = len(root) + 1
    visited = {os.path.realpath(root)}
    # Plain strings, not Path objects: at national scale (a million files) pathlib costs more than parsing.
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        for name in list(dirs):
            real = os.path.realpath(os.path.join(folder, name))
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
            try:
                with open(path, "rb") as handle:
                    body = handle.read()
                if lower.endswith(GZIP_SUFFIX):
                    body = gzip.decompress(body)
            except (OSError, EOFError, zlib.error) as exc:  # gzip raises BadGzipFile (an OSError) or EOFError when cut short
                yield SourceRecord(path, rel, "", error=f"cannot read {path}: {exc}")
                continue
            yield SourceRecord(path, rel, "", body)

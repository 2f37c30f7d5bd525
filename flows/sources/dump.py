"""Read a dump: one file (`.jsonl` or `.jsonl.gz`), one SIREKAP node per line.

Line format (documented in README.md):
    {"path": "pilkada/hhcw/pkwkp/64/6402.json", "payload": {...}}
`url` may stand instead of `path` (its path part is used, so
`https://host/pilkada/hhcw/pkwkp/64.json` works). Other keys are ignored.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import orjson

from flows.sirekap import StructuralError, check_repeated_keys
from flows.sources.records import SourceRecord


def is_dump(path: Path) -> bool:
    return path.is_file() and (path.name.endswith(".jsonl") or path.name.endswith(".jsonl.gz"))


def read_dump(path: Path) -> Iterator[SourceRecord]:
    """Every line of the dump as a record. A file that breaks off (a gzip cut short, or not gzip
    at all) keeps the lines read before the break; the rest becomes one unreadable record naming
    the file and the line where reading stopped."""
    path = Path(path).resolve()
    opener = gzip.open if path.name.endswith(".gz") else open
    number = 0
    with opener(path, "rb") as lines:
        try:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield _record(path, number, line)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError; a cut-short gzip raises EOFError
            locator = f"line {number + 1}"
            yield SourceRecord(str(path), locator, locator, error=f"{path}: unreadable from {locator} on ({exc or type(exc).__name__}); "
                                                                  f"the {number:,} lines before were read")  # fmt: skip


def _record(path: Path, number: int, line: bytes) -> SourceRecord:
    locator = f"line {number}"
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return SourceRecord(str(path), locator, locator, error=f"not JSON: {exc}")
    if not isinstance(item, dict) or "payload" not in item or not (item.get("path") or item.get("url")):
        return SourceRecord(str(path), locator, locator, error='a dump line needs "path" (or "url") and "payload"')
    node_path = str(item.get("path") or urlparse(item["url"]).path).lstrip("/")
    try:
        check_repeated_keys(line, item)
    except StructuralError as exc:
        return SourceRecord(str(path), node_path, locator, error=f"{path} {locator}: {exc.reason}", error_rule=exc.rule)
    return SourceRecord(str(path), node_path, locator, item["payload"], decoded=True)

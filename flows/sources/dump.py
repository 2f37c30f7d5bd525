"""Read a dump: one file (`.jsonl` or `.jsonl.gz`), one SIREKAP node per line.

Line format (documented in README.md):
    {"path": "pilkada/hhcw/pkwkp/64/6402.json", "payload": {...}}
`url` may stand instead of `path` (its path part is used, so
`https://host/pilkada/hhcw/pkwkp/64.json` works). Other keys are ignored.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import orjson

from flows.sources.records import SourceRecord


def is_dump(path: Path) -> bool:
    return path.is_file() and (path.name.endswith(".jsonl") or path.name.endswith(".jsonl.gz"))


def read_dump(path: Path) -> Iterator[SourceRecord]:
    path = Path(path).resolve()
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            locator = f"line {number}"
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield SourceRecord(str(path), locator, locator, error=f"not JSON: {exc}")
                continue
            if not isinstance(item, dict) or "payload" not in item or not (item.get("path") or item.get("url")):
                yield SourceRecord(str(path), locator, locator, error='a dump line needs "path" (or "url") and "payload"')
                continue
            node_path = item.get("path") or urlparse(item["url"]).path
            yield SourceRecord(str(path), str(node_path).lstrip("/"), locator, item["payload"], decoded=True)

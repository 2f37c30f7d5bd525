"""Read a dump: one file (`.jsonl` or `.jsonl.gz`), one SIREKAP node per line.

Line format (documented in README.md):
    {"path": "pilkada/hhcw/pkwkp/64/6402.json", "payload": {...}}
`url` may stand instead of `path` (its path part is used, so
`https://host/pilkada/hhcw/pkwkp/64.json` works). Other keys are ignored.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

import orjson

from flows.sirekap import StructuralError, check_repeated_keys
from flows.sources.records import SourceRecord

GZIP_WINDOW = 16 + zlib.MAX_WBITS  # zlib's way of saying "a gzip header and trailer"
CHUNK_BYTES = 1 << 20


def is_dump(path: Path) -> bool:
    return path.is_file() and (path.name.endswith(".jsonl") or path.name.endswith(".jsonl.gz"))


def read_dump(path: Path) -> Iterator[SourceRecord]:
    """Every line of the dump as a record. A file that breaks off (a gzip cut short, or not gzip
    at all) keeps the lines read before the break; the rest becomes one unreadable record naming
    the file and the line where reading stopped."""
    path = Path(path).resolve()
    number = 0
    with open(path, "rb") as handle:
        lines = _gzip_lines(handle) if path.name.endswith(".gz") else handle
        try:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield _record(path, number, line)
        except (OSError, EOFError, zlib.error) as exc:
            locator = f"line {number + 1}"
            yield SourceRecord(str(path), locator, locator, error=f"{path}: unreadable from {locator} on ({exc}); "
                                                                  f"the {number:,} lines before were read")  # fmt: skip


def _gzip_lines(handle: BinaryIO) -> Iterator[bytes]:
    """The lines of a gzip stream (one member or several), each as soon as it is whole.

    Not `gzip.open`: its buffered reader raises at a cut-short end without handing over the
    whole lines it had already decompressed, and those must load.
    """
    decompressor = zlib.decompressobj(GZIP_WINDOW)
    pending = b""
    while chunk := handle.read(CHUNK_BYTES):
        data = decompressor.decompress(chunk)
        while decompressor.eof and decompressor.unused_data:  # a second gzip member follows
            rest = decompressor.unused_data
            decompressor = zlib.decompressobj(GZIP_WINDOW)
            data += decompressor.decompress(rest)
        *whole, pending = (pending + data).split(b"\n")
        for line in whole:
            yield line + b"\n"
    if not decompressor.eof:
        raise EOFError("the gzip stream is cut short: it ends before its end-of-stream marker")
    if pending:
        yield pending


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

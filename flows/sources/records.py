"""The one shape every reader yields: a raw document and where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SourceRecord:
    """One exported document as read, before parsing.

    `source_file` is the file on disk; `source_path` the endpoint path inside the mirror or
    dump (what names the node); `locator` says where in the file (a dump's line number).
    `body` is the raw bytes of a mirror file, or the already-decoded payload of a dump line;
    `error` is set instead when the record could not be read at all, and `error_rule` names the
    rule it broke (the quarantine's `rule`).
    `stat` is a mirror file's (size, mtime_ns, bytes hash) when the reader was asked to tell
    known files (`known`), and `known_version` the version the warehouse already holds for
    exactly these bytes at this path, recognised by their hash under a new size or mtime: such a
    record is counted, not parsed again, and its new stat remembered (flows/batch.py parse_files).
    """

    source_file: str
    source_path: str
    locator: str
    body: bytes | Any = None
    decoded: bool = False
    error: str | None = None
    error_rule: str = "unreadable"
    stat: tuple[int, int, str] | None = None
    known_version: str | None = None

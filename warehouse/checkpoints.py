"""Named moments in a run where a crash test can stop it for certain.

With `REKAP_PAUSE_AT=<name>` set, the run writes the name to the file `REKAP_PAUSE_MARKER` when
it first reaches that moment and waits there until the test removes the file (or for
PAUSE_SECONDS), so a test can SIGKILL it at a known point instead of a random one, or hold two
runs at their commit and release them together. Unset (always, outside tests), a pause point is
one environment lookup.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_SECONDS = 300
_paused: set[str] = set()  # once per process: a night run again after a conflict does not stop again


def pause_point(name: str) -> None:
    if os.environ.get("REKAP_PAUSE_AT") != name or name in _paused:
        return
    _paused.add(name)
    marker = Path(os.environ["REKAP_PAUSE_MARKER"])
    marker.write_text(name)
    deadline = time.monotonic() + PAUSE_SECONDS
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

"""Named moments in a run where a crash test can stop it for certain.

With `REKAP_PAUSE_AT=<name>` set, the run writes the name to the file `REKAP_PAUSE_MARKER` when
it reaches that moment and sleeps there, so a test can SIGKILL it at a known point instead of
at a random one. Unset (always, outside tests), a pause point is one environment lookup.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_SECONDS = 300


def pause_point(name: str) -> None:
    if os.environ.get("REKAP_PAUSE_AT") != name:
        return
    Path(os.environ["REKAP_PAUSE_MARKER"]).write_text(name)
    time.sleep(PAUSE_SECONDS)

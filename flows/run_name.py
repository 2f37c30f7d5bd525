"""A flow run's name that tells nightly runs apart in the Prefect UI: the warehouse it publishes
and what it read, e.g. `demo <- sirekap, sirekap-later, kaltim-internal-count.csv +1`.

Meant for `@flow(flow_run_name=...)` on flows/nightly.py's `nightly` (a callable reading
`prefect.runtime.flow_run.parameters`); a plain function so it is tested without Prefect.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

NAME_LENGTH = 100  # longer names are cut in the Prefect UI's run list anyway
SHOWN_SOURCES = 3


def source_label(source: str | Path) -> str:
    """A source as its owner recognises it: a URL by host (and path), a file or folder by its name."""
    text = str(source)
    if "://" in text:
        parts = urlsplit(text)
        return (parts.hostname or text) + parts.path.rstrip("/")
    return Path(text).name or text


def run_name(warehouse: str | Path, sources: Sequence[str | Path]) -> str:
    labels = [source_label(s) for s in sources]
    shown = labels[:SHOWN_SOURCES]
    name = f"{Path(warehouse).stem} <- " + (", ".join(shown) if shown else "nothing")
    if len(labels) > len(shown):
        name += f" +{len(labels) - len(shown)}"
    return name if len(name) <= NAME_LENGTH else name[: NAME_LENGTH - 1] + "…"

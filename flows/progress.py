"""Progress bars for long steps, shown only when a person watches (stderr is a terminal).

A night under cron or Prefect writes no bar into its logs: off a terminal every call is a no-op.
rich comes with Prefect.
"""

from __future__ import annotations

import sys
from typing import TextIO


class StepProgress:
    """`done/planned` of one step, its rate, its failures and the time left for what is planned.

    The plan may grow while the step runs (a crawl learns each level's children from the level
    above): the bar's total follows it, and the ETA is for what is planned so far.
    """

    def __init__(self, label: str, unit: str, stream: TextIO | None = None, force: bool = False) -> None:
        stream = stream or sys.stderr
        self._bar = None
        if not (force or stream.isatty()):
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[failed]}"),
            TextColumn("ETA"), TimeRemainingColumn(),
            console=Console(file=stream, force_terminal=True, width=100), transient=False, refresh_per_second=4,
        )  # fmt: skip
        self._unit = unit
        self._task = self._bar.add_task(label, total=0, rate="", failed="0 failed")
        self._bar.start()

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def plan(self, more: int) -> None:
        if self._bar is not None:
            task = self._bar.tasks[0]
            self._bar.update(self._task, total=(task.total or 0) + more)

    def advance(self, failed: int | None = None, steps: int = 1) -> None:
        if self._bar is None:
            return
        task = self._bar.tasks[0]
        if task.total is not None and task.completed + steps > task.total:  # a dump's lines are not known ahead
            self._bar.update(self._task, total=task.completed + steps)
        self._bar.advance(self._task, steps)
        task = self._bar.tasks[0]
        fields = {"rate": f"{task.speed:.1f} {self._unit}/s" if task.speed else ""}
        if failed is not None:
            fields["failed"] = f"{failed} failed"
        self._bar.update(self._task, **fields)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.refresh()
            self._bar.stop()
            self._bar = None

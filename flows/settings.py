"""One settings object for a rekap run, read from arguments and `REKAP_*` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "rekap.duckdb"
DEMO_WAREHOUSE = PROJECT_ROOT / "warehouse" / "demo.duckdb"
DEMO_MIRROR = PROJECT_ROOT / "demo" / "sirekap"
DEMO_COUNTS = PROJECT_ROOT / "demo"  # the demo's internal count and official recap go beside its mirror
DEFAULT_REPORTS = PROJECT_ROOT / "reports"


@dataclass(frozen=True)
class Settings:
    """Everything a run needs; passed in, never read from module globals.

    `election_year` turns the mirror's `pilkada`/`pemilu` folder into an election id
    (`pilkada2024`): SIREKAP paths do not carry the year, and the publisher's `ts` is not
    trusted for anything but display.
    `rules` names the data-quality rule pack (None: schemas/rules.toml).
    """

    warehouse: Path = DEFAULT_WAREHOUSE
    sirekap: tuple[Path, ...] = ()
    election_year: int = 2024
    internal: tuple[Path, ...] = ()  # internal-count files (CSV, XLSX, Parquet)
    official: tuple[Path, ...] = ()  # official recap (D.HASIL) files
    columns: Path | None = None  # a TOML overriding flows/sources/count_columns.toml
    rules: Path | None = None

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        values: dict = {}
        if "REKAP_WAREHOUSE" in env:
            values["warehouse"] = Path(env["REKAP_WAREHOUSE"])
        if "REKAP_ELECTION_YEAR" in env:
            values["election_year"] = int(env["REKAP_ELECTION_YEAR"])
        if env.get("REKAP_RULES"):
            values["rules"] = Path(env["REKAP_RULES"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "warehouse" in values:
            values["warehouse"] = Path(values["warehouse"])
        for key in ("sirekap", "internal", "official"):
            if key in values:
                values[key] = tuple(Path(p) for p in values[key])
        for key in ("columns", "rules"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        return cls(**values)


def prefect_environment(root: Path = PROJECT_ROOT) -> None:
    """Keep Prefect local and quiet: project-local home, no telemetry, patient server start.

    Must run before `import prefect`. Existing values win, so a user pointing at a real
    Prefect server (PREFECT_API_URL) keeps it.
    """
    defaults = {
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_HOME": str(root / ".prefect"),
        # A fresh PREFECT_HOME takes ~19 s to start the temporary server; the default limit is 20 s.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)

"""One settings object for a rekap run, read from arguments and `REKAP_*` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# A DuckLake: this SQLite catalog file, its Parquet files in the folder `<name>.data` beside it.
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "rekap.sqlite"
DEMO_WAREHOUSE = PROJECT_ROOT / "warehouse" / "demo.sqlite"
DEMO_MIRROR = PROJECT_ROOT / "demo" / "sirekap"
DEMO_COUNTS = PROJECT_ROOT / "demo"  # the demo's internal count and official recap go beside its mirror
DEFAULT_REPORTS = PROJECT_ROOT / "reports"
DEFAULT_ARCHIVE = PROJECT_ROOT / "archive"


@dataclass(frozen=True)
class CrawlSettings:
    """A SIREKAP-compatible API to crawl (`rekap run --sirekap-url`) and the archive it fills.

    `election` is the election id (`pilkada2024`: the endpoint folder and the year), `contest`
    the SIREKAP contest (`pkwkp`), `region` the code whose subtree is crawled (`64`).
    The defaults are polite to a public server: 5 requests/s over 4 connections.
    """

    base_url: str
    election: str
    contest: str
    region: str
    archive: Path = DEFAULT_ARCHIVE
    rate: float = 5.0
    concurrency: int = 4
    timeout: float = 10.0
    retries: int = 4
    full: bool = False
    max_requests: int | None = None
    # Prefect retries of the whole crawl task (on top of each request's own retries): none for an
    # interactive `rekap run`; `rekap serve` sets them for the unattended nightly deployment.
    task_retries: int = 0
    task_retry_delay: float = 300.0

    @classmethod
    def from_env(cls, **overrides) -> "CrawlSettings":
        """`REKAP_SIREKAP_URL`, `REKAP_ELECTION`, `REKAP_CONTEST`, `REKAP_REGION`, `REKAP_ARCHIVE`,
        `REKAP_RATE` under explicit arguments (None = not given)."""
        env = os.environ
        values: dict = {}
        for field_name, var, cast in (
            ("base_url", "REKAP_SIREKAP_URL", str), ("election", "REKAP_ELECTION", str),
            ("contest", "REKAP_CONTEST", str), ("region", "REKAP_REGION", str),
            ("archive", "REKAP_ARCHIVE", Path), ("rate", "REKAP_RATE", float),
        ):  # fmt: skip
            if var in env:
                values[field_name] = cast(env[var])
        values.update({k: v for k, v in overrides.items() if v is not None})
        missing = [k for k in ("base_url", "election", "contest", "region") if not values.get(k)]
        if missing:
            raise ValueError(f"crawling an API needs {', '.join(missing)}")
        values["archive"] = Path(values.get("archive", DEFAULT_ARCHIVE))
        return cls(**values)

    @property
    def election_year(self) -> int:
        return self.target().year

    def target(self):
        from flows.sources.api import Target

        return Target(self.base_url, self.election, self.contest, self.region)

    def policy(self):
        from flows.sources.api import HttpPolicy

        return HttpPolicy(rate=self.rate, concurrency=self.concurrency, timeout=self.timeout, retries=self.retries)


@dataclass(frozen=True)
class Settings:
    """Everything a run needs; passed in, never read from module globals.

    `election_year` turns the mirror's `pilkada`/`pemilu` folder into an election id
    (`pilkada2024`): SIREKAP paths do not carry the year, and the publisher's `ts` is not
    trusted for anything but display. `crawl`, when set, is an API the run crawls first.
    `rules` names the data-quality rule pack (None: schemas/rules.toml).
    """

    warehouse: Path | str = DEFAULT_WAREHOUSE  # a catalog file, or `ducklake:postgres:<dsn>`
    data_path: Path | None = None  # the lake's Parquet folder (default: beside the catalog file)
    sirekap: tuple[Path, ...] = ()
    election_year: int = 2024
    internal: tuple[Path, ...] = ()  # internal-count files (CSV, XLSX, Parquet)
    official: tuple[Path, ...] = ()  # official recap (D.HASIL) files
    columns: Path | None = None  # a TOML overriding flows/sources/count_columns.toml
    rules: Path | None = None
    crawl: CrawlSettings | None = None
    keep_nights: int = 14  # published snapshots kept readable (`rekap query --at`); raw versions are kept forever
    chunk_records: int | None = 50_000  # records read, validated and loaded per batch (bounds memory)
    full_rebuild: bool = False  # rebuild every model even when nothing they read changed
    # DuckDB's share of a night's memory; past it, work spills to a temporary folder (DuckDB's own
    # default is 80% of the machine's memory, which a national night would take). The process
    # holds ~0.5 GB beside it: a national first night peaked at 1.77-1.86 GB with 1300MB, at
    # 1.9-2.2 GB with 1500MB; with 1100MB region_winners' ordered aggregates ran out.
    memory_limit: str = "1300MB"

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        values: dict = {}
        if "REKAP_WAREHOUSE" in env:
            values["warehouse"] = env["REKAP_WAREHOUSE"]
        if env.get("REKAP_DATA_PATH"):
            values["data_path"] = Path(env["REKAP_DATA_PATH"])
        if "REKAP_KEEP_NIGHTS" in env:
            values["keep_nights"] = int(env["REKAP_KEEP_NIGHTS"])
        if "REKAP_ELECTION_YEAR" in env:
            values["election_year"] = int(env["REKAP_ELECTION_YEAR"])
        if env.get("REKAP_MEMORY_LIMIT"):
            values["memory_limit"] = env["REKAP_MEMORY_LIMIT"]
        if env.get("REKAP_RULES"):
            values["rules"] = Path(env["REKAP_RULES"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "warehouse" in values:
            values["warehouse"] = warehouse_arg(values["warehouse"])
        for key in ("sirekap", "internal", "official"):
            if key in values:
                values[key] = tuple(Path(p) for p in values[key])
        for key in ("columns", "rules", "data_path"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        return cls(**values)

    def location(self):
        from warehouse.storage import Location

        return Location.parse(self.warehouse, self.data_path)


def warehouse_arg(value: str | Path) -> str | Path:
    """A `--warehouse` value: a catalog URL stays text, anything else is a path."""
    return value if str(value).startswith("ducklake:") else Path(value)


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

"""The `rekap` command: a thin layer over the flow and the warehouse."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import sys
import traceback
from pathlib import Path

import click

from flows.settings import (
    DEFAULT_ARCHIVE,
    DEFAULT_REPORTS,
    DEFAULT_WAREHOUSE,
    DEMO_MIRROR,
    DEMO_WAREHOUSE,
    PROJECT_ROOT,
    CrawlSettings,
    Settings,
    prefect_environment,
)
from flows.terminal import QUERY_FORMATS, echo, short_name, table, write_query

EXAMPLES = """\b
Examples:
  rekap demo
  rekap run --sirekap ../shared/data/sirekap/pilkada2024-kaltim/2024-11-28T10-15
  rekap run --sirekap ../shared/data/sirekap/pilkada2024-kaltim/2024-11-28T10-15 \\
            --internal ../shared/data/internal-count/kaltim-pilgub2024-claim-rudy-seno.csv \\
            --official ../shared/data/kpu-rekap/kaltim-pilgub2024-dhasil-prov.csv
  rekap report --format html
  rekap run --sirekap-url https://sirekap-obj-data.kpu.go.id \\
            --election pilkada2024 --contest pkwkp --region 64
  rekap rebuild --archive archive --warehouse warehouse/rebuilt.sqlite
  rekap migrate warehouse/rekap.duckdb --warehouse warehouse/rekap.sqlite
  rekap query "select * from province_totals"
  rekap query --format csv "select * from region_winners where level = 'kabkota'"
  rekap server                      # a local Prefect server, for schedules
  rekap serve --sirekap /data/mirror --cron '0 2 * * *' --timezone Asia/Makassar
"""

TABLE_ROWS = 60
WAREHOUSE_HELP = (f"The warehouse: a DuckLake catalog file (its Parquet files in <file>.data beside it) or "
                  f"'ducklake:postgres:<dsn>' with --data-path [default: $REKAP_WAREHOUSE or {DEFAULT_WAREHOUSE.relative_to(PROJECT_ROOT)}].")  # fmt: skip
DATA_PATH_HELP = "Folder of the lake's Parquet files [default: beside the catalog file; $REKAP_DATA_PATH]."


def warehouse_options(command):
    """--warehouse and --data-path, the same on every command that opens the warehouse."""
    command = click.option("--data-path", type=click.Path(file_okay=False, path_type=Path), default=None, help=DATA_PATH_HELP)(command)
    return click.option("--warehouse", default=None, help=WAREHOUSE_HELP)(command)


# SIREKAP paths carry no year; one outside this range is a typo that would quarantine everything.
YEARS = click.IntRange(2000, 2100)
# Prefect logs a failed flow's exception with its traceback at ERROR on these loggers; the run's
# own one-line reason says the same to a user (--debug shows both).
PREFECT_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")



@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """rekap: Indonesian election counts (SIREKAP exports, internal counts, the official
    recap) -> a DuckLake warehouse of province totals, per-region winners and their
    reconciliation, validated and versioned.

    Every command has its own --help with an example.
    """


RUN_EXAMPLES = """\b
Examples:
  rekap run --sirekap ../shared/data/sirekap/pilkada2024-kaltim/2024-11-28T01-00 \\
            --sirekap ../shared/data/sirekap/pilkada2024-kaltim/2024-11-28T10-15
  rekap run --sirekap ../shared/data/sirekap/pilkada2024-kaltim/2024-11-28T10-15 \\
            --internal ../shared/data/internal-count/kaltim-pilgub2024-claim-rudy-seno.csv \\
            --official ../shared/data/kpu-rekap/kaltim-pilgub2024-dhasil-prov.csv
  rekap run --sirekap-url https://sirekap-obj-data.kpu.go.id \\
            --election pilkada2024 --contest pkwkp --region 64 --archive archive --rate 5
"""


def run_options(command):
    """The options saying what a nightly run reads and where it writes: one set, so that
    `rekap run` and `rekap serve` (which schedules that same run) always take the same ones."""
    options = [
        click.option("--sirekap", "sirekap", multiple=True, type=click.Path(exists=True, path_type=Path),
                     help="A SIREKAP mirror folder, a .jsonl/.jsonl.gz dump or a crawl index; repeat for several, oldest first."),
        click.option("--sirekap-url", help="Base URL of a SIREKAP-compatible API to crawl (needs --election, --contest, --region) [$REKAP_SIREKAP_URL]."),
        click.option("--election", help="Election id to crawl, e.g. pilkada2024 or pemilu2024 [$REKAP_ELECTION]."),
        click.option("--contest", help="Contest to crawl, e.g. pkwkp, pkwkk, ppwp [$REKAP_CONTEST]."),
        click.option("--region", help="Region code whose subtree to crawl, e.g. 64 (0 = national) [$REKAP_REGION]."),
        click.option("--archive", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help=f"Folder archiving every response of every crawl [default: $REKAP_ARCHIVE or {DEFAULT_ARCHIVE.relative_to(PROJECT_ROOT)}]."),
        click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=None, help="Requests per second at most, retries included [default: $REKAP_RATE or 5]."),
        click.option("--concurrency", type=click.IntRange(min=1), default=4, show_default=True, help="Requests in flight at most."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True, help="Seconds before a request is given up and retried."),
        click.option("--retries", type=click.IntRange(min=0), default=4, show_default=True, help="Retries of a request that timed out, got 429/5xx or a broken body."),
        click.option("--full", is_flag=True, help="Fetch every node, not only the subtrees whose aggregates changed."),
        click.option("--max-requests", type=click.IntRange(min=1), default=None, help="Stop the crawl after this many requests; the next run resumes it."),
        click.option("--internal", "internal", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="An internal count (CSV, XLSX or Parquet; TPS or region rows); repeatable."),
        click.option("--official", "official", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="An official recap (D.HASIL) spreadsheet (CSV, XLSX or Parquet); repeatable."),
        click.option("--columns", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                     help="TOML overriding how count-file columns are read, and naming their race (see flows/sources/count_columns.toml)."),
        click.option("--warehouse", default=None, help=WAREHOUSE_HELP),
        click.option("--data-path", type=click.Path(file_okay=False, path_type=Path), default=None, help=DATA_PATH_HELP),
        click.option("--full-rebuild", is_flag=True, help="Rebuild every model even when nothing they read changed (gives the same marts)."),
        click.option("--year", "election_year", type=YEARS, default=None, help="Election year the mirror's pemilu/pilkada folders mean [default: 2024, or --election's]."),
        click.option("--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                     help="Data-quality rule pack [default: $REKAP_RULES or schemas/rules.toml]."),
        click.option("--debug", is_flag=True, help="On a failure, show Prefect's log and the traceback, not only the one-line reason."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _run_settings(sirekap: tuple[Path, ...], sirekap_url: str | None, election: str | None, contest: str | None, region: str | None,
                  archive: Path | None, rate: float | None, concurrency: int, timeout: float, retries: int, full: bool,
                  max_requests: int | None, internal: tuple[Path, ...], official: tuple[Path, ...], columns: Path | None,
                  warehouse: str | None, data_path: Path | None, full_rebuild: bool, election_year: int | None, rules: Path | None,
                  **crawl_extra) -> Settings:  # fmt: skip
    """The run's Settings from run_options' values, refusing what cannot make a run."""
    crawl = None
    if sirekap_url or os.environ.get("REKAP_SIREKAP_URL"):
        try:
            crawl = CrawlSettings.from_env(
                base_url=sirekap_url, election=election, contest=contest, region=region, archive=archive, rate=rate,
                concurrency=concurrency, timeout=timeout, retries=retries, full=full, max_requests=max_requests, **crawl_extra,
            )  # fmt: skip
            crawl_year = crawl.election_year
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        if election_year is not None and election_year != crawl_year:
            raise click.UsageError(f"--year {election_year} contradicts --election {crawl.election}")
        election_year = crawl_year
    elif not (sirekap or internal or official):
        raise click.UsageError("give --sirekap (a mirror, dump or crawl index), --sirekap-url (an API to crawl), --internal or --official")
    settings = Settings.from_env(sirekap=sirekap, internal=internal, official=official, columns=columns, warehouse=warehouse,
                                 data_path=data_path, election_year=election_year, rules=rules, crawl=crawl,
                                 full_rebuild=full_rebuild or None)  # fmt: skip
    _check_configuration(settings)
    return settings


def _check_configuration(settings: Settings) -> None:
    """Every configuration file read whole before anything is read or crawled: a bad rule
    threshold or column pattern found deep in a run would cost the night."""
    from flows.sources.counts import ColumnConfig
    from schemas.rules import RulesError, load_rules

    if not YEARS.min <= settings.election_year <= YEARS.max:
        raise click.UsageError(f"election year {settings.election_year} (from $REKAP_ELECTION_YEAR or --election) is not in {YEARS.min}..{YEARS.max}")
    try:
        load_rules(settings.rules)
        ColumnConfig.load(settings.columns)
    except (RulesError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc


@cli.command(short_help="Crawl the API or load exports and count files; rebuild every table.", epilog=RUN_EXAMPLES)
@run_options
def run(debug: bool, **options) -> None:
    """Crawl a SIREKAP-compatible API into the archive and/or load SIREKAP exports and
    internal-count / official-recap files, validate them, rebuild every table and the
    reconciliation report (one Prefect flow run).

    With --sirekap-url, only the subtrees whose aggregates changed since the last crawl are
    fetched; an interrupted crawl is resumed by the next run. A count file whose columns, values
    or codes cannot be read is not loaded at all; the run says why and goes on with the rest.
    """
    settings = _run_settings(**options)
    if settings.crawl is not None:
        from flows.sources.api import CrawlError, check_host

        try:
            check_host(settings.crawl.base_url)
        except CrawlError as exc:  # before Prefect starts: one line, in a second, not a traceback after retries
            raise click.ClickException(str(exc)) from exc
    _run_flow(settings, debug=debug)
    _show_and_report(settings, report_folder(settings), "id")


@cli.command(short_help="Generate the Kaltim 2024 demo (SIREKAP, internal count, official recap) and run on it.", epilog="\b\nExample:\n  rekap demo --progress 1.0")
@click.option("--progress", type=click.FloatRange(0, 1), default=0.964, show_default=True, help="Share of TPS published in the generated snapshot.")
@click.option("--seed", type=int, default=2024, show_default=True, help="Random seed of the generator (same seed, same files).")
@click.option("--warehouse", type=click.Path(path_type=Path), default=DEMO_WAREHOUSE, show_default=True, help="The demo's warehouse (a DuckLake catalog file).")
@click.option("--mirror", type=click.Path(path_type=Path), default=DEMO_MIRROR, show_default=True, help="Where to write the generated SIREKAP mirror (the count files go beside it).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the HTML report [default: $REKAP_REPORTS or reports/, then the warehouse file's name without its suffix].")
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True, help="Language of the report.")
def demo(progress: float, seed: int, warehouse: Path, mirror: Path, out: Path | None, lang: str) -> None:
    """Generate the built-in East Kalimantan 2024 governor demo and run the pipeline on it: a
    SIREKAP mirror at the given progress with a few TPS carrying SIREKAP's known errors, a later
    snapshot where one kab/kota withholds its counts, a campaign's TPS-level internal count (a
    few percent of TPS copied differently, a few TPS missing) and the official recap; then write
    the report."""
    from flows.sources.demo import (KALTIM_2024, SirekapErrors, generate_internal_count, generate_kaltim_mirror,
                                    write_official_recap, write_withheld_snapshot)  # fmt: skip

    errors = SirekapErrors()
    manifest = generate_kaltim_mirror(mirror, progress=progress, seed=seed, errors=errors)
    echo(f"demo mirror: {manifest.files_written:,} files, {manifest.tps_published:,} of {manifest.tps_total:,} TPS published -> {mirror}")
    echo(f"  with SIREKAP's errors: {errors.ocr_inflated} TPS misread by OCR, {errors.arithmetic_slips} arithmetic slips, "
               f"{errors.chart_only} chart only, {errors.admin_only} administrasi only")  # fmt: skip
    later = mirror.with_name(mirror.name + "-later")
    withheld = write_withheld_snapshot(KALTIM_2024, mirror, later)
    echo(f"later snapshot: kab/kota {withheld.stem} withholds its counts (all 0) -> {later}")
    internal = generate_internal_count(KALTIM_2024, mirror.parent / "internal" / "kaltim-internal-count.csv", seed=seed)
    echo(f"internal count: {internal.tps_counted:,} TPS ({len(internal.tps_missing)} missing, {len(internal.tps_differing)} copied differently, "
               f"{len(internal.tps_resubmitted)} sent twice) -> {internal.path}")  # fmt: skip
    official = write_official_recap(KALTIM_2024, mirror.parent / "kpu-rekap" / "kaltim-dhasil-prov.csv")
    echo(f"official recap: {len(KALTIM_2024.kabkota)} kab/kota and the province total -> {official}")
    settings = Settings(warehouse=warehouse, sirekap=(mirror, later), internal=(internal.path,), official=(official,))
    _run_flow(settings)
    _show_and_report(settings, out or report_folder(settings), lang)


@cli.command(short_help="Write the reconciliation report (html pages, md or csv).",
             epilog="\b\nExamples:\n  rekap report --format html --out reports/demo --warehouse warehouse/demo.sqlite\n"
                    "  rekap report --format html --lang en\n  rekap report --format csv --out reports/csv")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "csv"]), default="html", show_default=True,
              help="html: index.html and one page per kab/kota, down to the TPS, that open offline; md: Markdown; csv: the report's tables.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write into [default: $REKAP_REPORTS or reports/, then the warehouse file's name without its suffix].")
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True, help="Language of the html pages (id: 1.234.567; en: 1,234,567).")
@warehouse_options
def report(fmt: str, out: Path | None, lang: str, warehouse: str | None, data_path: Path | None) -> None:
    """Write the reconciliation report a campaign lawyer or a journalist reads: each race's
    candidates under each source, verdict and partial coverage; every kab/kota down to its
    kecamatan, kelurahan and TPS (rules broken, form photos, versions); the flagged TPS by rule;
    the discrepancies ranked by their effect on the margin; the data-quality summary."""
    settings = Settings.from_env(warehouse=warehouse, data_path=data_path)
    _write_report(settings, fmt, out or report_folder(settings), lang)


def report_folder(settings: Settings) -> Path:
    """$REKAP_REPORTS (default reports/) / <warehouse stem>: two warehouses never write over each other's report."""
    catalog = settings.location().catalog_file
    return Path(os.environ.get("REKAP_REPORTS") or DEFAULT_REPORTS) / (catalog.stem if catalog is not None else "shared-lake")


@contextlib.contextmanager
def _reading(settings: Settings):
    """A read-only connection to the warehouse, reading one snapshot: a run that publishes
    meanwhile changes nothing it reads (results and report of one night, not of two); what
    cannot be read is said in one line."""
    import duckdb

    from warehouse.storage import WarehouseError, connect

    try:
        with connect(settings.location(), read_only=True) as con:
            con.begin()
            yield con
    except (duckdb.Error, WarehouseError, LookupError) as exc:
        raise click.ClickException(str(exc)) from exc


def _show_and_report(settings: Settings, out: Path, lang: str) -> None:
    """After a run: the results on the terminal, then the html report, read through one connection
    (each connection costs a lake attach and a cold catalog)."""
    with _reading(settings) as con:
        _show_results(settings, con)
        _write_report(settings, "html", out, lang, con)


def _write_report(settings: Settings, fmt: str, out: Path, lang: str = "id", con=None) -> None:
    if con is None:
        with _reading(settings) as con:
            return _write_report(settings, fmt, out, lang, con)
    from report.render import write_report

    written = write_report(con, fmt, out, str(settings.location()), lang)
    # The html report is a folder of pages: name its entry page, not each of them.
    shown = [p for p in written if p.name == "index.html"] or written
    for path in shown:
        echo((f"report ({len(written)} pages): " if fmt == "html" else "report: ") + str(path))


@cli.command(short_help="Rebuild a warehouse from a crawl archive alone (no network).", epilog="\b\nExample:\n  rekap rebuild --archive archive --warehouse warehouse/rebuilt.sqlite")
@click.option("--archive", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help=f"The crawl archive [default: $REKAP_ARCHIVE or {DEFAULT_ARCHIVE.relative_to(PROJECT_ROOT)}].")
@click.option("--warehouse", type=click.Path(path_type=Path), required=True, help="The warehouse to build: a new DuckLake catalog file (must not exist, unless --replace).")
@click.option("--replace", is_flag=True, help="Replace an existing warehouse (its catalog and data folder), once the rebuild succeeded.")
def rebuild(archive: Path | None, warehouse: Path, replace: bool) -> None:
    """Replay every finished crawl of the archive, oldest first, one run per crawl (as the nightly
    runs loaded them), into a new warehouse: the same marts, without the network."""
    from warehouse.storage import WAL_FILES, Location, default_data_path, replace_catalog

    archive = archive or Path(os.environ.get("REKAP_ARCHIVE", DEFAULT_ARCHIVE))
    if warehouse.exists() and not replace:
        raise click.UsageError(f"{warehouse} exists: pick a new file or pass --replace")
    # Built beside the target under another name, moved over it only when every crawl loaded.
    fresh = warehouse.with_name(f"{warehouse.name}.rebuild")
    shutil.rmtree(default_data_path(fresh), ignore_errors=True)
    for leftover in (fresh, *(Path(f"{fresh}{suffix}") for suffix in WAL_FILES)):  # of a rebuild that stopped
        leftover.unlink(missing_ok=True)
    from flows.nightly import rebuild_from_archive
    from flows.pipeline import RunFailed

    try:
        summaries = rebuild_from_archive(archive, fresh)
    except (RunFailed, ValueError) as exc:
        raise click.ClickException(f"rebuild failed: {exc}") from exc
    shutil.rmtree(default_data_path(warehouse), ignore_errors=True)
    os.replace(default_data_path(fresh), default_data_path(warehouse))
    replace_catalog(fresh, warehouse)
    records = sum(s.load.records_read for s in summaries)
    echo(f"rebuilt {warehouse} from {archive}: {len(summaries)} crawls replayed, one run each; {records:,} records read")
    _show_results(Settings(warehouse=Location.parse(warehouse).catalog_file))


QUERY_EXAMPLES = """\b
Examples:
  rekap query "select * from province_totals"
  rekap query --format csv "select * from region_winners"
  rekap query --at 3 "select * from province_totals"          # as snapshot 3 published it
  rekap query --at '2024-11-28 12:00' "select * from runs"
  rekap query --format parquet --output anomalies.parquet "select * from anomalies"
  rekap query --format line \\
    "select column_name, comment from duckdb_columns() where table_name = 'region_winners'"
"""


@cli.command(short_help="Run SQL on the warehouse, read-only, in a sandbox.", epilog=QUERY_EXAMPLES)
@click.argument("sql")
@warehouse_options
@click.option("--at", default=None, help="Read the warehouse as an earlier run published it: a snapshot number, a run id or a time (`select * from lake.snapshots()`).")
@click.option("--format", "fmt", type=click.Choice(QUERY_FORMATS), default="table", show_default=True,
              help="table: columns within 100 characters, one record per row when they cannot fit; csv (lists as JSON); "
                   "json; jsonl (one object a line); markdown; parquet (needs --output); line (column=value pairs).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of the terminal (rekap writes it; never inside the warehouse).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=300.0, show_default=True, help="Seconds a query may run before it is stopped.")
@click.option("--memory-limit", default="4GB", show_default=True, help="Memory the query may use (e.g. 500MB, 4GB).")
def query(sql: str, warehouse: str | None, data_path: Path | None, at: str | None, fmt: str, output: Path | None,
          timeout: float, memory_limit: str) -> None:  # fmt: skip
    """Run one SQL query (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) on the warehouse.

    The warehouse is opened read-only, and the query cannot read a file outside it, write any
    file, attach another database or change a setting: to export, use --output.
    """
    from warehouse import query as sandboxed

    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet writes a file: add --output FILE.parquet")
    settings = Settings.from_env(warehouse=warehouse, data_path=data_path)
    try:
        frame = sandboxed.run(settings.location(), sql, at=at, timeout=timeout, memory_limit=memory_limit)
        if output is not None:
            sandboxed.check_output(output, settings.location())
    except sandboxed.QueryRefused as exc:
        raise click.ClickException(str(exc)) from exc
    text = write_query(frame, fmt, output)
    if text is None:
        click.echo(f"{frame.height:,} rows -> {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command(short_help="Copy a single-file DuckDB warehouse from before DuckLake into a lake.",
             epilog="\b\nExample:\n  rekap migrate warehouse/rekap.duckdb --warehouse warehouse/rekap.sqlite")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@warehouse_options
def migrate(old: Path, warehouse: str | None, data_path: Path | None) -> None:
    """Copy every raw version, observation, run and quarantined record of an old single-file
    warehouse into a new DuckLake warehouse and rebuild the models there (one snapshot). The old
    file is only read."""
    from warehouse.migrate import MigrationError, migrate_file

    settings = Settings.from_env(warehouse=warehouse, data_path=data_path)
    try:
        copied = migrate_file(old, settings.location())
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"migrated {old} -> {settings.location()}: " + ", ".join(f"{table} {rows:,}" for table, rows in copied.items()))


SERVE_EXAMPLES = """\b
Examples (after `rekap server` in another terminal, and the export it prints):
  rekap serve --sirekap /data/sirekap-mirror --cron '0 2 * * *' --timezone Asia/Makassar
  rekap serve --sirekap-url https://sirekap-obj-data.kpu.go.id --election pilkada2024 \\
              --contest pkwkp --region 64 \\
              --official /data/dhasil.csv --internal /data/internal.csv
"""


@cli.command(short_help="Serve the nightly run on a schedule (needs a Prefect server).", epilog=SERVE_EXAMPLES)
@run_options
@click.option("--cron", default="0 2 * * *", show_default=True, help="When to run (cron syntax), in --timezone.")
@click.option("--timezone", default="Asia/Makassar", show_default=True, help="Time zone of the cron (WITA for East Kalimantan).")
@click.option("--name", default="nightly", show_default=True, help="Deployment name.")
def serve(cron: str, timezone: str, name: str, debug: bool, **options) -> None:
    """Register the nightly deployment with its schedule and sources, and run it when due
    (blocks; Ctrl-C stops). Takes every option `rekap run` takes; the paths are checked now, at
    registration, not at 2 a.m. Task failures are retried by Prefect where a retry can help (the crawl)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(f"unknown time zone {timezone!r} (e.g. Asia/Makassar, Asia/Jakarta, UTC)", param_hint="--timezone") from exc
    settings = _run_settings(**options, task_retries=2) if options.get("sirekap_url") else _run_settings(**options)
    if debug:  # the served runs log everything, Prefect's own records included
        os.environ["PREFECT_LOGGING_LEVEL"] = "DEBUG"
    prefect_environment()
    if not os.environ.get("PREFECT_API_URL"):
        raise click.ClickException(
            "a schedule needs a running Prefect server: start one with `rekap server` (or `make server`) "
            "and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    from prefect.flows import EntrypointType
    from prefect.schedules import Cron

    from flows.nightly import nightly

    def absolute(paths) -> list[str]:
        return [str(Path(p).resolve()) for p in paths]

    crawl = settings.crawl
    parameters = {
        "sirekap": absolute(settings.sirekap), "warehouse": _absolute_warehouse(settings.warehouse),
        "data_path": str(settings.data_path.resolve()) if settings.data_path else None, "full_rebuild": settings.full_rebuild,
        "election_year": settings.election_year, "internal": absolute(settings.internal),
        "official": absolute(settings.official), "rules": str(settings.rules.resolve()) if settings.rules else None,
        "columns": str(settings.columns.resolve()) if settings.columns else None,
        "crawl": {**dataclasses.asdict(crawl), "archive": str(crawl.archive.resolve())} if crawl else None,
    }  # fmt: skip
    echo(f"serving deployment rekap-nightly/{name}: {cron} in {schedule_zone(zone)} -> {settings.location()}")
    nightly.serve(
        name=name,
        schedules=[Cron(cron, timezone=timezone)],
        parameters=parameters,
        description="rekap nightly: crawl/load SIREKAP and count files, rebuild the models, publish the warehouse by one lake commit.",
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def schedule_zone(zone) -> str:
    """'Asia/Makassar (UTC+08:00 now)': the zone a cron is read in, with its offset today."""
    from datetime import datetime

    offset = datetime.now(zone).strftime("%z")
    return f"{zone.key} (UTC{offset[:3]}:{offset[3:]} now)"


@cli.command(short_help="Start a local Prefect server (127.0.0.1, telemetry off).",
             epilog="\b\nExample:\n  rekap server --port 4200\n  # then, in another shell: export PREFECT_API_URL=http://127.0.0.1:4200/api")
@click.option("--port", type=click.IntRange(1, 65535), default=4200, show_default=True, help="Port on 127.0.0.1.")
def server(port: int) -> None:
    """Run a Prefect server on 127.0.0.1 for schedules and the UI; a temporary one cannot schedule."""
    prefect_environment()
    api = f"http://127.0.0.1:{port}/api"
    # The UI asks this URL for its data: without it, a server on another port shows an empty UI.
    os.environ["PREFECT_UI_API_URL"] = api
    echo(f"Prefect server: UI on http://127.0.0.1:{port}, API on {api}\n"
         f"In the shell where you run `rekap serve` (or `rekap run`, to see runs in this UI):\n"
         f"  export PREFECT_API_URL={api}")  # fmt: skip
    os.execv(sys.executable, [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)])


def _absolute_warehouse(warehouse: str | Path) -> str:
    return str(warehouse) if str(warehouse).startswith("ducklake:") else str(Path(warehouse).resolve())


class _NoErrorRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


def _run_flow(settings: Settings, debug: bool = False) -> None:
    from warehouse.storage import WarehouseError, writer_lock

    try:
        # A folder, an old file or a busy warehouse: said in a second, before Prefect starts (the
        # night takes the lock itself; this only asks whether another run holds it now).
        settings.location().check(must_exist=False)
        with writer_lock(settings.location()):
            pass
    except WarehouseError as exc:
        raise click.ClickException(str(exc)) from exc
    prefect_environment()
    from flows.nightly import nightly

    quiet = _NoErrorRecords()
    loggers = [] if debug else [logging.getLogger(name) for name in PREFECT_RUN_LOGGERS]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        summary = nightly(list(settings.sirekap), _absolute_warehouse(settings.warehouse), settings.election_year, settings.rules,
                          list(settings.internal), list(settings.official), settings.columns,
                          dataclasses.asdict(settings.crawl) if settings.crawl else None,
                          str(settings.data_path) if settings.data_path else None, settings.full_rebuild)  # fmt: skip
    except WarehouseError as exc:  # before anything started: a folder, an old file, a busy warehouse
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # the flow has recorded the failure in `runs`; say why in one line and stop
        if debug:
            traceback.print_exc()
        raise click.ClickException(_failure_line(exc, settings.location())) from exc
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)
    if summary.crawl is not None:
        echo(summary.crawl.describe())
        echo(f"  archive: {summary.crawl.archive}")
    load, counts = summary.load, summary.counts
    read, loaded, quarantined = load.records_read, load.records_loaded, load.records_quarantined
    versions = load.versions_new
    if counts is not None:
        read, loaded, quarantined = read + counts.records_read, loaded + counts.records_loaded, quarantined + counts.records_quarantined
        versions += counts.versions_new
    echo(
        f"run {summary.run_id}: {read:,} records read, {loaded:,} loaded, "
        f"{quarantined:,} quarantined; {versions:,} new versions; "
        + (f"{summary.models_built} models built" if summary.models_built else "models current (nothing they read changed)")
        + f", {summary.audits_passed} audits passed"
    )
    for message in counts.messages if counts is not None else ():
        echo(f"  {message}")
    if quarantined:
        echo("  see: rekap query \\\n         \"select source_path, rule, reason from quarantine where run_id = '" + summary.run_id + "'\"")


def _failure_line(exc: Exception, warehouse) -> str:
    """What failed, in one line, and where the rest is: the run's row in `runs` keeps the whole message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    what = lines[0] if lines else type(exc).__name__
    more = f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else ""
    return (f"run failed: {what}{more}; details: rekap query --warehouse '{warehouse}' "
            f"\"select error from runs where status = 'failed' order by started_at desc limit 1\" (--debug shows the traceback)")


def _show_results(settings: Settings, con=None) -> None:
    if con is None:
        with _reading(settings) as con:
            return _show_results(settings, con)
    import polars as pl

    from warehouse.quality import quality_summary

    location = settings.location()
    # Few, short columns, so that each table fits 100 columns as a table (names wrap in their cell).
    totals = con.execute(
        """select election || '/' || contest as race, province_code || ' ' || coalesce(province_name, '') as province,
                  nomor_urut as no, candidate_name as candidate, votes, share_pct, tps_reported as tps_in, tps_total
           from province_totals order by election, contest, province_code, nomor_urut"""
    ).pl()
    winners = con.execute(
        """select election || '/' || contest as race, region_code || ' ' || coalesce(region_name, '') as kabkota,
                  winner_nomor_urut as no,
                  -- A tie has no winner: say who shares first place instead.
                  case when tie then 'tie: ' || array_to_string(list_transform(tied_nomor_urut, n -> lpad(cast(n as varchar), 2, '0')), ', ')
                       else winner_name end as winner,
                  winner_votes as votes, margin_votes as margin, margin_pct, tps_reported as tps_in, tps_total
           from region_winners where level = 'kabkota' order by election, contest, region_code"""
    ).pl()
    risk = con.execute(
        """select election || '/' || contest || '/' || race_code as race, race_name, internal_leader as int_lead,
                  sirekap_leader as srk_lead, official_leader as off_lead, internal_margin_votes as int_margin,
                  sirekap_margin_votes as srk_margin, official_margin_votes as off_margin, votes_at_stake as at_stake, verdict
           from outcome_risk order by election, contest, race_code"""
    ).pl()
    quality = quality_summary(con)
    totals = totals.with_columns(pl.col("candidate").map_elements(short_name, return_dtype=pl.Utf8))
    winners = winners.with_columns(pl.col("winner").map_elements(short_name, return_dtype=pl.Utf8))
    echo("\nProvince totals (province_totals; names without titles)")
    echo(_table(totals))
    echo("\nKab/kota winners (region_winners, level = 'kabkota')")
    echo(_table(winners))
    if not risk.is_empty():
        echo("\nReconciliation per race (outcome_risk): leader and margin per source, votes at stake, verdict")
        echo(_table(risk))
    echo("")
    echo(quality)
    shown = location.catalog_file or location
    try:
        shown = shown.relative_to(Path.cwd())
    except (ValueError, AttributeError):
        pass
    # Right after `make run` the venv is not activated: show the command that works as typed.
    rekap = "rekap" if shutil.which("rekap") else os.path.relpath(Path(sys.prefix) / "bin" / "rekap")
    echo(f"\nWarehouse: {shown}")
    # A shell continuation keeps the command whole (copy-paste still works) within 100 columns;
    # printed as is, since wrapping it anywhere else would break the command.
    click.echo(f"Query it:  {rekap} query --warehouse {shown} \\\n"
               "             \"select * from region_winners where level = 'kecamatan' limit 10\"")


def _table(frame, rows: int | None = TABLE_ROWS) -> str:
    return table(frame, rows=rows)


def main() -> None:
    cli(prog_name="rekap")


if __name__ == "__main__":
    sys.exit(main())

"""The `rekap` command: a thin layer over the flow and the warehouse."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from flows.settings import (
    DEFAULT_ARCHIVE,
    DEFAULT_WAREHOUSE,
    DEMO_MIRROR,
    DEMO_WAREHOUSE,
    PROJECT_ROOT,
    CrawlSettings,
    Settings,
    prefect_environment,
)

EXAMPLES = """\b
Examples:
  rekap demo
  rekap run --sirekap ../shared/data/sirekap/pilkada2024-kaltim/2024-11-28T10-15
  rekap run --sirekap-url https://sirekap-obj-data.kpu.go.id --election pilkada2024 --contest pkwkp --region 64
  rekap rebuild --archive archive --warehouse warehouse/rebuilt.duckdb
  rekap query "select * from province_totals"
  rekap query --format csv "select * from region_winners where level = 'kabkota'"
"""

TABLE_ROWS = 60


@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """rekap: Indonesian election counts (SIREKAP exports) -> a DuckDB warehouse of
    province totals and per-region winners, validated and versioned.

    Every command has its own --help with an example.
    """


RUN_EXAMPLES = """\b
Examples:
  rekap run --sirekap ../shared/data/sirekap/pilkada2024-kaltim/2024-11-28T01-00 \\
            --sirekap ../shared/data/sirekap/pilkada2024-kaltim/2024-11-28T10-15
  rekap run --sirekap-url https://sirekap-obj-data.kpu.go.id \\
            --election pilkada2024 --contest pkwkp --region 64 --archive archive --rate 5
"""


@cli.command(short_help="Crawl the API or load exports; rebuild every table.", epilog=RUN_EXAMPLES)
@click.option("--sirekap", "sirekap", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A SIREKAP mirror folder, a .jsonl/.jsonl.gz dump or a crawl index; repeat for several, oldest first.")
@click.option("--sirekap-url", help="Base URL of a SIREKAP-compatible API to crawl (needs --election, --contest, --region) [$REKAP_SIREKAP_URL].")
@click.option("--election", help="Election id to crawl, e.g. pilkada2024 or pemilu2024 [$REKAP_ELECTION].")
@click.option("--contest", help="Contest to crawl, e.g. pkwkp, pkwkk, ppwp [$REKAP_CONTEST].")
@click.option("--region", help="Region code whose subtree to crawl, e.g. 64 (0 = national) [$REKAP_REGION].")
@click.option("--archive", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Folder archiving every response of every crawl [default: $REKAP_ARCHIVE or {DEFAULT_ARCHIVE.relative_to(PROJECT_ROOT)}].")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=None, help="Requests per second at most, retries included [default: $REKAP_RATE or 5].")
@click.option("--concurrency", type=click.IntRange(min=1), default=4, show_default=True, help="Requests in flight at most.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True, help="Seconds before a request is given up and retried.")
@click.option("--retries", type=click.IntRange(min=0), default=4, show_default=True, help="Retries of a request that timed out, got 429/5xx or a broken body.")
@click.option("--full", is_flag=True, help="Fetch every node, not only the subtrees whose aggregates changed.")
@click.option("--max-requests", type=click.IntRange(min=1), default=None, help="Stop the crawl after this many requests; the next run resumes it.")
@click.option("--warehouse", type=click.Path(path_type=Path), default=None,
              help=f"DuckDB file to load into [default: $REKAP_WAREHOUSE or {DEFAULT_WAREHOUSE.relative_to(PROJECT_ROOT)}].")
@click.option("--year", "election_year", type=int, default=None, help="Election year the mirror's pemilu/pilkada folders mean [default: 2024, or --election's].")
def run(sirekap: tuple[Path, ...], sirekap_url: str | None, election: str | None, contest: str | None, region: str | None,
        archive: Path | None, rate: float | None, concurrency: int, timeout: float, retries: int, full: bool,
        max_requests: int | None, warehouse: Path | None, election_year: int | None) -> None:  # fmt: skip
    """Crawl a SIREKAP-compatible API into the archive and/or load SIREKAP exports, validate them
    and rebuild every table (one Prefect flow run).

    With --sirekap-url, only the subtrees whose aggregates changed since the last crawl are
    fetched; an interrupted crawl is resumed by the next run.
    """
    crawl = None
    if sirekap_url or os.environ.get("REKAP_SIREKAP_URL"):
        try:
            crawl = CrawlSettings.from_env(
                base_url=sirekap_url, election=election, contest=contest, region=region, archive=archive, rate=rate,
                concurrency=concurrency, timeout=timeout, retries=retries, full=full, max_requests=max_requests,
            )  # fmt: skip
            crawl_year = crawl.election_year
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        if election_year is not None and election_year != crawl_year:
            raise click.UsageError(f"--year {election_year} contradicts --election {crawl.election}")
        election_year = crawl_year
    elif not sirekap:
        raise click.UsageError("give --sirekap (a mirror, dump or crawl index) or --sirekap-url (an API to crawl)")
    settings = Settings.from_env(sirekap=sirekap, warehouse=warehouse, election_year=election_year, crawl=crawl)
    _run_flow(settings)
    _show_results(settings.warehouse)


@cli.command(short_help="Generate the Kaltim 2024 demo mirror and run on it.", epilog="\b\nExample:\n  rekap demo --progress 1.0")
@click.option("--progress", type=click.FloatRange(0, 1), default=0.964, show_default=True, help="Share of TPS published in the generated snapshot.")
@click.option("--seed", type=int, default=2024, show_default=True, help="Random seed of the generator (same seed, same files).")
@click.option("--warehouse", type=click.Path(path_type=Path), default=DEMO_WAREHOUSE, show_default=True, help="DuckDB file for the demo.")
@click.option("--mirror", type=click.Path(path_type=Path), default=DEMO_MIRROR, show_default=True, help="Where to write the generated SIREKAP mirror.")
def demo(progress: float, seed: int, warehouse: Path, mirror: Path) -> None:
    """Generate the built-in East Kalimantan 2024 governor demo and run the pipeline on it."""
    from flows.sources.demo import generate_kaltim_mirror

    manifest = generate_kaltim_mirror(mirror, progress=progress, seed=seed)
    click.echo(f"demo mirror: {manifest.files_written:,} files, {manifest.tps_published:,} of {manifest.tps_total:,} TPS published -> {mirror}")
    _run_flow(Settings(warehouse=warehouse, sirekap=(mirror,)))
    _show_results(warehouse)


@cli.command(short_help="Rebuild a warehouse from a crawl archive alone (no network).", epilog="\b\nExample:\n  rekap rebuild --archive archive --warehouse warehouse/rebuilt.duckdb")
@click.option("--archive", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help=f"The crawl archive [default: $REKAP_ARCHIVE or {DEFAULT_ARCHIVE.relative_to(PROJECT_ROOT)}].")
@click.option("--warehouse", type=click.Path(path_type=Path), required=True, help="DuckDB file to build (must not exist, unless --replace).")
@click.option("--replace", is_flag=True, help="Replace an existing warehouse file (atomically, once the rebuild succeeded).")
def rebuild(archive: Path | None, warehouse: Path, replace: bool) -> None:
    """Replay every finished crawl of the archive, oldest first, one run per crawl (as the nightly
    runs loaded them), into a new warehouse: the same marts, without the network."""
    archive = archive or Path(os.environ.get("REKAP_ARCHIVE", DEFAULT_ARCHIVE))
    if warehouse.exists() and not replace:
        raise click.UsageError(f"{warehouse} exists: pick a new file or pass --replace")
    prefect_environment()
    from flows.nightly import rebuild_from_archive

    try:
        summaries = rebuild_from_archive(archive, warehouse)
    except Exception as exc:
        raise click.ClickException(f"rebuild failed: {exc}") from exc
    records = sum(s.load.records_read for s in summaries)
    click.echo(f"rebuilt {warehouse} from {archive}: {len(summaries)} crawls replayed, one run each; {records:,} records read")
    _show_results(warehouse)


@cli.command(short_help="Run SQL on the warehouse (read-only).", epilog="\b\nExamples:\n  rekap query \"select * from province_totals\"\n  rekap query --format json \"select * from runs\"\n  rekap query \"select table_name, column_name, comment from duckdb_columns() where table_name = 'region_winners'\"")
@click.argument("sql")
@click.option("--warehouse", type=click.Path(path_type=Path), default=None, help="DuckDB file to read [default: $REKAP_WAREHOUSE or warehouse/rekap.duckdb].")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True, help="Output format.")
def query(sql: str, warehouse: Path | None, fmt: str) -> None:
    """Run one SQL query against the warehouse, opened read-only."""
    import duckdb

    from warehouse.db import connect

    settings = Settings.from_env(warehouse=warehouse)
    try:
        with connect(settings.warehouse, read_only=True) as con:
            frame = con.execute(sql).pl()
    except (duckdb.Error, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "csv":
        click.echo(frame.write_csv(), nl=False)
    elif fmt == "json":
        click.echo(frame.write_json())
    else:
        click.echo(_table(frame, rows=None))


def _run_flow(settings: Settings) -> None:
    prefect_environment()
    from flows.nightly import nightly

    try:
        summary = nightly(list(settings.sirekap), settings.warehouse, settings.election_year, settings.crawl)
    except Exception as exc:  # the flow has recorded the failure in `runs`; say why and stop
        raise click.ClickException(f"run failed: {exc}") from exc
    if summary.crawl is not None:
        click.echo(summary.crawl.describe())
        click.echo(f"  archive: {summary.crawl.archive}")
    load = summary.load
    click.echo(
        f"run {summary.run_id}: {load.records_read:,} records read, {load.records_loaded:,} loaded, "
        f"{load.records_quarantined:,} quarantined; {load.versions_new:,} new versions; "
        f"{summary.models_built} models built, {summary.audits_passed} audits passed"
    )
    if load.records_quarantined:
        click.echo("  see: rekap query \"select source_path, rule, reason from quarantine where run_id = '" + summary.run_id + "'\"")


def _show_results(warehouse: Path) -> None:
    from warehouse.db import connect

    with connect(warehouse, read_only=True) as con:
        totals = con.execute(
            """select election, contest, province_code as prov, province_name, nomor_urut as no, candidate_name,
                      votes, share_pct, tps_reported, tps_total
               from province_totals order by election, contest, province_code, nomor_urut"""
        ).pl()
        winners = con.execute(
            """select election, contest, region_code, region_name, winner_nomor_urut as winner_no, winner_name,
                      winner_votes, margin_votes, margin_pct, tie, tps_reported, tps_total
               from region_winners where level = 'kabkota' order by election, contest, region_code"""
        ).pl()
    click.echo("\nProvince totals (province_totals)")
    click.echo(_table(totals))
    click.echo("\nKab/kota winners (region_winners, level = 'kabkota')")
    click.echo(_table(winners))
    shown = warehouse.resolve()
    try:
        shown = shown.relative_to(Path.cwd())
    except ValueError:
        pass
    # Right after `make run` the venv is not activated: show the command that works as typed.
    rekap = "rekap" if shutil.which("rekap") else os.path.relpath(Path(sys.prefix) / "bin" / "rekap")
    click.echo(f"\nWarehouse: {shown}")
    click.echo(f"Query it:  {rekap} query --warehouse {shown} \"select * from region_winners where level = 'kecamatan' limit 10\"")


def _table(frame, rows: int | None = TABLE_ROWS) -> str:
    import polars as pl

    with pl.Config(tbl_rows=rows or -1, tbl_cols=-1, tbl_width_chars=220, fmt_str_lengths=36,
                   tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True, thousands_separator=","):  # fmt: skip
        return str(frame)


def main() -> None:
    cli(prog_name="rekap")


if __name__ == "__main__":
    sys.exit(main())

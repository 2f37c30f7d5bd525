"""The `rekap` command: a thin layer over the flow and the warehouse."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from flows.settings import DEFAULT_WAREHOUSE, DEMO_MIRROR, DEMO_WAREHOUSE, PROJECT_ROOT, Settings, prefect_environment

EXAMPLES = """\b
Examples:
  rekap demo
  rekap run --sirekap ../shared/data/sirekap/pilkada2024-kaltim/2024-11-28T10-15
  rekap query "select * from province_totals"
  rekap query --format csv "select * from region_winners where level = 'kabkota'"
  rekap server                      # a local Prefect server, for schedules
  rekap serve --sirekap /data/mirror --cron '0 2 * * *' --timezone Asia/Makassar
"""

TABLE_ROWS = 60


@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """rekap: Indonesian election counts (SIREKAP exports) -> a DuckDB warehouse of
    province totals and per-region winners, validated and versioned.

    Every command has its own --help with an example.
    """


@cli.command(short_help="Load SIREKAP mirrors/dumps and rebuild every table.", epilog="\b\nExample:\n  rekap run --sirekap ../shared/data/sirekap/pilkada2024-kaltim/2024-11-28T01-00 \\\n            --sirekap ../shared/data/sirekap/pilkada2024-kaltim/2024-11-28T10-15")
@click.option("--sirekap", "sirekap", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="A SIREKAP mirror folder or a .jsonl/.jsonl.gz dump; repeat for several, oldest first.")
@click.option("--warehouse", type=click.Path(path_type=Path), default=None,
              help=f"DuckDB file to load into [default: $REKAP_WAREHOUSE or {DEFAULT_WAREHOUSE.relative_to(PROJECT_ROOT)}].")
@click.option("--year", "election_year", type=int, default=None, help="Election year the mirror's pemilu/pilkada folders mean [default: 2024].")
@click.option("--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Data-quality rule pack [default: $REKAP_RULES or schemas/rules.toml].")
def run(sirekap: tuple[Path, ...], warehouse: Path | None, election_year: int | None, rules: Path | None) -> None:
    """Load SIREKAP exports, validate them and rebuild every table (one Prefect flow run)."""
    settings = Settings.from_env(sirekap=sirekap, warehouse=warehouse, election_year=election_year, rules=rules)
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


@cli.command(short_help="Serve the nightly run on a schedule (needs a Prefect server).",
             epilog="\b\nExample (after `rekap server` in another terminal):\n  PREFECT_API_URL=http://127.0.0.1:4200/api \\\n    rekap serve --sirekap /data/sirekap-mirror --cron '0 2 * * *' --timezone Asia/Makassar")
@click.option("--sirekap", "sirekap", multiple=True, required=True, type=click.Path(path_type=Path),
              help="A SIREKAP mirror folder or dump each run reads; repeat for several.")
@click.option("--warehouse", type=click.Path(path_type=Path), default=None, help="DuckDB file the runs publish to.")
@click.option("--year", "election_year", type=int, default=None, help="Election year of the mirror's folders [default: 2024].")
@click.option("--cron", default="0 2 * * *", show_default=True, help="When to run (cron syntax).")
@click.option("--timezone", default="Asia/Makassar", show_default=True, help="Time zone of the cron (WITA for East Kalimantan).")
@click.option("--name", default="nightly", show_default=True, help="Deployment name.")
def serve(sirekap: tuple[Path, ...], warehouse: Path | None, election_year: int | None, cron: str, timezone: str, name: str) -> None:
    """Register the nightly deployment with its schedule and run it when due (blocks; Ctrl-C stops)."""
    settings = Settings.from_env(sirekap=sirekap, warehouse=warehouse, election_year=election_year)
    prefect_environment()
    if not os.environ.get("PREFECT_API_URL"):
        raise click.ClickException(
            "a schedule needs a running Prefect server: start one with `rekap server` (or `make server`) "
            "and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    from prefect.flows import EntrypointType
    from prefect.schedules import Cron

    from flows.nightly import nightly

    click.echo(f"serving deployment rekap-nightly/{name}: {cron} ({timezone}) -> {settings.warehouse}")
    nightly.serve(
        name=name,
        schedules=[Cron(cron, timezone=timezone)],
        parameters={"sirekap": [str(p.resolve()) for p in settings.sirekap], "warehouse": str(settings.warehouse.resolve()),
                    "election_year": settings.election_year},
        description="rekap nightly: load SIREKAP exports, rebuild the models, publish the warehouse atomically.",
        entrypoint_type=EntrypointType.MODULE_PATH,
    )  # fmt: skip


@cli.command(short_help="Start a local Prefect server (127.0.0.1, telemetry off).",
             epilog="\b\nExample:\n  rekap server --port 4200\n  # then, in another shell: export PREFECT_API_URL=http://127.0.0.1:4200/api")
@click.option("--port", type=int, default=4200, show_default=True, help="Port on 127.0.0.1.")
def server(port: int) -> None:
    """Run a Prefect server on 127.0.0.1 for schedules and the UI; a temporary one cannot schedule."""
    prefect_environment()
    click.echo(f"Prefect server on http://127.0.0.1:{port} (UI); set PREFECT_API_URL=http://127.0.0.1:{port}/api for `rekap serve`")
    os.execv(sys.executable, [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)])


def _run_flow(settings: Settings) -> None:
    prefect_environment()
    from flows.nightly import nightly

    try:
        summary = nightly(list(settings.sirekap), settings.warehouse, settings.election_year, settings.rules)
    except Exception as exc:  # the flow has recorded the failure in `runs`; say why and stop
        raise click.ClickException(f"run failed: {exc}") from exc
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
    from warehouse.quality import quality_summary

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
        quality = quality_summary(con)
    click.echo("\nProvince totals (province_totals)")
    click.echo(_table(totals))
    click.echo("\nKab/kota winners (region_winners, level = 'kabkota')")
    click.echo(_table(winners))
    click.echo("")
    click.echo(quality)
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

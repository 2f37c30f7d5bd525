"""Render a Report as Markdown (the Prefect artifacts, `--format md`) or as CSV files; the HTML
pages are report/site.py's."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from report.data import DISCREPANCIES_SHOWN, RANKED_LEVELS, SOURCE_LABELS, SOURCES, Report

SHORT = {"internal": "Internal", "sirekap": "SIREKAP", "official": "Official"}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
VERDICT_TEXT = {"safe": "SAFE", "at_risk": "AT RISK", "flips": "FLIPS"}


def num(value) -> str:
    return "—" if value is None else f"{int(value):,}"


def signed(value) -> str:
    return "—" if value is None else f"{int(value):+,}"


def pct(value) -> str:
    return "—" if value is None else f"{value:.2f}%"


def race_title(race: dict) -> str:
    return f"{race['contest_name']} · {race['race_name'] or race['race_code']}"


def race_id(race: dict) -> str:
    return f"{race['election']}/{race['contest']}/{race['race_code']}"


def _names(report: Report, race: dict) -> dict[str, dict]:
    """candidate_key -> {name, colour} for one race."""
    rows = report.candidates.filter(
        (pl.col("election") == race["election"]) & (pl.col("contest") == race["contest"]) & (pl.col("race_code") == race["race_code"])
    )
    names = {}
    for i, row in enumerate(rows.iter_rows(named=True)):
        colour = row["colour"] if row["colour"] and re.fullmatch(r"#[0-9A-Fa-f]{6}", row["colour"]) else PALETTE[i % len(PALETTE)]
        names[row["candidate_key"]] = {"name": row["candidate_name"], "colour": colour}
    # Two candidates of one race with one display colour would read as one: give the later one another.
    seen: set[str] = set()
    for i, info in enumerate(names.values()):
        if info["colour"].lower() in seen:
            info["colour"] = PALETTE[i % len(PALETTE)]
        seen.add(info["colour"].lower())
    return names


def _leader_text(key: str | None, names: dict[str, dict]) -> str:
    if key is None:
        return "—"
    return f"{key} {names.get(key, {}).get('name', '')}".strip()


def _margins(race: dict) -> list[tuple[str, str | None, int | None, float | None]]:
    return [(s, race[f"{s}_leader"], race[f"{s}_margin_votes"], race[f"{s}_margin_pct"]) for s in SOURCES]


# --- Markdown ------------------------------------------------------------------------------------


def render_markdown(report: Report, races_only: bool = False) -> str:
    out = ["# Reconciliation report", "", f"Internal count vs SIREKAP vs the official recap (D.HASIL). Generated {report.generated_at}.", ""]
    if report.empty:
        return "\n".join(out + ["No race has numbers yet: load SIREKAP data or a count file with `rekap run`."]) + "\n"
    out += ["## Races", "", "| race | leader | verdict | votes at stake | smallest margin | internal margin | SIREKAP margin | official margin |", "|---|---|---|---:|---:|---:|---:|---:|"]
    for race in report.races.iter_rows(named=True):
        names = _names(report, race)
        leader = _leader_text(race["leader_nomor_urut"] and f"{race['leader_nomor_urut']:02d}", names) if race["leader_nomor_urut"] else (race["leader_name"] or "—")
        margins = [f"{num(m)} ({pct(p)}), {k} leads" if m is not None else "—" for _, k, m, p in _margins(race)]
        out.append(f"| {race_title(race)} (`{race_id(race)}`) | {leader} | **{VERDICT_TEXT[race['verdict']]}** | {num(race['votes_at_stake'])} | {num(race['margin_votes'])} | " + " | ".join(margins) + " |")
    out.append("")
    for race in report.races.filter(pl.col("verdict") != "safe").iter_rows(named=True):
        out.append(f"- **{race_title(race)}**: {race['verdict_reason']}")
    if races_only:
        return "\n".join(out) + "\n"

    out += ["", "## By kab/kota", ""]
    for (election, contest), group in _region_groups(report):
        out += [f"### {election} / {contest}", "", "| kab/kota | " + " | ".join(SOURCE_LABELS[s] for s in SOURCES) + " |", "|---|---|---|---|"]
        for region in group.partition_by(["region_code"], maintain_order=True):
            first = region.row(0, named=True)
            cells = []
            for source in SOURCES:
                rows = region.filter(pl.col("source") == source)
                cells.append(_votes_text(rows) if rows.height else "—")
            out.append(f"| {first['region_code']} {first['region_name']} | " + " | ".join(cells) + " |")
        out.append("")

    out += ["## Discrepancies, by their effect on the margin", ""]
    shown = report.discrepancies.filter(pl.col("level").is_in(RANKED_LEVELS)).head(DISCREPANCIES_SHOWN)
    if shown.is_empty():
        out.append("No two complete sources disagree anywhere.")
    else:
        out += ["| # | race | level | region | sources | deltas | effect on margin |", "|---:|---|---|---|---|---|---:|"]
        for i, d in enumerate(shown.iter_rows(named=True), start=1):
            out.append(f"| {i} | `{d['election']}/{d['contest']}/{d['race_code']}` | {d['level']} | {d['region_code']} {d['region_name'] or ''} | "
                       f"{SHORT[d['source_a']]} − {SHORT[d['source_b']]} | {d['deltas']} | {signed(d['margin_effect'])} |")  # fmt: skip
    out += ["", "## Data quality", ""] + _quality_markdown(report)
    return "\n".join(out) + "\n"


def _votes_text(rows: pl.DataFrame, sep: str = ", ") -> str:
    text = sep.join(f"{r['candidate_key']}: {num(r['votes'])}" for r in rows.iter_rows(named=True))
    first = rows.row(0, named=True)
    if not first["complete"]:
        text += f" ({num(first['tps_covered'])} of {num(first['tps_total'])} TPS)"
    return text


def _region_groups(report: Report):
    regions = report.regions
    if regions.is_empty():
        return []
    order = {key: i for i, key in enumerate(zip(report.races["election"], report.races["contest"]))}
    groups = [((g["election"][0], g["contest"][0]), g) for g in regions.partition_by(["election", "contest"], maintain_order=True)]
    return sorted(groups, key=lambda item: order.get(item[0], len(order)))


def _quality_markdown(report: Report) -> list[str]:
    q = report.quality
    out = []
    run = q["last_run"].row(0, named=True) if q["last_run"].height else None
    if run:
        out.append(f"- Last run `{run['run_id']}` ({run['status']}): {num(run['records_read'])} records read = {num(run['records_loaded'])} loaded + {num(run['records_quarantined'])} quarantined.")
    for r in q["quarantine"].iter_rows(named=True):
        out.append(f"- Not loaded: `{r['source_file']}` ({r['rule']}): {r['reason']}")
    for r in q["total_checks"].iter_rows(named=True):
        out.append(f"- Official recap `{r['source_file']}`: total row {r['total_code']} says {num(r['total_votes'])} for {r['nomor_urut']:02d}, its rows sum to {num(r['rows_votes'])} ({signed(r['difference'])}).")
    for r in q["submissions"].iter_rows(named=True):
        out.append(f"- Internal count {r['election']}/{r['contest']}: {num(r['codes_with_several_submissions'])} codes with several submissions, {num(r['codes_whose_submissions_disagree'])} whose submissions disagree (the latest is used).")
    for r in q["sirekap_progress"].iter_rows(named=True):
        out.append(f"- SIREKAP {r['election']}/{r['contest']}/{r['race_code']} {r['race_name'] or ''}: {num(r['sirekap_tps_reported'])} of {num(r['sirekap_tps_total'])} TPS published.")
    if "tps_status" in q:
        for r in q["tps_status"].iter_rows(named=True):
            out.append(f"- TPS checks {r['election']}/{r['contest']}: {num(r['tps'])} TPS {r['status']}.")

    return out


# --- CSV -----------------------------------------------------------------------------------------


def write_csv(con, out_dir: Path) -> list[Path]:
    """The report's tables, whole, one CSV each (lists joined with spaces)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("outcome_risk", "reconciliation", "tps_reconciliation"):
        frame = con.execute(f"select * from {name}").pl()
        frame = frame.with_columns(pl.col(c).list.join(" ") for c, t in frame.schema.items() if isinstance(t, pl.List))
        path = out_dir / f"{name}.csv"
        frame.write_csv(path)
        written.append(path)
    return written


def write_report(con, fmt: str, out_dir: Path, warehouse: str = "", lang: str = "id") -> list[Path]:
    """Write the report in one format into out_dir: html is a folder of static pages (report/site.py)."""
    from report.data import collect
    from report.site import write_site

    if fmt == "html":
        return write_site(con, out_dir, lang, warehouse)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        report = collect(con, warehouse)
        written = write_csv(con, out_dir)
        path = out_dir / "discrepancies.csv"
        report.discrepancies.with_columns(pl.col("image_urls").list.join(" ")).write_csv(path)
        return written + [path]
    report = collect(con, warehouse)
    path = out_dir / "rekap-report.md"
    path.write_text(render_markdown(report), encoding="utf-8")
    return [path]

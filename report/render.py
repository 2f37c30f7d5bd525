"""Render a Report as one self-contained HTML file, as Markdown, or as CSV files.

The HTML needs nothing outside itself: styles are inline, charts are inline SVG, no script, no
font, no image. Its Content-Security-Policy forbids loading anything, so a slip (an external
stylesheet, a remote image) shows up as a blocked load, not as a page that quietly phones out.
"""

from __future__ import annotations

import re
from html import escape
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


def _present_sources(report: Report, race: dict) -> list[str]:
    votes = report.race_votes.filter(
        (pl.col("election") == race["election"]) & (pl.col("contest") == race["contest"]) & (pl.col("race_code") == race["race_code"])
    )
    return [s for s in SOURCES if s in set(votes["source"])]


def _stake_text(race: dict) -> str:
    parts = [f"{num(race['discrepancy_votes'])} the sources disagree on"]
    if race["unreported_votes"] is not None:
        parts.append(f"~{num(race['unreported_votes'])} in the {num(race['sirekap_tps_total'] - race['sirekap_tps_reported'])} TPS SIREKAP has not published")
    if race["flagged_votes"] is not None:
        parts.append(f"{num(race['flagged_votes'])} in flagged TPS")
    return "At stake: " + " + ".join(parts) + "."


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


# --- HTML ----------------------------------------------------------------------------------------

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:0;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 12px;border-bottom:2px solid #d9dde3;padding-bottom:4px}
h3{font-size:17px;margin:0 0 8px}small,.muted{color:#5b6470}
.race{background:#fff;border:1px solid #d9dde3;border-left:6px solid #8a94a0;border-radius:6px;padding:14px 18px;margin:0 0 14px}
.race.safe{border-left-color:#2e7d32}.race.at_risk{border-left-color:#ed8b00}.race.flips{border-left-color:#c62828}
.badge{display:inline-block;font-weight:700;font-size:13px;padding:2px 8px;border-radius:4px;color:#fff;margin-right:8px}
.badge.safe{background:#2e7d32}.badge.at_risk{background:#ed8b00}.badge.flips{background:#c62828}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 10px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6e9ee;vertical-align:top}th{font-size:13px;color:#5b6470;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.legend span{display:inline-block;margin-right:14px;font-size:13px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;border-radius:2px}
.status{font-size:12px;padding:1px 6px;border-radius:3px;background:#eef0f3;white-space:nowrap}
.status.mismatch{background:#fde0e0}.status.partial{background:#fff1d6}.status.match{background:#e3f3e4}
.reason{margin:6px 0 0}ul.quality li{margin:3px 0}
"""


def render_html(report: Report) -> str:
    body = [f"<header><h1>Reconciliation report</h1><p class=\"muted\">Internal count vs SIREKAP vs the official recap (D.HASIL) · generated {escape(report.generated_at)}"
            + (f" · warehouse <code>{escape(report.warehouse)}</code>" if report.warehouse else "") + "</p></header>"]  # fmt: skip
    if report.empty:
        body.append("<p>No race has numbers yet: load SIREKAP data or a count file with <code>rekap run</code>.</p>")
    else:
        body.append('<section id="races"><h2>Races</h2>')
        body += [_race_html(report, race) for race in report.races.iter_rows(named=True)]
        body.append("</section>")
        body.append('<section id="regions"><h2>By kab/kota</h2>')
        body += [_regions_html(report, key, group) for key, group in _region_groups(report)]
        body.append("</section>")
        body.append(_discrepancies_html(report))
    body.append('<section id="quality"><h2>Data quality</h2><ul class="quality">' + "".join(f"<li>{_md_inline(line[2:])}</li>" for line in _quality_markdown(report)) + "</ul></section>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>rekap · reconciliation report</title><style>" + CSS + "</style></head>\n<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n"
    )


def _md_inline(text: str) -> str:
    """The data-quality lines are shared with Markdown: turn their `code` into <code>."""
    parts = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _race_html(report: Report, race: dict) -> str:
    names = _names(report, race)
    present = _present_sources(report, race)
    verdict = race["verdict"]
    if race["leader_nomor_urut"] is not None or race["leader_candidate_id"] is not None:
        key = f"{race['leader_nomor_urut']:02d}" if race["leader_nomor_urut"] is not None else f"id {race['leader_candidate_id']}"
        agreed = "all three sources" if len(present) == 3 else " and ".join(SHORT[s] for s in present)
        headline = f"Leader: <b>{escape(_leader_text(key, names))}</b> under {escape(agreed)}."
    elif verdict == "flips":
        headline = "<b>The sources disagree on who leads.</b>"
    else:
        headline = "No source names a leader yet."
    rows = []
    for source, leader, margin, share in _margins(race):
        if source not in present:
            continue
        coverage = ""
        if source == "sirekap" and race["sirekap_tps_total"]:
            coverage = f"{num(race['sirekap_tps_reported'])} of {num(race['sirekap_tps_total'])} TPS"
        rows.append(f"<tr><td>{escape(SOURCE_LABELS[source])}</td><td>{escape(_leader_text(leader, names))}</td>"
                    f"<td class=\"n\">{num(margin)}</td><td class=\"n\">{pct(share)}</td><td>{coverage}</td></tr>")  # fmt: skip
    return (
        f'<article class="race {verdict}" id="race-{escape(race_id(race).replace("/", "-"))}">'
        f"<h3>{escape(race_title(race))} <small>{escape(race_id(race))}</small></h3>"
        f'<p class="headline"><span class="badge {verdict}">{VERDICT_TEXT[verdict]}</span>{headline}</p>'
        '<table class="margins"><tr><th>Source</th><th>Leader</th><th class="n">Margin (votes)</th><th class="n">Margin</th><th>Coverage</th></tr>'
        + "".join(rows) + "</table>"
        f'<p class="reason">{escape(race["verdict_reason"])}.<br><span class="muted">{escape(_stake_text(race))}</span></p></article>'
    )


def _regions_html(report: Report, key: tuple[str, str], group: pl.DataFrame) -> str:
    election, contest = key
    races = report.races.filter((pl.col("election") == election) & (pl.col("contest") == contest))
    title = f"{races['contest_name'][0]} ({election} / {contest})" if races.height else f"{election} / {contest}"
    biggest = max((g["votes"].sum() for g in group.partition_by(["region_code", "source"])), default=1) or 1
    legend_names: dict[str, dict] = {}
    rows = []
    for region in group.partition_by(["region_code"], maintain_order=True):
        first = region.row(0, named=True)
        race = next(iter(races.filter(pl.col("race_code") == first["race_code"]).iter_rows(named=True)), None)
        names = _names(report, race) if race else {}
        if race and race["race_code"] != first["region_code"]:
            legend_names = names
        cells = []
        for source in SOURCES:
            rows_of = region.filter(pl.col("source") == source)
            cells.append(f"<td>{escape(_votes_text(rows_of, ' · ')) if rows_of.height else '—'}</td>")
        rows.append(f"<tr><td>{escape(first['region_code'])} {escape(first['region_name'] or '')}</td>" + "".join(cells)
                    + f"<td>{_bars_svg(region, names, biggest)}</td></tr>")  # fmt: skip
    legend = ""
    if legend_names:
        legend = '<p class="legend">' + "".join(f'<span><i style="background:{info["colour"]}"></i>{escape(k)} {escape(info["name"])}</span>' for k, info in legend_names.items()) + "</p>"
    return (
        f"<h3>{escape(title)}</h3>{legend}<table><tr><th>Kab/kota</th>"
        + "".join(f"<th>{escape(SOURCE_LABELS[s])}</th>" for s in SOURCES)
        + "<th>Votes by source</th></tr>" + "".join(rows) + "</table>"
    )


def _bars_svg(region: pl.DataFrame, names: dict[str, dict], biggest: int) -> str:
    """One horizontal stacked bar per source, candidates as coloured segments, length = the source's total."""
    label_w, bar_w, row_h, gap = 58, 190, 13, 4
    height = len(SOURCES) * (row_h + gap)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 64}" height="{height}" role="img" aria-label="votes by source">']
    for i, source in enumerate(SOURCES):
        y = i * (row_h + gap)
        parts.append(f'<text x="0" y="{y + row_h - 2}" font-size="11" fill="#5b6470">{SHORT[source]}</text>')
        rows = region.filter(pl.col("source") == source)
        if rows.is_empty():
            parts.append(f'<text x="{label_w}" y="{y + row_h - 2}" font-size="11" fill="#9aa3ad">no number</text>')
            continue
        x = float(label_w)
        for r in rows.iter_rows(named=True):
            width = bar_w * r["votes"] / biggest
            colour = names.get(r["candidate_key"], {}).get("colour", "#8a94a0")
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{row_h}" fill="{colour}"><title>{escape(SHORT[source])} {escape(r["candidate_key"])}: {num(r["votes"])}</title></rect>')
            x += width
        parts.append(f'<text x="{x + 4:.1f}" y="{y + row_h - 2}" font-size="11" fill="#1b1f24">{num(rows["votes"].sum())}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _discrepancies_html(report: Report) -> str:
    shown = report.discrepancies.filter(pl.col("level").is_in(RANKED_LEVELS)).head(DISCREPANCIES_SHOWN)
    head = ('<section id="discrepancies"><h2>Discrepancies, by their effect on the margin</h2>'
            '<p class="muted">Where two complete sources disagree. Effect on margin: how much the race\'s margin '
            '(leader minus runner-up) changes if the first source is right instead of the second. '
            f"Province, kab/kota and TPS rows; every level is in <code>reconciliation.csv</code>.</p>")  # fmt: skip
    if shown.is_empty():
        return head + "<p>No two complete sources disagree anywhere.</p></section>"
    rows = []
    for i, d in enumerate(shown.iter_rows(named=True), start=1):
        evidence = " ".join(f'<a href="{escape(u)}">form {j}</a>' for j, u in enumerate(d["image_urls"] or [], start=1))
        rows.append(f"<tr><td class=\"n\">{i}</td><td>{escape(d['election'])}/{escape(d['contest'])}/{escape(d['race_code'])}</td><td>{escape(d['level'])}</td>"
                    f"<td>{escape(d['region_code'])} {escape(d['region_name'] or '')}</td><td>{SHORT[d['source_a']]} − {SHORT[d['source_b']]}</td>"
                    f"<td>{escape(d['deltas'])}</td><td class=\"n\">{signed(d['margin_effect'])}</td><td>{evidence}</td></tr>")  # fmt: skip
    return (head + '<table><tr><th class="n">#</th><th>Race</th><th>Level</th><th>Region</th><th>Sources</th><th>Deltas</th>'
            '<th class="n">Effect on margin</th><th>Evidence</th></tr>' + "".join(rows) + "</table></section>")  # fmt: skip


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

"""The short data-quality report of a run: counts per rule, as Markdown.

Printed by the flow and published as its Prefect artifact; it only reads the built marts
(anomalies, tps_status, data_quality) and the rule tables, so it is a plain function of the
warehouse that tests call directly.
"""

from __future__ import annotations

import duckdb

from warehouse.storage import lake_tables

REQUIRED = ("ref_rules", "int_rule_checks", "anomalies", "tps_status", "data_quality")
COMPLETENESS = ("complete", "chart_only", "admin_only", "empty")
STATUSES = ("valid", "flagged", "incomplete", "empty")


def quality_summary(con: duckdb.DuckDBPyConnection) -> str:
    """Markdown: TPS completeness and status per contest, then one line per rule of the pack."""
    # int_rule_checks is a view (models stored as views are not among the lake's tables).
    views = con.execute("select view_name from duckdb_views() where database_name = current_database()").fetchall()
    present = lake_tables(con) | {name for (name,) in views}
    missing = [t for t in REQUIRED if t not in present]
    if missing:
        return f"## Data quality\n\nNo data-quality tables yet ({', '.join(missing)}): build the models first.\n"

    lines = ["## Data quality", ""]
    pack = con.execute("select any_value(rule_pack), count(*), count(*) filter (where enabled) from ref_rules").fetchone()
    lines.append(f"Rule pack `{pack[0]}`: {pack[1]} rules, {pack[2]} enabled.")
    lines.append("")

    tps = con.execute(
        """
        select election, contest, completeness, status, count(*)
        from tps_status group by all order by all
        """
    ).fetchall()
    contests: dict[tuple[str, str], dict[str, int]] = {}
    for election, contest, completeness, status, n in tps:
        counts = contests.setdefault((election, contest), {})
        counts[completeness] = counts.get(completeness, 0) + n
        counts[f"status:{status}"] = counts.get(f"status:{status}", 0) + n
    if contests:
        headers = [c.replace("_", " ") for c in COMPLETENESS] + [f"status {s}" for s in STATUSES]
        lines += ["| election | contest | TPS | " + " | ".join(headers) + " |",
                  "|---|---|--:|" + "--:|" * (len(COMPLETENESS) + len(STATUSES))]  # fmt: skip
        for (election, contest), counts in contests.items():
            total = sum(counts.get(c, 0) for c in COMPLETENESS)
            cells = [f"{counts.get(c, 0):,}" for c in COMPLETENESS] + [f"{counts.get('status:' + s, 0):,}" for s in STATUSES]
            lines.append(f"| {election} | {contest} | {total:,} | " + " | ".join(cells) + " |")
    else:
        lines.append("No TPS files loaded: TPS rules had nothing to check.")
    lines.append("")

    rules = con.execute(
        """
        with checks as (
            select rule_id, count(*) as checked, count(*) filter (where broken) as flagged
            from int_rule_checks group by rule_id
        ),
        votes as (
            select rule_id, sum(votes_in_flagged_tps) as votes
            from data_quality where region_code = '0' group by rule_id
        )
        select ref_rules.rule_id, ref_rules.severity, ref_rules.enabled,
               coalesce(checks.checked, 0), coalesce(checks.flagged, 0), coalesce(votes.votes, 0)
        from ref_rules
        left join checks on checks.rule_id = ref_rules.rule_id
        left join votes on votes.rule_id = ref_rules.rule_id
        order by coalesce(checks.flagged, 0) = 0, ref_rules.rule_id
        """
    ).fetchall()
    lines += ["| rule | severity | checked | flagged | votes in flagged TPS |", "|---|---|--:|--:|--:|"]
    for rule_id, severity, enabled, checked, flagged, votes in rules:
        shown = severity if enabled else f"{severity} (disabled)"
        lines.append(f"| {rule_id} | {shown} | {checked:,} | {flagged:,} | {votes:,} |")
    findings = con.execute("select count(*), count(distinct code) from anomalies").fetchone()
    lines += [
        "",
        f"{findings[0]:,} findings on {findings[1]:,} nodes. Flagged TPS stay in every total; "
        "see `select * from anomalies`, `tps_status` and `data_quality`.",
    ]
    return "\n".join(lines) + "\n"

"""The rule pack file: loading, the errors a user sees when editing it, how a run picks it up,
and the data-quality summary a run prints."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from flows.settings import Settings
from schemas.rules import DEFAULT_RULES, KNOWN_RULES, RulesError, load_rules
from tests.shared import SERIBU
from tests.test_rules_fixtures import copy_pack, load_runs, rows
from warehouse import models
from warehouse.quality import quality_summary


def test_the_default_pack_covers_every_rule_with_its_documented_thresholds() -> None:
    pack = load_rules()
    assert pack.path == DEFAULT_RULES
    assert [r.rule_id for r in pack.rules] == list(KNOWN_RULES)
    assert pack.rule("candidate_over_cap").thresholds == {"pemilu": 300.0, "pilkada": 600.0}
    assert pack.rule("votes_over_dpt").thresholds == {"tolerance": 0.02}
    assert all(r.enabled and r.severity in ("error", "warning", "info") for r in pack.rules)
    assert all("{observed}" in r.message_en and "{observed}" in r.message_id for r in pack.rules)


@pytest.mark.parametrize(
    ("edit", "key", "says"),
    [
        (lambda t: t.replace('severity = "error"', 'severity = "fatal"', 1), "rules.c1_candidate_sum.severity", "not one of"),
        (lambda t: t.replace("[rules.c1_candidate_sum]", "[rules.c1_candidate_summ]"), "rules.c1_candidate_summ", "unknown rule id"),
        (lambda t: t.replace("pemilu = 300\n", ""), "rules.candidate_over_cap.thresholds.pemilu", "required"),
        (lambda t: t.replace("pemilu = 300", 'pemilu = "300"'), "rules.candidate_over_cap.thresholds.pemilu", "not a number"),
        (lambda t: t.replace("tolerance = 0.02", "tolerance = -0.02"), "rules.votes_over_dpt.thresholds.tolerance", "not a number >= 0"),
        (lambda t: t.replace("tolerance = 0.02", "tolerance = 0.02\ntolerence = 0.1"), "rules.votes_over_dpt.thresholds.tolerence", "unknown threshold"),
        (lambda t: t.replace("not to the valid votes {expected}", "not to {expectd}"), "rules.c1_candidate_sum.message_en", "unknown placeholder"),
        (lambda t: t.replace('message_id = "Jumlah suara paslon', 'mesage_id = "Jumlah suara paslon'), "rules.c1_candidate_sum.mesage_id", "unknown key"),
        (lambda t: t.replace("[rules.c1_candidate_sum]", "[rules.c1_candidate_sum]\nenabled = \"no\""), "rules.c1_candidate_sum.enabled", "true or false"),
        (lambda t: t.replace('severity = "error"', 'severity = "error"\nseverity = "warning"', 1), "", "not valid TOML"),
    ],
    ids=["severity", "rule id typo", "missing threshold", "threshold as text", "negative", "threshold typo",
         "placeholder typo", "key typo", "enabled as text", "broken toml"],
)  # fmt: skip
def test_a_bad_edit_names_the_file_and_the_key(tmp_path: Path, edit, key: str, says: str) -> None:
    pack = copy_pack(tmp_path, edit)
    with pytest.raises(RulesError) as caught:
        load_rules(pack)
    message = str(caught.value)
    assert message.startswith(f"{pack}: ") and key in message and says in message, message


def test_a_rule_left_out_must_be_disabled_instead(tmp_path: Path) -> None:
    text = DEFAULT_RULES.read_text()
    start = text.index("[rules.psu_revote]")
    pack = tmp_path / "rules.toml"
    pack.write_text(text[:start] + text[text.index("# --- Reference", start):])
    with pytest.raises(RulesError, match=re.escape(f"{pack}: rules.psu_revote: missing (to switch a rule off, keep it with enabled = false)")):
        load_rules(pack)


def test_a_missing_pack_file_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=re.escape(f"{tmp_path / 'nope.toml'}: rule pack not found")):
        load_rules(tmp_path / "nope.toml")


def test_rekap_rules_in_the_environment_reaches_the_settings(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("REKAP_RULES", raising=False)
    assert Settings.from_env().rules is None
    monkeypatch.setenv("REKAP_RULES", str(tmp_path / "mine.toml"))
    assert Settings.from_env().rules == tmp_path / "mine.toml"
    assert Settings.from_env(rules=str(tmp_path / "other.toml")).rules == tmp_path / "other.toml"


def test_a_bad_pack_stops_the_build_before_any_table_changes(tmp_path: Path) -> None:
    con = load_runs(tmp_path / "w.duckdb", [[SERIBU]])
    before = rows(con, "select count(*) from anomalies")
    bad = copy_pack(tmp_path, lambda t: t.replace("tolerance = 0.02", "tolerance = -1"))
    with pytest.raises(RulesError, match="tolerance"):
        models.build(con, rules_path=bad)
    assert rows(con, "select count(*) from anomalies") == before
    assert rows(con, "select value from ref_rule_params where rule_id = 'votes_over_dpt'") == [(0.02,)]
    con.close()


def test_the_pack_is_in_the_warehouse_with_its_columns_documented(tmp_path: Path) -> None:
    con = duckdb.connect()
    from warehouse.db import ensure_schema

    ensure_schema(con)
    models.build(con)  # no data at all: every model still builds, every mart is empty
    assert rows(con, "select count(*), count(distinct rule_id) from ref_rules") == [(len(KNOWN_RULES), len(KNOWN_RULES))]
    assert rows(con, "select value from ref_rule_params where rule_id = 'candidate_over_cap' and param = 'pilkada'") == [(600.0,)]
    undocumented = rows(con, """select table_name, column_name from duckdb_columns()
                                where table_name in ('ref_rules', 'ref_rule_params', 'anomalies', 'tps_status', 'data_quality')
                                  and comment is null""")
    assert undocumented == []
    assert rows(con, "select count(*) from anomalies") == [(0,)]
    con.close()


def test_the_summary_counts_findings_per_rule(tmp_path: Path) -> None:
    con = load_runs(tmp_path / "w.duckdb", [[SERIBU]])
    report = quality_summary(con)
    con.close()
    assert report.startswith("## Data quality")
    # Issue 3's figures for these 88 TPS: 59 / 22 / 1 / 6, then 5 sums off and 1 candidate above 300.
    assert "| pemilu2024 | ppwp | 88 | 59 | 22 | 1 | 6 |" in report
    assert re.search(r"^\| c1_candidate_sum \| error \| \d+ \| 5 \|", report, re.M)
    assert re.search(r"^\| candidate_over_cap \| error \| 81 \| 1 \| 1,223 \|", report, re.M)  # 81 TPS with a chart; 71+641+511
    assert all(f"| {rule_id} |" in report for rule_id in KNOWN_RULES)


def test_the_summary_of_an_unbuilt_warehouse_says_so() -> None:
    assert "build the models first" in quality_summary(duckdb.connect())

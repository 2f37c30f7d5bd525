"""Issue 3, done-when 3: both real Kaltim Pilkada snapshots pass every roll-up check and hold no
withheld node. The consistency is first checked here on the raw JSON, independently."""

from __future__ import annotations

import orjson
import pytest

from tests.shared import KALTIM_0100, KALTIM_1015
from tests.test_rules_fixtures import load_runs, rows


def candidate_counts(block: dict) -> dict[str, int]:
    return {k: v for k, v in block.items() if k.isdigit()}


@pytest.mark.parametrize("snapshot", [KALTIM_0100, KALTIM_1015], ids=["01-00", "10-15"])
def test_each_parent_row_equals_the_childs_own_file_in_the_raw_json(snapshot) -> None:
    for contest in ("pkwkp", "pkwkk"):
        files = {f.stem: orjson.loads(f.read_bytes())["tungsura"] for f in (snapshot / "pilkada" / "hhcw" / contest).rglob("*.json")}
        compared = 0
        for node in files.values():
            for child, row in node["table"].items():
                if child in files:
                    assert candidate_counts(row) == candidate_counts(files[child]["chart"]), (contest, child)
                    compared += 1
        assert compared == 10  # the ten kab/kota rows of the province file


@pytest.fixture(scope="module", params=["two runs", "one run"])
def kaltim(request, tmp_path_factory):
    runs = [[KALTIM_0100], [KALTIM_1015]] if request.param == "two runs" else [[KALTIM_0100, KALTIM_1015]]
    con = load_runs(tmp_path_factory.mktemp("kaltim") / "w.duckdb", runs)
    yield con
    con.close()


def test_every_rollup_check_runs_and_passes(kaltim) -> None:
    got = rows(kaltim, """select rule_id, count(*), count(*) filter (where broken) from int_rule_checks
                          where category = 'rollup' group by rule_id""")
    # Ten kab/kota files per contest against their rows in the province file; no TPS files loaded.
    assert got == [("rollup_parent_row", 20, 0)]


def test_no_node_is_withheld_and_nothing_is_flagged(kaltim) -> None:
    assert rows(kaltim, "select count(*) from int_node_versions where withheld") == [(0,)]
    assert rows(kaltim, "select count(*), count(*) filter (where broken) from int_rule_checks where rule_id = 'withheld_counts'") == [(22, 0)]
    assert rows(kaltim, "select count(*) from anomalies") == [(0,)]


def test_totals_are_the_1015_snapshot_and_flagged_columns_say_no_tps_was_loaded(kaltim) -> None:
    # README figures for 10:15; no TPS file is loaded, so nothing could be checked: null, not 0.
    assert rows(kaltim, "select candidate_id, votes, votes_flagged, tps_flagged from province_totals order by candidate_id") == [
        ("1000054", 766_850, None, None), ("1000055", 962_804, None, None)
    ]

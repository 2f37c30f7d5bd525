"""Issue 2, "Done when" 1-4: the whole flow through the `rekap` CLI on the real exports in ../shared/data.

Every expected number comes from ../shared/data/README.md or the issue text, not from a run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from warehouse.db import connect
from tests.shared import KALTIM_0100, KALTIM_1015, SERIBU, write_json


def rows(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def kaltim_1015(tmp_path_factory, prefect_server) -> Path:
    from click.testing import CliRunner

    from flows.cli import cli

    warehouse = tmp_path_factory.mktemp("kaltim") / "rekap.duckdb"
    result = CliRunner().invoke(cli, ["run", "--sirekap", str(KALTIM_1015), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    return warehouse


def test_governor_province_totals(kaltim_1015: Path) -> None:
    got = rows(
        kaltim_1015,
        """select nomor_urut, candidate_id, votes, share_pct, rank, tps_reported, tps_total, province_name
           from province_totals where election = 'pilkada2024' and contest = 'pkwkp' and province_code = '64'
           order by nomor_urut""",
    )
    assert got == [
        (1, "1000054", 766_850, 44.34, 2, 6_048, 6_274, "KALIMANTAN TIMUR"),
        (2, "1000055", 962_804, 55.66, 1, 6_048, 6_274, "KALIMANTAN TIMUR"),
    ]


def test_governor_kabkota_winners(kaltim_1015: Path) -> None:
    got = rows(
        kaltim_1015,
        """select region_code, region_name, winner_nomor_urut from region_winners
           where contest = 'pkwkp' and level = 'kabkota' order by region_code""",
    )
    assert len(got) == 10
    assert {code for code, _, winner in got if winner == 1} == {"6411", "6472"}
    assert sum(1 for *_, winner in got if winner == 2) == 8
    names = {code: name for code, name, _ in got}
    assert names["6411"] == "MAHAKAM ULU" and names["6472"] == "KOTA SAMARINDA"


def test_governor_kecamatan_rows(kaltim_1015: Path) -> None:
    (count,) = rows(kaltim_1015, "select count(*) from region_winners where contest = 'pkwkp' and level = 'kecamatan'")[0]
    assert count == 105


def test_regent_mayor_races_are_one_per_kabkota(kaltim_1015: Path) -> None:
    got = rows(
        kaltim_1015,
        """select region_code, race_code, winner_name, runner_up_name from region_winners
           where contest = 'pkwkk' and level = 'kabkota' order by region_code""",
    )
    assert len(got) == 10
    assert all(code == race and winner for code, race, winner, _ in got)
    samarinda = next(r for r in got if r[0] == "6472")
    assert "ANDI HARUN" in samarinda[2]
    assert samarinda[3] == "KOLOM KOSONG"
    # pkwkk's province file mixes ten races: it must not become a "winner" row.
    assert rows(kaltim_1015, "select count(*) from region_winners where contest = 'pkwkk' and level = 'provinsi'")[0][0] == 0
    assert rows(kaltim_1015, "select count(*) from province_totals where contest = 'pkwkk'")[0][0] == 0


def test_run_is_recorded_and_balances(kaltim_1015: Path) -> None:
    (status, read, loaded, quarantined, files), = rows(
        kaltim_1015, "select status, records_read, records_loaded, records_quarantined, files_read from runs"
    )
    files_on_disk = sum(1 for _ in KALTIM_1015.rglob("*.json"))
    assert (status, read, loaded, quarantined, files) == ("succeeded", files_on_disk, files_on_disk, 0, files_on_disk)


def test_every_total_traces_to_its_file_and_run(kaltim_1015: Path) -> None:
    (source_file, run_id), = rows(
        kaltim_1015, "select distinct source_file, source_run_id from province_totals where contest = 'pkwkp'"
    )
    # The loader records resolved paths (../shared may be a symbolic link).
    assert source_file == str((KALTIM_1015 / "pilkada/hhcw/pkwkp/64.json").resolve())
    assert rows(kaltim_1015, "select count(*) from runs where run_id = ?", [run_id])[0][0] == 1


# The query documented in README.md ("What changed between two snapshots").
CHANGE_QUERY = """
with versions as (
    select raw_documents.version_id, raw_observations.observed_seq
    from raw_documents
    join raw_observations using (version_id)
    where raw_documents.kind = 'node' and raw_documents.election = ? and raw_documents.contest = ?
        and raw_documents.code = ?
),
ordered as (
    select version_id, row_number() over (order by max(observed_seq) desc) as recency
    from versions group by version_id
)
select raw_node_votes.candidate_id,
       sum(raw_node_votes.votes) filter (where ordered.recency = 1)
         - sum(raw_node_votes.votes) filter (where ordered.recency = 2) as change
from ordered join raw_node_votes using (version_id)
where ordered.recency <= 2
group by raw_node_votes.candidate_id
order by raw_node_votes.candidate_id
"""


def test_two_snapshots_keep_both_versions_and_reload_adds_nothing(rekap, tmp_path: Path) -> None:
    warehouse = tmp_path / "snapshots.duckdb"
    rekap("run", "--sirekap", KALTIM_0100, "--warehouse", warehouse)
    rekap("run", "--sirekap", KALTIM_1015, "--warehouse", warehouse)

    versions = rows(
        warehouse,
        "select ts from raw_documents where kind = 'node' and contest = 'pkwkp' and code = '64' order by ts",
    )
    assert versions == [("2024-11-28 01:00:00",), ("2024-11-28 10:15:04",)]
    assert rows(warehouse, "select votes from province_totals where contest = 'pkwkp' order by nomor_urut") == [
        (766_850,), (962_804,)
    ]
    assert rows(warehouse, CHANGE_QUERY, ["pilkada2024", "pkwkp", "64"]) == [("1000054", 8_524), ("1000055", 10_619)]

    tables = ["raw_documents", "raw_observations", "raw_nodes", "raw_node_votes", "raw_child_rows", "raw_child_votes"]
    before = {t: rows(warehouse, f"select count(*) from {t}")[0][0] for t in tables}
    rekap("run", "--sirekap", KALTIM_1015, "--warehouse", warehouse)
    after = {t: rows(warehouse, f"select count(*) from {t}")[0][0] for t in tables}
    assert after == before
    last = rows(warehouse, "select versions_new, observations_new from runs order by started_at desc limit 1")
    assert last == [(0, 0)]


def test_presidential_tps_mirror_keeps_missing_apart_from_zero(rekap, tmp_path: Path) -> None:
    warehouse = tmp_path / "seribu.duckdb"
    rekap("run", "--sirekap", SERIBU, "--warehouse", warehouse)

    assert rows(warehouse, "select count(*), count(*) filter (where has_chart) from int_nodes where node_type = 'tps'") == [(88, 81)]
    got = rows(
        warehouse,
        """select nomor_urut, votes, tps_reported, tps_total from province_totals
           where election = 'pemilu2024' and contest = 'ppwp' and province_code = '31' order by nomor_urut""",
    )
    assert got == [(1, 6_418, 81, 88), (2, 8_613, 81, 88), (3, 2_635, 81, 88)]
    # The 7 TPS without a chart: rows with no numbers (null), never zeros.
    no_data = rows(
        warehouse,
        """select count(*), count(valid_votes), count(winner_nomor_urut), sum(tps_reported)
           from region_winners where level = 'tps' and valid_votes is null""",
    )
    assert no_data == [(7, 0, 0, 0)]
    assert rows(warehouse, "select count(*) from region_winners where level = 'tps' and valid_votes = 0") == [(0,)]


def test_bad_files_go_to_quarantine_and_the_run_balances(rekap, tmp_path: Path) -> None:
    mirror = tmp_path / "mixed"
    good = sorted((SERIBU / "pemilu/hhcw/ppwp/31/3101/310101/3101011001").glob("*.json"))[:3]
    for path in good:
        target = mirror / path.relative_to(SERIBU)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    folder = mirror / "pemilu/hhcw/ppwp/31/3101/310101/3101011001"
    (folder / "3101011001901.json").write_bytes(b'{"chart": {"100025": 12, ')  # cut off mid-file
    write_json(
        folder / "3101011001902.json",
        {"chart": {"100025": 10, "100026": -4, "100027": 3}, "administrasi": None, "psu": None, "ts": "2024-02-15 10:00:00"},
    )

    result = rekap("run", "--sirekap", mirror, "--warehouse", tmp_path / "q.duckdb")
    assert "2 quarantined" in result.output

    quarantined = rows(tmp_path / "q.duckdb", "select node_code, rule, reason from quarantine order by node_code")
    assert [(code, rule) for code, rule, _ in quarantined] == [
        ("3101011001901", "not_json"),
        ("3101011001902", "greater_than_or_equal_to(0)"),
    ]
    assert "-4" in quarantined[1][2] and "votes" in quarantined[1][2]
    assert rows(tmp_path / "q.duckdb", "select records_read, records_loaded, records_quarantined, status from runs") == [
        (5, 3, 2, "succeeded")
    ]
    # Nothing of the negative node was loaded, not even its valid counts.
    assert rows(tmp_path / "q.duckdb", "select count(*) from raw_documents where code = '3101011001902'") == [(0,)]

"""Readers of count files (internal count, official recap): formats, column names, values, refusals.

Every file here is written by hand in the test; expected numbers are the cells as typed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from flows.sources.counts import ColumnConfig, CountFileError
from flows.sources.internal import read_internal
from flows.sources.official import read_official, total_mismatches
from schemas.counts import check_count_table
from tests.shared import CLAIM, OFFICIAL_RECAP, write_xlsx


def votes_of(table) -> dict[tuple[str, int], int]:
    joined = table.votes.join(table.rows.select("row_number", "code"), on="row_number")
    return {(code, ballot): votes for code, ballot, votes in joined.select("code", "nomor_urut", "votes").iter_rows()}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_real_claim_keeps_an_empty_cell_unknown() -> None:
    table = read_internal(CLAIM)
    assert votes_of(table) == {("64", 1): 793_332, ("64", 2): 997_344, ("6402", 2): 214_374}
    assert table.columns == {"kode_wilayah": "code", "nama_wilayah": "name", "suara_paslon_01": "candidate 01",
                             "suara_paslon_02": "candidate 02", "sumber": "source_note", "dilaporkan": "submitted_at"}  # fmt: skip
    assert table.rows["submitted_at"].to_list() == [datetime(2024, 11, 30)] * 2
    assert check_count_table(table) == []


def test_the_real_recap_finds_its_total_row_by_code() -> None:
    table = read_official(OFFICIAL_RECAP)
    assert table.rows.filter(pl.col("is_total"))["code"].to_list() == ["64"]
    assert table.ballot_labels == {1: "isran_hadi_01", 2: "rudy_seno_02"}
    assert votes_of(table)[("64", 1)] == 793_793 and votes_of(table)[("6402", 2)] == 214_112
    assert total_mismatches(table) == []  # the ten rows sum exactly to the total (data README)
    assert table.columns["winner"] == "ignored"


def test_a_total_row_that_does_not_add_up_is_reported(tmp_path: Path) -> None:
    recap = write(tmp_path / "d.csv", "kode,nama,paslon_01,paslon_02\n6401,A,10,20\n6402,B,5,7\n64,TOTAL,15,28\n")
    assert total_mismatches(read_official(recap)) == [(2, 28, 27)]


def test_a_total_row_without_code_gets_the_common_parent(tmp_path: Path) -> None:
    recap = write(tmp_path / "d.csv", "kode_kec;nama;01_anies;02_prabowo\n310101;X;1.234;2\n310102;Y;10;20\n;JUMLAH;1.244;22\n")
    table = read_official(recap)
    assert table.rows.filter(pl.col("is_total"))["code"].to_list() == ["3101"]
    assert votes_of(table)[("310101", 1)] == 1_234  # Indonesian thousands separator
    assert total_mismatches(table) == []


def test_long_form_with_several_submissions_keeps_them_all(tmp_path: Path) -> None:
    counts = write(tmp_path / "l.csv", "kode_tps,paslon,suara,saksi,dikirim\n"
                   "6401012001001,01,10,A,2024-11-27 14:00\n6401012001001,02,20,A,2024-11-27 14:00\n"
                   "6401012001001,Paslon 01,12,A,2024-11-27 15:30\n6401012001001,2,20,A,2024-11-27 15:30\n"
                   "6401012001002,1,,B,27/11/2024 16:00\n6401012001002,2,5,B,27/11/2024 16:00\n")  # fmt: skip
    table = read_internal(counts)
    assert table.rows.select("row_number", "code", "witness_id").rows() == [
        (2, "6401012001001", "A"), (4, "6401012001001", "A"), (6, "6401012001002", "B")
    ]
    assert table.votes.select("row_number", "nomor_urut", "votes").rows() == [(2, 1, 10), (2, 2, 20), (4, 1, 12), (4, 2, 20), (7 - 1, 2, 5)]
    assert table.rows["submitted_at"].to_list()[2] == datetime(2024, 11, 27, 16, 0)


def test_xlsx_and_parquet_read_like_csv(tmp_path: Path) -> None:
    rows = [["Kode Wilayah", "Suara Paslon 01", "Suara Paslon 02"], [6402, None, 214374], ["64.02.01", 100, 200.0]]
    xlsx = read_internal(write_xlsx(tmp_path / "c.xlsx", rows))
    assert xlsx.file_format == "xlsx"
    assert votes_of(xlsx) == {("6402", 2): 214_374, ("640201", 1): 100, ("640201", 2): 200}
    frame = pl.DataFrame({"kode": ["6402", "640201"], "suara_paslon_01": [None, 100], "suara_paslon_02": [214374, 200]})
    frame.write_parquet(tmp_path / "c.parquet")
    assert votes_of(read_internal(tmp_path / "c.parquet")) == votes_of(xlsx)


def test_a_column_configuration_adds_names_and_the_race(tmp_path: Path) -> None:
    counts = write(tmp_path / "c.csv", "tps_id,kandidat_a_1,kandidat_b_2\n6401012001001,3,4\n")
    with pytest.raises(CountFileError, match="'tps_id' is not a known column"):
        read_internal(counts)
    config = write(tmp_path / "cols.toml", 'contest = "pkwkp"\nelection = "pilkada2024"\n[fields]\ncode = ["tps_id"]\n')
    loaded = ColumnConfig.load(config)
    assert (loaded.election, loaded.contest) == ("pilkada2024", "pkwkp")
    assert votes_of(read_internal(counts, loaded)) == {("6401012001001", 1): 3, ("6401012001001", 2): 4}
    with pytest.raises(ValueError, match="unknown keys"):
        ColumnConfig.load(write(tmp_path / "bad.toml", "[fieldz]\n"))


@pytest.mark.parametrize(
    "text, rule, message",
    [
        ("kode,suara_paslon_01,remarks\n64,1,x\n", "unknown_column", "column 'remarks' is not a known column; expected code: kode_wilayah"),
        ("kode,kode_wilayah,suara_paslon_01\n64,64,1\n", "ambiguous_column", "columns 'kode' and 'kode_wilayah' both mean code"),
        ("kode,suara_paslon_01,paslon_01\n64,1,1\n", "ambiguous_column", "both read as candidate 01"),
        ("kode,suara_paslon_01,suara_paslon_02\n64,1,dua ribu\n6402,5,6\n", "not_a_count", "column 'suara_paslon_02' (votes for candidate 02) holds text, not a whole number: row 2 ('dua ribu')"),
        ("kode,suara_paslon_01\n64,12.5\n", "not_a_count", "row 2 ('12.5')"),
        ("nama,suara_paslon_01\nX,1\n", "missing_column", "no code column"),
        ("kode,nama\n64,X\n", "missing_column", "no candidate columns"),
        ("kode,suara_paslon_01,dikirim\n64,1,kemarin\n", "not_a_time", "'kemarin' is not a date/time"),
    ],
)
def test_a_file_that_cannot_be_read_says_which_column_and_row(tmp_path: Path, text: str, rule: str, message: str) -> None:
    with pytest.raises(CountFileError) as caught:
        read_internal(write(tmp_path / "bad.csv", text))
    assert caught.value.rule == rule
    assert message in caught.value.reason
    assert str(tmp_path / "bad.csv") in str(caught.value)


def test_the_contract_refuses_bad_codes_and_negative_counts(tmp_path: Path) -> None:
    table = read_internal(write(tmp_path / "c.csv", "kode,suara_paslon_01,suara_sah\n64021,1,1\n6402,2,-3\n"))
    failures = check_count_table(table)
    assert [(rule, locator) for rule, locator, _, _ in failures] == [
        ("not_a_region", "row 2, column kode"), ("greater_than_or_equal_to(0)", "row 3, column suara_sah")
    ]
    assert "'64021'" in failures[0][2] and "2, 4, 6, 10 or 13 digits" in failures[0][2]


def test_a_recap_lists_each_region_once_and_is_wide(tmp_path: Path) -> None:
    twice = read_official(write(tmp_path / "d.csv", "kode,p_01\n6401,1\n6401,2\n"))
    assert {rule for rule, *_ in check_count_table(twice)} == {"one_row_per_region"}
    with pytest.raises(CountFileError, match="column .paslon. is not a known column"):
        read_official(write(tmp_path / "l.csv", "kode,paslon,suara\n6401,1,5\n"))

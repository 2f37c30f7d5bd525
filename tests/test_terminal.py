"""Issue 9, terminal: every command's output within 100 columns, nothing cut, ballot numbers as
01, and `rekap query`'s formats (table, csv with list columns, json, jsonl, markdown, parquet, line)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
from warehouse.db import connect
from click.testing import CliRunner

from flows.cli import cli
from flows.settings import PROJECT_ROOT
from flows.terminal import WIDTH, fit_lines, records, short_name, table
from tests.shared import KALTIM_1015, load_and_build

LONG_NAME = "Dr. Ir. H. ISRAN NOOR, M.Si. - H. HADI MULYADI, S.Si., M.Si. and a running mate with a very long title indeed"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def too_wide(text: str) -> list[str]:
    return [line for line in text.splitlines() if len(line) > WIDTH]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("terminal") / "w.duckdb"
    load_and_build(path, KALTIM_1015).close()
    return path


# --- the table ---------------------------------------------------------------------------------


def test_a_long_cell_wraps_in_its_column_and_nothing_is_cut() -> None:
    frame = pl.DataFrame({"nomor_urut": [1, 2], "candidate_name": [LONG_NAME, "B"], "votes": [766_850, 962_804], "tie": [False, None]})
    text = table(frame)
    assert too_wide(text) == []
    lines = text.splitlines()
    # A number column's name wraps at its underscore rather than the name column losing room.
    assert lines[0].split() == ["nomor_", "candidate_name", "votes", "tie"] and lines[1].split() == ["urut"]
    assert lines[2].startswith("──") and lines[-1] == "(2 rows)"
    assert lines[3].split()[0] == "01" and "766,850" in lines[3] and lines[-2].split()[0] == "02"
    # Every word of the long name is there, in order, down its column's wrapped lines.
    start = lines[0].index("candidate_name")
    width = len(lines[2].split("  ")[1])
    first_row = lines[3:-2]
    assert " ".join(line[start : start + width] for line in first_row).split() == LONG_NAME.split()
    assert "—" in text  # a null is no data, never shown as 0 or left blank


def test_a_row_too_wide_for_columns_becomes_a_record() -> None:
    frame = pl.DataFrame({f"count_{i:02d}": [123_456_789_000 + i] for i in range(12)})
    text = table(frame)
    assert too_wide(text) == [] and text.splitlines()[0].startswith("── row 1 ")
    assert text.splitlines()[1].split() == ["count_00", "123,456,789,000"]
    assert len(text.splitlines()) == 1 + 12 + 1


def test_ballot_numbers_read_01_in_every_human_format() -> None:
    frame = pl.DataFrame({"winner_nomor_urut": [1], "no": [2], "tied_nomor_urut": [[1, 3]], "votes": [7]})
    assert "01" in table(frame) and "02" in table(frame) and "01, 03" in table(frame)
    assert "tied_nomor_urut    01, 03" in records(frame)


def test_short_names_drop_titles_and_degrees_but_keep_every_name() -> None:
    # The ballot names of ../shared/data's candidate masters, and what a reader calls each pair.
    assert short_name("Dr. Ir. H. ISRAN NOOR, M.Si. - H. HADI MULYADI, S.Si., M.Si.") == "ISRAN NOOR - HADI MULYADI"
    assert short_name("H. ANIES RASYID BASWEDAN, Ph.D. - Dr. (H.C.) H. A. MUHAIMIN ISKANDAR") == "ANIES RASYID BASWEDAN - MUHAIMIN ISKANDAR"
    assert short_name("H. PRABOWO SUBIANTO - GIBRAN RAKABUMING RAKA") == "PRABOWO SUBIANTO - GIBRAN RAKABUMING RAKA"
    assert short_name("KOLOM KOSONG") == "KOLOM KOSONG" and short_name(None) is None


def test_markdown_tables_in_messages_become_aligned_columns() -> None:
    text = fit_lines("intro\n| rule | severity | checked |\n|---|---|--:|\n| c1_candidate_sum | error | 1234 |\n" + "word " * 40)
    lines = text.splitlines()
    assert lines[1].split() == ["rule", "severity", "checked"] and lines[3].split() == ["c1_candidate_sum", "error", "1234"]
    assert too_wide(text) == [] and lines[-1].startswith("    word")


# --- rekap query -------------------------------------------------------------------------------


def test_query_csv_writes_list_columns_as_json(warehouse: Path) -> None:
    result = invoke("query", "--warehouse", warehouse, "--format", "csv", "select * from region_winners")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    # 1 province + 10 kab/kota + 105 kecamatan for the governor; the 10 regent races' kab/kota and kecamatan.
    governor = [r for r in rows if r["contest"] == "pkwkp"]
    assert {level: sum(r["level"] == level for r in governor) for level in ("provinsi", "kabkota", "kecamatan")} == {"provinsi": 1, "kabkota": 10, "kecamatan": 105}
    ties = [r["tied_nomor_urut"] for r in rows if r["tied_nomor_urut"]]
    assert all(isinstance(json.loads(t), list) for t in ties)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "markdown", "line", "table"])
def test_query_formats_carry_the_province_totals(warehouse: Path, fmt: str) -> None:
    sql = "select nomor_urut, votes, candidate_name from province_totals where contest = 'pkwkp' order by nomor_urut"
    result = invoke("query", "--warehouse", warehouse, "--format", fmt, sql)
    assert result.exit_code == 0, result.output
    out = result.output
    if fmt == "json":
        assert [r["votes"] for r in json.loads(out)] == [766_850, 962_804]
    elif fmt == "jsonl":
        assert [json.loads(line)["votes"] for line in out.splitlines()] == [766_850, 962_804]
    elif fmt == "markdown":
        assert out.splitlines()[0] == "| nomor_urut | votes | candidate_name |" and out.splitlines()[1] == "|---:|---:|---|"
        assert out.splitlines()[2].startswith("| 01 | 766,850 | Dr. Ir. H. ISRAN NOOR")
    elif fmt == "line":
        assert out.splitlines()[0].startswith("nomor_urut=01 votes=766,850 candidate_name=\"Dr. Ir. H. ISRAN NOOR")
    else:
        assert too_wide(out) == [] and "766,850" in out and "962,804" in out


def test_query_parquet_needs_an_output_file(warehouse: Path, tmp_path: Path) -> None:
    refused = invoke("query", "--warehouse", warehouse, "--format", "parquet", "select * from anomalies")
    assert refused.exit_code == 2 and "--output" in refused.output
    out = tmp_path / "winners.parquet"
    written = invoke("query", "--warehouse", warehouse, "--format", "parquet", "--output", out, "select * from region_winners")
    assert written.exit_code == 0, written.output
    con = duckdb.connect()
    assert pl.read_parquet(out).height == con.execute(f"select count(*) from read_parquet('{out}')").fetchone()[0] > 0


def test_query_errors_are_printed_whole(warehouse: Path) -> None:
    sql = "select " + ", ".join(f"no_such_column_{i}" for i in range(30)) + " from province_totals"
    with connect(warehouse, read_only=True) as con:
        with pytest.raises(duckdb.Error) as raised:
            con.execute(sql)
    result = invoke("query", "--warehouse", warehouse, sql)
    assert result.exit_code == 1
    assert " ".join(str(raised.value).split()) in " ".join(result.output.split())


# --- whole commands ----------------------------------------------------------------------------


def test_every_help_fits_100_columns() -> None:
    for name in ["", *cli.commands]:
        result = invoke(*([name] if name else []), "--help")
        assert result.exit_code == 0 and too_wide(result.output) == [], name


def test_make_run_output_fits_and_the_readme_query_works(rekap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` is `rekap demo`: its whole output within 100 columns, ballot numbers as 01, and
    the README's first `rekap query` example runs on the warehouse it leaves."""
    # Relative paths, as `make run` has them (a test's own tmp path alone can pass 100 characters).
    monkeypatch.chdir(tmp_path)
    warehouse = Path("demo.duckdb")
    result = rekap("demo", "--warehouse", warehouse, "--mirror", "demo/sirekap", "--out", "reports/demo")
    assert too_wide(result.output) == [], too_wide(result.output)
    totals = result.output.split("Province totals (province_totals")[1].split("Kab/kota winners")[0]
    assert re.search(r"^pilkada2024/pkwkp\s+64 KALIMANTAN( TIMUR)?\s+01\s+ISRAN NOOR", totals, re.M)
    assert re.search(r"^pilkada2024/pkwkp\s+64 KALIMANTAN( TIMUR)?\s+02\s+RUDY MAS'UD", totals, re.M)
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r'`rekap query ("[^"]+")`', readme).group(1)
    query = invoke("query", "--warehouse", warehouse, json.loads(example))
    assert query.exit_code == 0 and too_wide(query.output) == [], query.output
    assert "KALIMANTAN TIMUR" in query.output

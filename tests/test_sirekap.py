"""The pure parser: endpoint paths and payload shapes -> rows, and what it refuses."""

from __future__ import annotations

import polars as pl
import pytest

from flows.sirekap import Rows, StructuralError, child_rows, classify_path, parse_document
from schemas.raw import RAW_TABLES, to_frames


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("pilkada/hhcw/pkwkp/64.json", ("node", "pilkada2024", "pkwkp", "64")),
        ("snap/pilkada/hhcw/pkwkp/64/6402/640201.json", ("node", "pilkada2024", "pkwkp", "640201")),
        ("pemilu/hhcw/ppwp/31/3101/310101/3101011001/3101011001003.json", ("node", "pemilu2024", "ppwp", "3101011001003")),
        ("pemilu/hhcw/ppwp.json", ("node", "pemilu2024", "ppwp", "0")),
        ("pilkada/paslon/pkwkk.json", ("candidates", "pilkada2024", "pkwkk", "0")),
        ("pemilu/ppwp.json", ("candidates", "pemilu2024", "ppwp", "0")),
        ("wilayah/pilkada/pkwkp/64.json", ("regions", "pilkada2024", "pkwkp", "64")),
        ("wilayah/pemilu/ppwp/0.json", ("regions", "pemilu2024", "ppwp", "0")),
    ],
)
def test_paths_name_kind_election_contest_and_code(path: str, expected: tuple) -> None:
    doc = classify_path(path, 2024)
    assert (doc.kind, doc.election, doc.contest, doc.code) == expected


@pytest.mark.parametrize(
    "path",
    [
        "pilkada/hhcw/pkwkp/64/6502.json",  # 6502 is not inside 64
        "pilkada/hhcw/pkwkp/64/640.json",  # no level has 3 digits
        "pilkada/hr/pkwkp/64.json",  # the official-recap endpoint is not a count mirror
        "pileg/hhcw/pdpr/64.json",  # unknown election folder
        "pilkada/hhcw/pkwkp/64.txt",
    ],
)
def test_paths_outside_the_layout_are_refused(path: str) -> None:
    with pytest.raises(StructuralError) as err:
        classify_path(path, 2024)
    assert err.value.rule == "unknown_path"


def parse(path: str, payload) -> Rows:
    rows = Rows()
    parse_document(path, payload, 2024, rows)
    return rows


def test_pemilu_tps_skips_the_null_key_and_keeps_missing_blocks_missing() -> None:
    rows = parse(
        "pemilu/hhcw/ppwp/31/3101/310101/3101011001/3101011001001.json",
        {"chart": {"null": None, "100025": 7, "100026": 156, "100027": None}, "administrasi": None,
         "images": ["u1", None, None], "psu": None, "ts": "2024-02-15 09:00:00", "status_suara": True, "status_adm": False},
    )  # fmt: skip
    assert [(v["candidate_id"], v["votes"]) for v in rows.node_votes] == [("100025", 7), ("100026", 156)]
    (node,) = rows.nodes
    assert (node["level"], node["has_chart"], node["has_admin"], node["images"]) == ("tps", True, False, ["u1", None, None])
    assert rows.tps_admin == []


def test_tps_without_chart_has_no_vote_rows() -> None:
    rows = parse("pemilu/hhcw/ppwp/31/3101/310101/3101011001/3101011001002.json", {"chart": None, "administrasi": None, "ts": "x"})
    assert rows.node_votes == [] and rows.nodes[0]["has_chart"] is False and rows.nodes[0]["progress_reported"] == 0


def test_pilkada_aggregate_reads_tungsura_and_drops_rows_without_progress() -> None:
    rows = parse(
        "pilkada/hhcw/pkwkp/64/6411.json",
        {"tungsura": {
            "chart": {"1000054": 30, "1000055": 20, "progres": {"total": 3, "persen": 66.67, "progres": 2}},
            "table": {
                "641101": {"psu": "Reguler", "1000054": 30, "1000055": 20, "progres": {"total": 2, "persen": 100.0, "progres": 2}, "status_progress": True},
                "641102": {"psu": "Reguler", "progres": {"total": 1, "persen": 0.0, "progres": 0}, "status_progress": False},
            }},
         "psu": "Reguler", "progres": {"total": 3, "progres": 2}, "ts": "2024-11-28 10:15:04"},
    )  # fmt: skip
    (node,) = rows.nodes
    assert (node["node_type"], node["progress_total"], node["progress_reported"]) == ("aggregate", 3, 2)
    assert {(r["child_code"], r["has_votes"]) for r in rows.child_rows} == {("641101", True), ("641102", False)}
    assert {r["child_code"] for r in rows.child_votes} == {"641101"}


def test_a_document_seen_twice_is_parsed_once() -> None:
    rows = Rows()
    payload = {"chart": {"100025": 1}, "administrasi": None}
    path = "pemilu/hhcw/ppwp/31/3101/310101/3101011001/3101011001003.json"
    first = parse_document(path, payload, 2024, rows)[1]
    second = parse_document(path, dict(reversed(payload.items())), 2024, rows)[1]  # same content, other key order
    assert first == second and len(rows.nodes) == 1


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        ({"chart": {"100025": "12"}, "administrasi": None}, "wrong_type"),
        ({"chart": {"100025": 1.5}, "administrasi": None}, "wrong_type"),
        ({"chart": {"100025": True}, "administrasi": None}, "wrong_type"),
        ({"chart": None, "administrasi": {"suara_sah": "banyak"}}, "wrong_type"),
        ({"hasil": {}}, "unknown_shape"),
        ([1, 2, 3], "unknown_shape"),
        ({"chart": [1, 2], "administrasi": None}, "unknown_shape"),
    ],
)
def test_structural_failures_name_their_rule_and_leave_no_rows(payload, rule: str) -> None:
    rows = Rows()
    with pytest.raises(StructuralError) as err:
        parse_document("pemilu/hhcw/ppwp/31/3101/310101/3101011001/3101011001004.json", payload, 2024, rows)
    assert err.value.rule == rule
    assert rows.documents == [] and rows.nodes == [] and rows.node_votes == [] and rows.tps_admin == []


def test_aggregate_table_row_outside_the_node_is_refused() -> None:
    with pytest.raises(StructuralError, match="not a child region"):
        parse("pilkada/hhcw/pkwkp/64.json", {"tungsura": {"chart": {}, "table": {"6501": {"status_progress": False}}}})


def test_child_rows_of_both_shapes_are_what_the_parser_reads() -> None:
    pemilu_row = {"100025": 5, "psu": "Reguler", "status_progress": True}
    assert child_rows("31", {"chart": {"100025": 5}, "table": {"3101": pemilu_row}}) == {"3101": pemilu_row}
    pilkada_row = {"1000054": 3, "progres": {"total": 1, "persen": 100.0, "progres": 1}, "status_progress": True}
    assert child_rows("6411", {"tungsura": {"chart": {}, "table": {"641101": pilkada_row}}}) == {"641101": pilkada_row}
    assert child_rows("0", {"chart": {}, "table": {"31": pemilu_row}}) == {"31": pemilu_row}  # the national node
    with pytest.raises(StructuralError, match="not a child region"):
        child_rows("64", {"tungsura": {"table": {"6501": {}}}})
    with pytest.raises(StructuralError, match="no table"):
        child_rows("64", {"tungsura": {"chart": {}}})
    with pytest.raises(StructuralError, match="expected an object"):
        child_rows("64", {"tungsura": {"table": {"6401": [1]}}})


def test_candidate_masters_in_both_shapes() -> None:
    pemilu = parse("pemilu/ppwp.json", {"100025": {"nama": "A - B", "nomor_urut": 1, "warna": "#fff", "ts": "t"}})
    assert [(c["region_code"], c["candidate_id"], c["nomor_urut"]) for c in pemilu.candidates] == [(None, "100025", 1)]
    pilkada = parse("pilkada/paslon/pkwkk.json", {"6472": {"1001095": {"nama": "KOLOM KOSONG - ", "nomor_urut": 1}}})
    assert [(c["region_code"], c["candidate_id"], c["name"]) for c in pilkada.candidates] == [("6472", "1001095", "KOLOM KOSONG - ")]


def test_files_of_one_folder_are_each_checked_against_it() -> None:
    # classify_path reads a folder once and each file's own code after it: a good file and a
    # bad one in the same folder, in both orders, and the same folder as Windows writes it.
    good, outside, short = "pilkada/hhcw/pkwkp/64/6402/640201.json", "pilkada/hhcw/pkwkp/64/6402/650201.json", "pilkada/hhcw/pkwkp/64/6402/64020.json"
    for path in (good, outside, short, good):
        if path == good:
            assert classify_path(path, 2024) == classify_path(path.replace("/", "\\"), 2024)
            assert (classify_path(path, 2024).code, classify_path(path, 2024).election) == ("640201", "pilkada2024")
            continue
        with pytest.raises(StructuralError) as err:
            classify_path(path, 2024)
        assert err.value.rule == "unknown_path" and path in err.value.reason
    assert classify_path(good, 2029).election == "pilkada2029"  # the year is part of what a folder says
    with pytest.raises(StructuralError, match="not a pilkada contest"):
        classify_path("pilkada/hhcw/ppwp/64/6402.json", 2024)
    with pytest.raises(StructuralError, match="expected <election>/hhcw/<contest>"):
        classify_path("pilkada/hhcw/pkwkp/64/hhcw.json", 2024)


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        # The chart contradicts its table, found after every table row was read.
        ("pilkada/hhcw/pkwkp/64.json", {"tungsura": {"chart": {"1": 9}, "table": {"6401": {"1": 5, "status_progress": True}, "6402": {"1": 5, "status_progress": True}}}}),
        # The second table row is broken, the first was fine.
        ("pilkada/hhcw/pkwkp/64.json", {"tungsura": {"chart": {"1": 10}, "table": {"6401": {"1": 5, "status_progress": True}, "6402": {"1": "5"}}}}),
        ("wilayah/pilkada/pkwkp/64.json", [{"kode": "6401", "nama": "A"}, {"kode": "6402", "nama": 7}]),
        ("pilkada/paslon/pkwkk.json", {"6472": {"1": {"nama": "A", "nomor_urut": 1}, "2": {"nama": "B", "nomor_urut": 1}}}),
    ],
)
def test_a_document_that_fails_late_leaves_no_rows_beside_the_ones_before_it(path: str, payload) -> None:
    rows = Rows()
    parse_document("pilkada/hhcw/pkwkp/64/6401.json", {"tungsura": {"chart": {"1": 5}, "table": {"640101": {"1": 5, "status_progress": True}}}}, 2024, rows)
    tables = [attr for attr, _, _ in RAW_TABLES.values()]
    before = {name: list(getattr(rows, name)) for name in tables}
    with pytest.raises(StructuralError):
        parse_document(path, payload, 2024, rows)
    assert {name: getattr(rows, name) for name in tables} == before and len(before["child_rows"]) == 1
    assert len(rows.versions) == 1


def test_a_tps_photo_list_keeps_its_empty_slots_and_a_missing_list_stays_missing() -> None:
    rows = Rows()
    tps = "pemilu/hhcw/ppwp/31/3101/310101/3101011001/31010110010{:02d}.json"
    for n, images in enumerate([["u1", None, None], None, ["u2"], []], start=1):
        parse_document(tps.format(n), {"chart": {"100025": n}, "administrasi": None, "images": images}, 2024, rows)
    frame = to_frames(rows)["raw_nodes"]
    assert frame.schema["images"] == pl.List(pl.Utf8)
    assert frame["images"].to_list() == [["u1", None, None], None, ["u2"], None]  # [] is no photo list, as None

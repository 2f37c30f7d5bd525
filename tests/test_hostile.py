"""Hostile input given to `rekap run`: every kind of bad file, dump, count file, rule pack,
column configuration and argument rekap has been handed, each with the outcome it must have.

One bad document is quarantined with the rule it broke and the night goes on; a bad configuration
or argument is a usage error before anything is read; a source that yields nothing fails the run
with one line naming it. Every case runs on a copy of one baseline warehouse (a small, valid
Pilkada race loaded twice), and checks that the run balances (read = loaded + quarantined) and
that nothing else in the warehouse changed (`warehouse_fingerprint`).

A usage error or a failed run goes through the whole CLI (its exit code and its one line are the
outcome). A case whose outcome is in the warehouse (quarantined, run goes on) has its arguments
parsed by `rekap run` itself and its night run by the function `rekap run`'s flow calls
(`pipeline.run_night`): Prefect and the terminal display add a second a case and nothing the
case checks. One CLI run of all those inputs at once then shows that the flow, the results and
the report take every quarantine reason (`test_every_bad_input_at_once...`).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from flows.sirekap import Rows, StructuralError, check_repeated_keys, parse_document
from schemas.counts import COUNT_TABLES
from schemas.marts import MART_CONTRACTS
from schemas.raw import RAW_TABLES
from schemas.rules import DEFAULT_RULES, KNOWN_RULES
from tests.shared import load_and_build, write_json, write_xlsx
from warehouse.checksum import PROVENANCE_COLUMNS, mart_checksum
from warehouse.db import connect

PKWKP = "pilkada/hhcw/pkwkp"
KAB = f"{PKWKP}/64/6401"
KEL = f"{KAB}/640101/6401011001"
TPS1 = f"{KEL}/6401011001001.json"
TPS2 = f"{KEL}/6401011001002.json"
A, B = "1000054", "1000055"  # the two pairs' SIREKAP ids; ballot numbers 1 and 2


def progres(done: int, total: int) -> dict:
    return {"total": total, "progres": done, "persen": round(100 * done / total, 2)}


def node(chart: dict, progress: tuple[int, int], table: dict[str, tuple[dict, tuple[int, int]]]) -> dict:
    """A Pilkada aggregate node: its chart and one table row per child."""
    rows = {code: votes | {"psu": "Reguler", "progres": progres(*p), "status_progress": True} for code, (votes, p) in table.items()}
    return {"mode": "hhcw", "tungsura": {"chart": chart | {"progres": progres(*progress)}, "table": rows}, "ts": "2024-11-28 10:15:04"}


def tps(chart: dict | None, admin: dict | None = None) -> dict:
    return {"mode": "hhcw", "tungsura": {"chart": chart, "administrasi": admin}, "images": ["https://x/1.jpg"], "psu": None, "ts": "2024-11-28 10:15:04"}


# The baseline race: province 64 with two kab/kota; 6401 down to two TPS files, 6402 at kab/kota level.
BASELINE = {
    f"{PKWKP}/64.json": node({A: 30, B: 20}, (3, 3), {"6401": ({A: 20, B: 15}, (2, 2)), "6402": ({A: 10, B: 5}, (1, 1))}),
    f"{KAB}.json": node({A: 20, B: 15}, (2, 2), {"640101": ({A: 20, B: 15}, (2, 2))}),
    f"{KAB}/640101.json": node({A: 20, B: 15}, (2, 2), {"6401011001": ({A: 20, B: 15}, (2, 2))}),
    f"{KEL}.json": node({A: 20, B: 15}, (2, 2), {"6401011001001": ({A: 12, B: 8}, (1, 1)), "6401011001002": ({A: 8, B: 7}, (1, 1))}),
    TPS1: tps({A: 12, B: 8}, {"suara_sah": 20, "suara_tidak_sah": 1, "suara_total": 21}),
    TPS2: tps({A: 8, B: 7}),
    f"{PKWKP}/64/6402.json": node({A: 10, B: 5}, (1, 1), {"640201": ({A: 10, B: 5}, (1, 1))}),
    "pilkada/paslon/pkwkp.json": {"64": {A: {"nama": "ISRAN - HADI", "nomor_urut": 1, "warna": "#f00", "ts": "t"},
                                         B: {"nama": "RUDY - SENO", "nomor_urut": 2, "warna": "#00f", "ts": "t"}}},
    "wilayah/pilkada/pkwkp/64.json": [{"nama": "KAB A", "id": 1, "kode": "6401", "tingkat": 2},
                                      {"nama": "KAB B", "id": 2, "kode": "6402", "tingkat": 2}],
}  # fmt: skip

# Tables whose every row must stay as it was; raw_observations may only grow by the records loaded.
BOOKKEEPING = ("runs", "quarantine", "raw_observations")
# Mart columns that say where and how often a version was read, like the provenance columns: a
# document read again from another folder is observed again (raw_observations says how often).
OBSERVATION_COLUMNS = PROVENANCE_COLUMNS | {"snapshot", "observations"}


def warehouse_fingerprint(path: Path) -> dict[str, object]:
    """What a warehouse holds, independent of how it is stored: each mart's checksum over its
    business columns (not where or how often a version was read) and each raw and bookkeeping
    table's row count."""
    with connect(path, read_only=True) as con:
        con.begin()  # one snapshot for every read (and one catalog lookup, not one a statement)
        return fingerprint(con)


def fingerprint(con) -> dict[str, object]:
    tables = [*RAW_TABLES, *COUNT_TABLES, *BOOKKEEPING]
    counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
    checksums = {m: mart_checksum(con, m, OBSERVATION_COLUMNS) for m in MART_CONTRACTS}
    return counts | checksums


def after_run(path: Path, runs_before: int) -> tuple[dict[str, object], list[dict], dict[str, list[dict]]]:
    """The warehouse's fingerprint, the runs after the first `runs_before` and each one's
    quarantined records, through one connection."""
    with connect(path, read_only=True) as con:
        con.begin()
        runs = con.execute(
            """select run_id, status, records_read, records_loaded, records_quarantined, error
               from runs order by started_at offset ?""", [runs_before]
        ).pl().to_dicts()  # fmt: skip
        quarantine = {
            run["run_id"]: con.execute("select source_file, source_path, locator, rule, reason from quarantine where run_id = ?", [run["run_id"]]).pl().to_dicts()
            for run in runs
        }  # fmt: skip
        return fingerprint(con), runs, quarantine


# --- building bad inputs ---------------------------------------------------------------------


def mirror(root: Path, files: dict[str, object]) -> Path:
    """A mirror folder of {endpoint path: payload, or raw bytes}."""
    folder = root / "mirror"
    for rel, payload in files.items():
        write_json(folder / rel, payload)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def dump_lines(items: dict[str, object]) -> bytes:
    return b"".join(orjson.dumps({"path": p, "payload": v}) + b"\n" for p, v in items.items())


def with_repeated_key(payload: dict, key: str, first_value: int) -> bytes:
    """The payload's JSON with `key` of the chart written twice: first as `first_value`, then as the payload has it."""
    text = orjson.dumps(payload).decode()
    at = text.index('"chart":{') + len('"chart":{')
    return (text[:at] + f'"{key}":{first_value},' + text[at:]).encode()


def count_csv(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.write_text(text)
    return path


def xlsx_with_formula(root: Path, cached: str | None, never_calculated: bool = False) -> Path:
    """An official recap whose cell B4 (pair 01's total) is a formula, with `cached` as its saved result."""
    path = write_xlsx(root / "recap.xlsx", [["kode", "nama", "isran_hadi_01", "rudy_seno_02"],
                                            ["6401", "KAB A", 20, 15], ["6402", "KAB B", 10, 5], ["64", "JUMLAH", 30, 20]])  # fmt: skip
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    value = "" if cached is None else f"<v>{cached}</v>"
    sheet = parts["xl/worksheets/sheet1.xml"].decode().replace('<c r="C4"><v>30</v></c>', f'<c r="C4"><f>SUM(C2:C3)</f>{value}</c>')
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    if never_calculated:
        parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b"</sheets>", b'</sheets><calcPr fullCalcOnLoad="1"/>')
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return path


def rules_with(root: Path, old: str, new: str) -> Path:
    text = DEFAULT_RULES.read_text()
    assert old in text
    path = root / "rules.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def columns(root: Path, text: str) -> Path:
    path = root / "columns.toml"
    path.write_text(text)
    return path


RECAP_HEADER = "kode,nama,isran_hadi_01,rudy_seno_02\n"


@dataclass(frozen=True)
class Case:
    """One kind of bad input: the CLI arguments it makes (under a scratch folder), and its outcome.

    `quarantine`: (rule, end of the record's source path or locator) for every record quarantined;
    `loaded`: records loaded (re-observations of baseline documents: the warehouse's content stays);
    `exit_code` 0 (quarantined, the run goes on; `says` is in a quarantine reason), 1 (the run
    failed; `says` is in its one line) or 2 (a usage error; `says` is the exact message).
    """

    kind: str
    make: Callable[[Path], list]
    quarantine: tuple[tuple[str, str], ...] = ()
    loaded: int = 0
    observed: int | None = None  # observations added, when a source re-reads one document (default: loaded)
    exit_code: int = 0
    says: str = ""
    env: dict[str, str] = field(default_factory=dict)


def sirekap(files: dict[str, object]) -> Callable[[Path], list]:
    return lambda root: ["--sirekap", mirror(root, files)]


def internal(name: str, text: str) -> Callable[[Path], list]:
    return lambda root: ["--internal", count_csv(root, name, text)]


def official(name: str, text: str) -> Callable[[Path], list]:
    return lambda root: ["--official", count_csv(root, name, text)]


def dump(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], list]:
    def make(root: Path) -> list:
        path = root / name
        path.write_bytes(data() if callable(data) else data)
        return ["--sirekap", path]

    return make


def linked_mirror(root: Path) -> list:
    """A mirror whose kab/kota folder is a symbolic link to a folder elsewhere (os.walk alone skips it)."""
    folder = mirror(root, {})
    elsewhere = root / "elsewhere" / "6401"
    for rel in (TPS1, TPS2, f"{KAB}/640101.json", f"{KEL}.json"):
        write_json(elsewhere / Path(rel).relative_to(KAB), BASELINE[rel])
    (folder / KAB).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(elsewhere, folder / KAB)
    write_json(folder / f"{KAB}.json", BASELINE[f"{KAB}.json"])
    return ["--sirekap", folder]


def looping_mirror(root: Path) -> list:
    folder = mirror(root, {TPS1: BASELINE[TPS1]})
    os.symlink(folder / PKWKP, folder / KEL / "loop")  # a link back up the tree
    return ["--sirekap", folder]


def gzip_cut_short() -> bytes:
    """Three baseline documents forty times over, gzip cut after a third. Stored (level 0), so the
    part before the cut holds whole lines (deflate would hold a few back-references only)."""
    whole = gzip.compress(dump_lines({rel: BASELINE[rel] for rel in (f"{PKWKP}/64.json", TPS1, TPS2)}) * 40, compresslevel=0)
    return whole[: len(whole) // 3]


def whole_lines_before_break() -> int:
    """The complete lines `gzip_cut_short` holds, counted with zlib (not with the reader under test)."""
    return zlib.decompressobj(31).decompress(gzip_cut_short()).count(b"\n")


ARABIC_64 = "\u0666\u0664"  # "64" in Arabic-Indic digits: str.isdigit() says True

CASES = [
    # --- mirror files: one document each, quarantined with its rule ---------------------------
    Case("chart count 2^63", sirekap({TPS1: tps({A: 2**63, B: 8})}), (("count_out_of_range", TPS1),)),
    Case("chart count 2^64 (a float to orjson)", sirekap({TPS1: b'{"tungsura": {"chart": {"1000054": 18446744073709551616}, "administrasi": null}}'}), (("wrong_type", TPS1),)),
    Case("TPS count 9e18 (passes int64, overflowed outcome_risk)", sirekap({TPS1: tps({A: 9 * 10**18, B: 8})}), (("less_than_or_equal_to(205000000)", TPS1),)),
    Case("TPS count above 10^6", sirekap({TPS1: tps({A: 5_000_000, B: 8})}), (("less_than_or_equal_to(1000000)", TPS1),)),
    Case("kab/kota count above the national DPT", sirekap({f"{PKWKP}/64/6402.json": node({A: 300_000_000, B: 5}, (1, 1), {"640201": ({A: 300_000_000, B: 5}, (1, 1))})}),
         (("less_than_or_equal_to(205000000)", "64/6402.json"),)),
    Case("administrasi count above 10^6", sirekap({TPS1: tps({A: 12, B: 8}, {"suara_sah": 2_000_000})}), (("less_than_or_equal_to(1000000)", TPS1),)),
    Case("progress total above 10^6 TPS", sirekap({f"{PKWKP}/64/6402.json": node({A: 10, B: 5}, (1, 2_000_000), {"640201": ({A: 10, B: 5}, (1, 1))})}),
         (("less_than_or_equal_to(1000000)", "64/6402.json"),)),
    Case("negative count", sirekap({TPS1: tps({A: -3, B: 8})}), (("greater_than_or_equal_to(0)", TPS1),)),
    Case("TPS chart key repeated with another value", sirekap({TPS1: with_repeated_key(BASELINE[TPS1], A, 99)}), (("duplicate_key", TPS1),)),
    # The later value wins in orjson: here it agrees with the table (the change went unseen) ...
    Case("chart key repeated, the later value agreeing with the table", sirekap({f"{KAB}.json": with_repeated_key(BASELINE[f"{KAB}.json"], A, 99)}),
         (("duplicate_key", f"{KAB}.json"),), says="key '1000054' appears twice in one object, as 99 and as 20"),
    # ... here it does not (the audit failed the whole run).
    Case("chart key repeated, the later value against the table", sirekap({f"{KAB}.json": with_repeated_key(
        node({A: 21, B: 15}, (2, 2), {"640101": ({A: 20, B: 15}, (2, 2))}), A, 20)}), (("duplicate_key", f"{KAB}.json"),)),
    Case("chart key repeated with the same value: one value, loaded", sirekap({TPS1: with_repeated_key(BASELINE[TPS1], A, 12)}), loaded=1),
    Case("kelurahan row inside a kab/kota table", sirekap({f"{KAB}.json": node({A: 20, B: 15}, (2, 2), {
        "640101": ({A: 20, B: 15}, (2, 2)), "6401011001": ({A: 20, B: 15}, (2, 2))})}), (("wrong_child_level", f"{KAB}.json"),)),
    Case("chart differs from its table", sirekap({f"{KAB}.json": node({A: 21, B: 15}, (2, 2), {"640101": ({A: 20, B: 15}, (2, 2))})}),
         (("chart_table_mismatch", f"{KAB}.json"),)),
    Case("table row outside the node", sirekap({f"{KAB}.json": node({A: 20, B: 15}, (2, 2), {"650101": ({A: 20, B: 15}, (2, 2))})}),
         (("unknown_shape", f"{KAB}.json"),)),
    Case("aggregate node without a table", sirekap({f"{KAB}.json": {"tungsura": {"chart": {A: 20, B: 15}}}}), (("unknown_shape", f"{KAB}.json"),)),
    Case("unknown contest folder", sirekap({"pilkada/hhcw/xyzzy/64.json": BASELINE[f"{PKWKP}/64.json"]}), (("unknown_contest", "xyzzy/64.json"),)),
    Case("contest of the other election kind", sirekap({"pilkada/hhcw/ppwp/64.json": BASELINE[f"{PKWKP}/64.json"]}), (("unknown_contest", "ppwp/64.json"),)),
    Case("unknown election folder", sirekap({"pilpres/hhcw/pkwkp/64.json": BASELINE[f"{PKWKP}/64.json"]}), (("unknown_path", "pilpres/hhcw/pkwkp/64.json"),)),
    Case("Arabic-Indic digits in a path's code", sirekap({f"{PKWKP}/{ARABIC_64}.json": BASELINE[f"{PKWKP}/64.json"]}), (("unknown_path", f"{ARABIC_64}.json"),)),
    Case("Arabic-Indic digits in a table's child code", sirekap({f"{PKWKP}/64.json": node({A: 10, B: 5}, (1, 1), {ARABIC_64 + "02": ({A: 10, B: 5}, (1, 1))})}),
         (("unknown_shape", f"{PKWKP}/64.json"),)),
    Case("Arabic-Indic digits in a region list's kode", sirekap({"wilayah/pilkada/pkwkp/64.json": [{"nama": "X", "id": 1, "kode": ARABIC_64 + "01", "tingkat": 2}]}),
         (("str_matches('^(0|[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{10}|[0-9]{13})$')", "wilayah/pilkada/pkwkp/64.json"),)),
    Case("two candidates under one nomor_urut", sirekap({"pilkada/paslon/pkwkp.json": {"64": {A: {"nama": "ISRAN - HADI", "nomor_urut": 1}, B: {"nama": "RUDY - SENO", "nomor_urut": 1}}}}),
         (("duplicate_ballot_number", "pilkada/paslon/pkwkp.json"),)),
    Case("candidate without nama", sirekap({"pilkada/paslon/pkwkp.json": {"64": {A: {"nomor_urut": 1}}}}), (("unknown_shape", "pilkada/paslon/pkwkp.json"),)),
    Case("region list that is not an array", sirekap({"wilayah/pilkada/pkwkp/64.json": {"kode": "6401"}}), (("unknown_shape", "wilayah/pilkada/pkwkp/64.json"),)),
    Case("body cut short", sirekap({TPS1: orjson.dumps(BASELINE[TPS1])[:40]}), (("not_json", TPS1),)),
    Case("empty file", sirekap({TPS1: b""}), (("not_json", TPS1),)),
    Case("node that is an array", sirekap({TPS1: [1, 2]}), (("unknown_shape", TPS1),)),
    Case("count as text", sirekap({TPS1: tps({A: "12", B: 8})}), (("wrong_type", TPS1),)),
    Case("count as a fraction", sirekap({TPS1: tps({A: 12.5, B: 8})}), (("wrong_type", TPS1),)),
    Case("count as true", sirekap({TPS1: tps({A: True, B: 8})}), (("wrong_type", TPS1),)),
    Case("TPS with neither chart nor administrasi", sirekap({TPS1: {"tungsura": {}, "ts": "t"}}), (("unknown_shape", TPS1),)),
    Case("images that are not a list", sirekap({TPS1: tps({A: 12, B: 8}) | {"images": "https://x/1.jpg"}}), (("unknown_shape", TPS1),)),
    Case("upper-case .JSON is read", sirekap({TPS1.replace(".json", ".JSON"): BASELINE[TPS1]}), loaded=1),
    Case(".json.gz is read", sirekap({TPS1 + ".gz": gzip.compress(orjson.dumps(BASELINE[TPS1]))}), loaded=1),
    Case(".json.gz that is not gzip", sirekap({TPS1 + ".gz": orjson.dumps(BASELINE[TPS1])}), (("unreadable", TPS1),)),
    Case("kab/kota folder that is a symbolic link", linked_mirror, loaded=5),
    Case("symbolic link looping back up the mirror", looping_mirror, (("link_loop", "6401011001/loop"),), loaded=1),
    Case("empty folder", lambda root: ["--sirekap", mirror(root, {})], exit_code=1, says="no SIREKAP document in it"),
    Case("folder without a SIREKAP document", lambda root: ["--sirekap", mirror(root, {"notes/README.txt": b"nothing here"})], exit_code=1,
         says="no SIREKAP document in it"),
    # --- dumps ----------------------------------------------------------------------------------
    Case(".jsonl.gz cut short: the lines before the break load", dump("cut.jsonl.gz", gzip_cut_short),
         (("unreadable", f"line {whole_lines_before_break() + 1}"),), loaded=whole_lines_before_break(), observed=3),
    Case(".jsonl.gz that is not gzip", dump("plain.jsonl.gz", dump_lines({TPS1: BASELINE[TPS1]})), (("unreadable", "line 1"),)),
    Case("empty dump", dump("empty.jsonl", b""), exit_code=1, says="empty.jsonl: no SIREKAP document in it"),
    Case("dump of blank lines", dump("blank.jsonl", b"\n\n  \n"), exit_code=1, says="blank.jsonl: no SIREKAP document in it"),
    Case("dump line that is not JSON", dump("d.jsonl", dump_lines({TPS1: BASELINE[TPS1]}) + b'{"path": "x",\n'), (("unreadable", "line 2"),), loaded=1),
    Case("dump line without payload", dump("d.jsonl", b'{"path": "' + TPS1.encode() + b'"}\n'), (("unreadable", "line 1"),)),
    Case("dump line with a repeated key", dump("d.jsonl", b'{"path": "' + TPS1.encode() + b'", "payload": ' + with_repeated_key(BASELINE[TPS1], B, 80) + b"}\n"),
         (("duplicate_key", TPS1),)),
    # --- count files: refused whole, naming the cell ---------------------------------------------
    Case("vote cell past int64", official("recap.csv", RECAP_HEADER + "6401,KAB A,99999999999999999999,15\n6402,KAB B,10,5\n"),
         (("not_a_count", "recap.csv"),), says="'isran_hadi_01' (votes for candidate 01) row 2: '99999999999999999999' is beyond any possible count"),
    Case("vote cell above the national DPT", official("recap.csv", RECAP_HEADER + "6401,KAB A,300000000,15\n6402,KAB B,10,5\n"),
         (("less_than_or_equal_to(205000000)", "recap.csv"),)),
    Case("XLSX formula without a saved value", lambda root: ["--official", xlsx_with_formula(root, None)], (("formula_without_value", "recap.xlsx"),),
         says="cell C4 holds a formula with no saved result"),
    Case("XLSX never calculated (0 saved for a formula)", lambda root: ["--official", xlsx_with_formula(root, "0", never_calculated=True)],
         (("formula_without_value", "recap.xlsx"),), says="cell C4 holds a formula whose saved result was never calculated"),
    Case("vote cell with text", internal("claim.csv", "kode,suara_paslon_01,suara_paslon_02\n6401,20,lima\n"), (("not_a_count", "claim.csv"),)),
    Case("unknown column", internal("claim.csv", "kode,suara_paslon_01,suara_paslon_02,komentar\n6401,20,15,x\n"), (("unknown_column", "claim.csv"),)),
    Case("code that is not a region there", internal("claim.csv", "kode,suara_paslon_01,suara_paslon_02\n6405,20,15\n"), (("not_a_region", "claim.csv"),)),
    Case("Arabic-Indic digits in a count file's code", internal("claim.csv", f"kode,suara_paslon_01,suara_paslon_02\n{ARABIC_64}01,20,15\n"), (("not_a_region", "claim.csv"),)),
    Case("Arabic-Indic digits in a vote cell", internal("claim.csv", f"kode,suara_paslon_01,suara_paslon_02\n6401,{ARABIC_64},15\n"), (("not_a_count", "claim.csv"),),
         says="holds text, not a whole number"),
    Case("ballot number not in the candidate master", internal("claim.csv", "kode,suara_paslon_01,suara_paslon_03\n6401,20,15\n"), (("unknown_candidate", "claim.csv"),)),
    Case("recap listing a region twice", official("recap.csv", RECAP_HEADER + "6401,KAB A,20,15\n6401,KAB A,20,15\n"), (("one_row_per_region", "recap.csv"),)),
    Case("count file with a header only", internal("claim.csv", "kode,suara_paslon_01,suara_paslon_02\n"), (("empty_file", "claim.csv"),)),
    Case("count file of an unknown format", internal("claim.ods", "kode,suara_paslon_01\n6401,20\n"), (("unknown_format", "claim.ods"),)),
    # --- column configuration: checked whole before anything is read ------------------------------
    Case("--columns naming a race that is not loaded", lambda root: ["--columns", columns(root, 'election = "pemilu2024"\ncontest = "pkwkp"\n'),
         *internal("claim.csv", "kode,suara_paslon_01,suara_paslon_02\n6401,20,15\n")(root)], (("unknown_race", "claim.csv"),),
         says="the loaded races are pilkada2024/pkwkp"),
    Case("--columns with a bad regular expression", lambda root: ["--columns", columns(root, '[candidates]\npatterns = ["^(unclosed"]\n'), "--internal", count_csv(root, "c.csv", "kode\n")],
         exit_code=2, says="column configuration {root}/columns.toml: candidates.patterns[0] = '^(unclosed' is not a regular expression: missing ), unterminated subpattern at position 1"),
    Case("--columns pattern without a capture group", lambda root: ["--columns", columns(root, '[candidates]\npatterns = ["^paslon_[0-9]+$"]\n'), "--internal", count_csv(root, "c.csv", "kode\n")],
         exit_code=2, says="column configuration {root}/columns.toml: candidates.patterns[0] = '^paslon_[0-9]+$' has no capture group: its first group must capture the ballot number"),
    Case("--columns election that is not an election id", lambda root: ["--columns", columns(root, 'election = "foo"\ncontest = "pkwkp"\n'), "--internal", count_csv(root, "c.csv", "kode\n")],
         exit_code=2, says="column configuration {root}/columns.toml: election = 'foo' is not an election id like pilkada2024"),
    Case("--columns list that is not a list", lambda root: ["--columns", columns(root, '[fields]\ncode = "kode"\n'), "--internal", count_csv(root, "c.csv", "kode\n")],
         exit_code=2, says="column configuration {root}/columns.toml: fields.code must be a list of strings"),
    Case("--columns with an unknown key", lambda root: ["--columns", columns(root, 'race = "pkwkp"\n'), "--internal", count_csv(root, "c.csv", "kode\n")],
         exit_code=2, says="column configuration {root}/columns.toml: unknown keys ['race']"),
    # --- rule packs: checked whole before anything is read -----------------------------------------
    Case("rules threshold inf", lambda root: ["--rules", rules_with(root, "tolerance = 0.02", "tolerance = inf"), "--sirekap", mirror(root, BASELINE)],
         exit_code=2, says="{root}/rules.toml: rules.votes_over_dpt.thresholds.tolerance: inf is not a finite number"),
    Case("rules threshold nan", lambda root: ["--rules", rules_with(root, "pilkada = 600", "pilkada = nan"), "--sirekap", mirror(root, BASELINE)],
         exit_code=2, says="{root}/rules.toml: rules.candidate_over_cap.thresholds.pilkada: nan is not a number >= 0"),
    Case("rules with an unknown rule id", lambda root: ["--rules", rules_with(root, "[rules.psu_revote]", "[rules.psu_revot]"), "--sirekap", mirror(root, BASELINE)],
         exit_code=2, says="{root}/rules.toml: rules.psu_revot: unknown rule id (known: " + ", ".join(KNOWN_RULES) + ")"),
    # --- CLI arguments -----------------------------------------------------------------------------
    Case("--year -5", lambda root: ["--year", "-5", "--sirekap", mirror(root, BASELINE)], exit_code=2,
         says="Invalid value for '--year': -5 is not in the range 2000<=x<=2100."),
    Case("--year 99999", lambda root: ["--year", "99999", "--sirekap", mirror(root, BASELINE)], exit_code=2,
         says="Invalid value for '--year': 99999 is not in the range 2000<=x<=2100."),
    Case("$REKAP_ELECTION_YEAR 1900", lambda root: ["--sirekap", mirror(root, BASELINE)], exit_code=2, env={"REKAP_ELECTION_YEAR": "1900"},
         says="election year 1900 (from $REKAP_ELECTION_YEAR or --election) is not in 2000..2100"),
    Case("--election of a year out of range", lambda root: ["--sirekap-url", "http://127.0.0.1:9", "--election", "pilkada1999", "--contest", "pkwkp", "--region", "64",
                                                          "--archive", root / "archive"], exit_code=2,
         says="election year 1999 (from $REKAP_ELECTION_YEAR or --election) is not in 2000..2100"),
    Case("--region in Arabic-Indic digits", lambda root: ["--sirekap-url", "http://127.0.0.1:9", "--election", "pilkada2024", "--contest", "pkwkp", "--region", ARABIC_64,
                                                         "--archive", root / "archive"], exit_code=2,
         says=f"region {ARABIC_64!r} must be 0 (national) or a 2, 4, 6 or 10-digit region code"),
    Case("--sirekap that does not exist", lambda root: ["--sirekap", root / "nowhere"], exit_code=2,
         says="Invalid value for '--sirekap': Path '{root}/nowhere' does not exist."),
    Case("--sirekap that is neither a mirror nor a dump", lambda root: ["--sirekap", count_csv(root, "notes.txt", "hello")], exit_code=1,
         says="notes.txt: not a SIREKAP mirror folder, a .jsonl/.jsonl.gz dump or a crawl index"),
]  # fmt: skip


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, prefect_server) -> tuple[Path, dict[str, object]]:
    """The valid race, loaded twice (so the latest run changed nothing, as a bad input's run must
    not), and its fingerprint (each case's copy holds the same files)."""
    root = tmp_path_factory.mktemp("baseline")
    source = mirror(root, BASELINE)
    warehouse = root / "warehouse" / "rekap.duckdb"
    for _ in range(2):
        result = CliRunner().invoke(cli(), ["run", "--sirekap", str(source), "--warehouse", str(warehouse)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return warehouse, warehouse_fingerprint(warehouse)


def cli():
    from flows.cli import cli as rekap

    return rekap


def test_the_corpus_holds_at_least_45_kinds() -> None:
    kinds = [case.kind for case in CASES]
    assert len(set(kinds)) == len(kinds) >= 45
    assert whole_lines_before_break() > 3  # the cut-short dump has lines to load before its break


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_bad_input_has_its_outcome_and_changes_nothing_else(case: Case, baseline: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The warehouse's folder is copied whole: whatever files the storage keeps beside it come along.
    source, before = baseline
    warehouse = tmp_path / "warehouse" / source.name
    shutil.copytree(source.parent, warehouse.parent)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)

    args = [*map(str, case.make(inputs)), "--warehouse", str(warehouse)]
    says = case.says.replace("{root}", str(inputs))
    if case.exit_code == 0:
        summary = night_of_rekap_run(args)
        after, runs, quarantine = after_run(warehouse, before["runs"])
        assert [run["run_id"] for run in runs] == [summary.run_id]
        check_quarantined(case, says, before, after, runs, quarantine)
        return
    result = CliRunner().invoke(cli(), ["run", *args], catch_exceptions=False)

    assert result.exit_code == case.exit_code, result.output
    after, runs, quarantine = after_run(warehouse, before["runs"])
    if case.exit_code == 2:
        assert result.output.strip().splitlines()[-1] == f"Error: {says}"
        assert after == before
        return
    (run,) = runs
    (line,) = [line for line in result.output.splitlines() if line.strip()]
    assert line.startswith("Error: run failed: ") and says in line and "Traceback" not in result.output
    assert run["status"] == "failed" and says in run["error"]
    assert after == before | {"runs": before["runs"] + 1}


def night_of_rekap_run(args: list[str]):
    """`rekap run ARGS`'s night without Prefect and the terminal: the command's own option parsing
    and settings (flows.cli), then the function its flow calls (flows.pipeline.run_night)."""
    from flows.cli import _run_settings, run
    from flows.pipeline import run_night

    with run.make_context("run", list(args)) as ctx:
        options = dict(ctx.params)
    options.pop("debug")
    return run_night(_run_settings(**options))


def check_quarantined(case: Case, says: str, before: dict, after: dict, runs: list[dict], quarantine: dict[str, list[dict]]) -> None:
    """A case whose run goes on: its records quarantined with their rules, the rest as it was."""
    (run,) = runs
    assert run["status"] == "succeeded"
    assert run["records_read"] == run["records_loaded"] + run["records_quarantined"]
    assert (run["records_loaded"], run["records_quarantined"]) == (case.loaded, len(case.quarantine))
    found = quarantine[run["run_id"]]
    for rule, where in case.quarantine:
        assert any(q["rule"] == rule and (q["source_path"].endswith(where) or q["locator"] == where) for q in found), (rule, where, found)
    assert len(found) == len(case.quarantine), found
    if says:
        assert any(says in q["reason"] for q in found), found
    # Everything else as it was: the marts, every raw table; observations grew by the re-read documents only.
    assert after == before | {"runs": before["runs"] + 1, "quarantine": before["quarantine"] + len(case.quarantine),
                              "raw_observations": before["raw_observations"] + (case.loaded if case.observed is None else case.observed)}  # fmt: skip


def test_every_bad_input_at_once_is_one_night_the_flow_the_results_and_the_report_take_whole(
    baseline: tuple[Path, dict], tmp_path: Path, rekap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cases whose run goes on, all in one `rekap run` through Prefect: one bad document never
    fails a night, however many come. Each case's files are its own source; the run quarantines
    exactly the cases' records, loads the rest and changes no mart; the results print, and the
    html report lists the quarantined records (50 at most) under the run's balance."""
    from report.i18n import label

    source, before = baseline
    warehouse = tmp_path / "warehouse" / source.name
    shutil.copytree(source.parent, warehouse.parent)
    args: list[str] = []
    together: list[Case] = []
    for i, case in enumerate(c for c in CASES if c.exit_code == 0 and not c.env):
        (tmp_path / f"case-{i}").mkdir()
        made = [str(a) for a in case.make(tmp_path / f"case-{i}")]
        if {a for a in made if a.startswith("--")} <= {"--sirekap", "--internal", "--official"}:
            args += made  # (a --columns or --rules file applies to the whole run, not to one case's files)
            together.append(case)
    assert len(together) >= 50
    monkeypatch.setenv("REKAP_REPORTS", str(tmp_path / "reports"))

    result = rekap("run", *args, "--warehouse", warehouse)

    after, runs, quarantine = after_run(warehouse, before["runs"])
    (run,) = runs
    loaded, quarantined = sum(c.loaded for c in together), sum(len(c.quarantine) for c in together)
    assert (run["status"], run["records_read"], run["records_loaded"], run["records_quarantined"]) == (
        "succeeded", loaded + quarantined, loaded, quarantined)
    found = quarantine[run["run_id"]]
    for case in together:
        for rule, where in case.quarantine:
            assert any(q["rule"] == rule and (q["source_path"].endswith(where) or q["locator"] == where) for q in found), (case.kind, rule)
    # The marts and raw tables as they were: every loaded record re-read a baseline document.
    grew = ("runs", "quarantine", "raw_observations")
    assert {k: v for k, v in after.items() if k not in grew} == {k: v for k, v in before.items() if k not in grew}
    assert after["quarantine"] == before["quarantine"] + quarantined
    assert f"{loaded + quarantined:,} records read, {loaded:,} loaded, {quarantined:,} quarantined" in result.output
    assert "Province totals" in result.output and "Traceback" not in result.output
    page = (tmp_path / "reports" / warehouse.stem / "index.html").read_text()
    assert f"{loaded + quarantined} rekaman dibaca = {loaded} dimuat + {quarantined} dikarantina" in page
    assert page.count(f"<li>{label('not_loaded', 'id')}: ") == min(50, quarantined)


# --- the same rules, on the plain functions ----------------------------------------------------


def test_a_clean_document_is_never_parsed_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    # The slow, pair-by-pair parse runs only when the colon count says a key may repeat.
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("a clean document took the slow path"))
    raw = b'{"tungsura": {"chart": {"1000054": 12, "1000055": 8}, "administrasi": null}, "ts": "2024-11-28 10:15:04"}'
    parse_document(TPS1, orjson.loads(raw), 2024, Rows(), raw=raw)


def test_a_key_repeated_anywhere_with_another_value_is_found() -> None:
    raw = b'{"tungsura": {"administrasi": {"suara_sah": 20, "suara_sah" : 21}}}'
    with pytest.raises(StructuralError, match="'suara_sah' appears twice in one object, as 20 and as 21"):
        check_repeated_keys(raw, orjson.loads(raw))
    same = b'{"a": {"b": 1, "b": 1}}'
    check_repeated_keys(same, orjson.loads(same))


def test_an_all_zero_tps_stays_in_every_total(tmp_path: Path) -> None:
    """A TPS-only mirror: the kelurahan's numbers are its TPS summed. TPS 002 publishes a chart of
    zeros and no progress of its own: a real zero, counted in tps_total everywhere above it."""
    source = mirror(tmp_path, {TPS1: tps({A: 12, B: 8}), TPS2: tps({A: 0, B: 0})})
    con = load_and_build(tmp_path / "w.duckdb", source)
    assert con.execute("select count(*) from int_node_versions where withheld").fetchone() == (0,)
    totals = con.execute("select region_code, tps_reported, tps_total from region_winners where level <> 'tps' order by region_code").fetchall()
    assert totals == [("64", 2, 2), ("6401", 2, 2), ("640101", 2, 2), ("6401011001", 2, 2)]
    assert con.execute("select count(*), sum(votes) from tps_status").fetchone() == (2, 20)
    checked = con.execute("select tps_checked from data_quality where rule_id = 'candidate_over_cap' and region_code = '6401011001'").fetchone()
    assert checked == (2,)
    con.close()


def test_outcome_risk_arithmetic_cannot_overflow(tmp_path: Path) -> None:
    """The unpublished-votes estimate multiplies votes by TPS: 10^13 x 10^6 passes BIGINT before the
    division brings it back to 10^13. Contracts keep real input far below; the model must not depend on it."""
    load_and_build(tmp_path / "w.duckdb", mirror(tmp_path, BASELINE)).close()
    con = connect(tmp_path / "w.duckdb")  # read-write: the test breaks the loaded rows on purpose
    con.begin()  # one lake commit, as a night makes, not one per statement
    province = "select version_id from raw_documents where kind = 'node' and code = '64'"
    con.execute(f"update raw_node_votes set votes = 5 * 10^12 where version_id in ({province})")
    con.execute(f"update raw_nodes set progress_total = 2000000, progress_reported = 1000000 where version_id in ({province})")
    from warehouse import models

    models.build(con)
    con.commit()
    assert con.execute("select sirekap_tps_reported, sirekap_tps_total, unreported_votes from outcome_risk where race_code = '64'").fetchone() == (
        1_000_000, 2_000_000, 10**13)
    con.close()


def test_the_crawler_never_requests_a_code_in_other_digits() -> None:
    from flows.sources.api import _listed_codes

    assert _listed_codes([{"kode": ARABIC_64 + "01"}, {"kode": "6401"}], "64") == ["6401"]

"""Pure SIREKAP parsing: one exported document (path + JSON) -> typed rows.

No I/O and no database here, so every shape and every failure mode is testable on a
three-line dict. Readers (flows/sources) hand in documents; the loader takes rows out.

Missing is never zero: a null `chart`, the `"null"` key, a `status_progress: false` row and a
candidate key with a null value all produce *no row*, never a 0.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import orjson

from schemas.regions import LEVEL_BY_CODE_LENGTH
from schemas.rows import ADMIN_FIELDS, Rows  # noqa: F401  (the row shapes the parser fills)

ELECTION_KINDS = ("pemilu", "pilkada")
# Keys of a chart or table row that are not candidate ids.
NON_CANDIDATE_KEYS = frozenset({"null", "persen", "progres", "psu", "status_progress"})
# The contests SIREKAP publishes for each election kind. A folder naming anything else is not a
# contest rekap knows (a typo, a scraper's own folder): loading it would invent a race.
KNOWN_CONTESTS = {
    "pemilu": frozenset({"ppwp", "pdpr", "pdpd", "pdprdp", "pdprdk"}),
    "pilkada": frozenset({"pkwkp", "pkwkk"}),
}
# The code length of the children in each level's table: a kab/kota lists kecamatan, never kelurahan.
CHILD_CODE_LENGTH = {0: 2, 2: 4, 4: 6, 6: 10, 10: 13}
# The range DuckDB's BIGINT (and polars' Int64) holds: a count outside it cannot even be stored.
INT64_MAX = 2**63 - 1


class StructuralError(ValueError):
    """A document that cannot be turned into rows at all: it goes to quarantine whole."""

    def __init__(self, rule: str, reason: str):
        super().__init__(f"{rule}: {reason}")
        self.rule = rule
        self.reason = reason


@dataclass(frozen=True)
class DocumentPath:
    """What a mirror path says about its document: kind, election, contest and code."""

    kind: str  # node | candidates | regions
    election: str  # e.g. pilkada2024
    contest: str  # e.g. pkwkp
    code: str  # region code; "0" for the national node or a contest-wide master


ANCHORS = ("hhcw", "wilayah", "paslon")


def classify_path(path: str, election_year: int) -> DocumentPath:
    """Read kind, election, contest and code from an endpoint path.

    Anchors on the last `hhcw`, `wilayah` or `paslon` segment, so a mirror may sit under any
    folder (and a URL's path works the same).
    """
    # A mirror is a million node files in a few thousand folders: what a folder says is read
    # once (`_node_folder`), each file adds its own code. Anything else takes the general way.
    folder, _, name = path.replace("\\", "/").rpartition("/")
    if name.endswith(".json") and (stem := name[: -len(".json")]) not in ANCHORS and stem not in (".", ""):
        known = _node_folder(folder, election_year)
        if known is not None:
            election, contest, parent = known
            _check_code_chain(path, [parent, stem] if parent else [stem])
            return DocumentPath("node", election, contest, stem)
    return _classify_any_path(path, election_year)


@functools.lru_cache(maxsize=4096)
def _node_folder(folder: str, election_year: int) -> tuple[str, str, str] | None:
    """The election, contest and region code (or "") of a folder of node files
    (`<election>/hhcw/<contest>/<code>/...`), or None if it is not one (its files then take
    `_classify_any_path`, which names what is wrong). A folder says what the node file of its
    own name would: `.../pkwkp/64/6402/` holds the children of `.../pkwkp/64/6402.json`."""
    try:
        doc = _classify_any_path(folder + ".json", election_year)
    except StructuralError:
        return None
    if doc.kind != "node":
        return None
    return doc.election, doc.contest, "" if doc.code == "0" else doc.code


def _classify_any_path(path: str, election_year: int) -> DocumentPath:
    """classify_path for any path: candidate masters, region lists, nodes, and what is wrong with the rest."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or not parts[-1].endswith(".json"):
        raise StructuralError("unknown_path", f"{path!r} is not a .json endpoint path")
    stem = parts[-1][: -len(".json")]
    segments = parts[:-1] + [stem]

    def election_id(kind: str) -> str:
        if kind not in ELECTION_KINDS:
            raise StructuralError("unknown_path", f"{path!r}: election folder {kind!r} is not one of {ELECTION_KINDS}")
        return f"{kind}{election_year}"

    def known(found: DocumentPath) -> DocumentPath:
        kind = found.election.removesuffix(str(election_year))
        if found.contest not in KNOWN_CONTESTS[kind]:
            raise StructuralError("unknown_contest", f"{path!r}: contest folder {found.contest!r} is not a {kind} contest "
                                                     f"({', '.join(sorted(KNOWN_CONTESTS[kind]))})")  # fmt: skip
        return found

    for anchor in ANCHORS:
        if anchor in segments:
            i = len(segments) - 1 - segments[::-1].index(anchor)
            break
    else:
        if len(segments) >= 2 and segments[-2] in ELECTION_KINDS:  # pemilu/ppwp.json: the candidate master
            return known(DocumentPath("candidates", election_id(segments[-2]), segments[-1], "0"))
        raise StructuralError("unknown_path", f"{path!r} is not under hhcw/, wilayah/ or paslon/")

    if anchor == "hhcw":
        if i == 0 or i + 1 >= len(segments):
            raise StructuralError("unknown_path", f"{path!r}: expected <election>/hhcw/<contest>/...")
        election, contest, codes = election_id(segments[i - 1]), segments[i + 1], segments[i + 2 :]
        _check_code_chain(path, codes)
        return known(DocumentPath("node", election, contest, codes[-1] if codes else "0"))
    if anchor == "wilayah":
        if i + 3 > len(segments) - 1:
            raise StructuralError("unknown_path", f"{path!r}: expected wilayah/<election>/<contest>/.../<code>.json")
        election, contest, codes = election_id(segments[i + 1]), segments[i + 2], segments[i + 3 :]
        _check_code_chain(path, [c for c in codes if c != "0"])
        return known(DocumentPath("regions", election, contest, codes[-1]))
    if i == 0 or i + 1 != len(segments) - 1:
        raise StructuralError("unknown_path", f"{path!r}: expected <election>/paslon/<contest>.json")
    return known(DocumentPath("candidates", election_id(segments[i - 1]), segments[i + 1], "0"))


def _check_code_chain(path: str, codes: list[str]) -> None:
    previous = ""
    for code in codes:
        if not is_code(code) or len(code) not in LEVEL_BY_CODE_LENGTH or len(code) == 1:
            raise StructuralError("unknown_path", f"{path!r}: {code!r} is not a region code (2, 4, 6, 10 or 13 digits)")
        if not code.startswith(previous) or len(code) <= len(previous):
            raise StructuralError("unknown_path", f"{path!r}: {code!r} is not inside {previous!r}")
        previous = code


def is_code(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also accepts Arabic-Indic and other Unicode digits."""
    return text.isascii() and text.isdigit()


def canonical_bytes(payload: Any) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def canonical_hash(payload: Any) -> str:
    """Content hash independent of whitespace and key order, so a mirror file and the same
    node in a dump are one version."""
    return hashlib.sha256(canonical_bytes(payload)).hexdigest()


def check_repeated_keys(raw: bytes, parsed: Any, canonical: bytes | None = None) -> None:
    """Raise StructuralError(duplicate_key) if one JSON object in `raw` names a key twice with
    different values: orjson keeps the last one silently, so the count would change unseen.

    Cheap on the common path: outside strings a colon only follows a key, and strings are the
    same in `raw` and in the parsed document re-serialised, so `raw` holds more colons than that
    serialisation only when a key repeats (or an escape differs). Only then is `raw` parsed again,
    slowly, pair by pair.
    """
    canonical = orjson.dumps(parsed) if canonical is None else canonical
    if raw.count(b":") <= canonical.count(b":"):
        return
    json.loads(raw, object_pairs_hook=_refuse_conflicting_pairs)


def _refuse_conflicting_pairs(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen and seen[key] != value:
            raise StructuralError("duplicate_key", f"key {key!r} appears twice in one object, as {seen[key]!r} and as {value!r}")
        seen[key] = value
    return seen


def version_id(doc: DocumentPath, content_hash: str) -> str:
    # Two TPS can publish byte-identical bodies (both empty, same ts): the id includes the node.
    key = f"{doc.kind}|{doc.election}|{doc.contest}|{doc.code}|{content_hash}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def parse_document(path: str, payload: Any, election_year: int, rows: Rows, raw: bytes | None = None) -> tuple[DocumentPath, str]:
    """Append the rows of one document to `rows` and return it with its version id; raise
    StructuralError to quarantine it. `raw`, the bytes `payload` was parsed from, is checked for
    keys repeated with different values.

    Nothing is appended unless the whole document parses (no half-loaded node): each
    `_parse_*` checks the whole document before it appends its first row.
    """
    doc = classify_path(path, election_year)
    canonical = canonical_bytes(payload)
    if raw is not None:
        check_repeated_keys(raw, payload, canonical)
    content_hash = hashlib.sha256(canonical).hexdigest()
    vid = version_id(doc, content_hash)
    if vid in rows.versions:
        return doc, vid
    if doc.kind == "node":
        ts = _parse_node(doc, vid, payload, rows)
    elif doc.kind == "regions":
        ts = _parse_regions(doc, vid, payload, rows)
    else:
        ts = _parse_candidates(doc, vid, payload, rows)
    rows.documents.append(
        {"version_id": vid, "kind": doc.kind, "election": doc.election, "contest": doc.contest,
         "code": doc.code, "content_hash": content_hash, "ts": ts}
    )  # fmt: skip
    rows.versions.add(vid)
    return doc, vid


def _count(value: Any, where: str) -> int | None:
    """A published count: an int, or None for "no data". bool is not a count."""
    if value is None:
        return value
    if type(value) is int:
        if abs(value) > INT64_MAX:
            raise StructuralError("count_out_of_range", f"{where} = {value} is beyond any possible count (and past 64-bit integers)")
        return value
    raise StructuralError("wrong_type", f"{where} = {value!r} is not a whole number")


def _text(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise StructuralError("wrong_type", f"{where} = {value!r} is not text")


def _flag(value: Any, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise StructuralError("wrong_type", f"{where} = {value!r} is not true/false")


def _object(value: Any, where: str, nullable: bool = True) -> dict | None:
    if (value is None and nullable) or isinstance(value, dict):
        return value
    raise StructuralError("unknown_shape", f"{where} is {type(value).__name__}, expected an object")


def _candidate_votes(block: dict, where: str) -> list[tuple[str, int]]:
    votes = []
    for key, value in block.items():
        if key in NON_CANDIDATE_KEYS:
            continue
        count = _count(value, f"{where}.{key}")
        if count is not None:
            votes.append((key, count))
    return votes


def _progress(block: Any, where: str) -> tuple[int | None, int | None]:
    block = _object(block, where)
    if not block:
        return None, None
    return _count(block.get("total"), f"{where}.total"), _count(block.get("progres"), f"{where}.progres")


def count_body(payload: Any) -> dict:
    """The block of a node that holds `chart`, `table` and `administrasi`: Pilkada nests it under
    "tungsura", Pemilu keeps it at the top. A null `tungsura` is an empty block (no data)."""
    payload = _object(payload, "document", nullable=False)
    body = _object(payload.get("tungsura"), "tungsura") if "tungsura" in payload else payload
    return {} if body is None else body


def child_rows(code: str, payload: Any) -> dict[str, dict]:
    """An aggregate node's `table`: child code -> its row, each child checked to lie inside `code`
    ("0" for the national node). Raise StructuralError where `_parse_node` would.

    Crawlers discover a node's children here, and compare rows between two versions of the
    node to tell which children changed.
    """
    table = _object(count_body(payload).get("table"), "table")
    if table is None:
        raise StructuralError("unknown_shape", f"{LEVEL_BY_CODE_LENGTH[len(code)]} node has no table of children")
    parent = "" if code == "0" else code
    child_length = CHILD_CODE_LENGTH.get(len(parent))
    for child_code, row in table.items():
        _object(row, f"table.{child_code}", nullable=False)
        if not (is_code(child_code) and child_code.startswith(parent) and len(child_code) > len(parent)):
            raise StructuralError("unknown_shape", f"table row {child_code!r} is not a child region of {code}")
        if len(child_code) != child_length:
            # Its votes would count twice in the table's sums (once in its own kecamatan's row).
            raise StructuralError("wrong_child_level", f"table row {child_code!r} is a {LEVEL_BY_CODE_LENGTH.get(len(child_code), '?')}, "
                                                       f"not a {LEVEL_BY_CODE_LENGTH[child_length]} of {LEVEL_BY_CODE_LENGTH[len(code)]} {code}")  # fmt: skip
    return table


def _parse_node(doc: DocumentPath, vid: str, payload: Any, rows: Rows) -> str | None:
    body = count_body(payload)
    level = LEVEL_BY_CODE_LENGTH[len(doc.code)]
    ts = _text(payload.get("ts"), "ts")
    node = {
        "version_id": vid, "level": level, "mode": _text(payload.get("mode"), "mode"),
        "psu": _text(payload.get("psu", body.get("psu")), "psu"),
        "status_suara": _flag(payload.get("status_suara"), "status_suara"),
        "status_adm": _flag(payload.get("status_adm"), "status_adm"),
    }  # fmt: skip
    chart = _object(body.get("chart"), "chart")

    if level == "tps":
        if "chart" not in body and "administrasi" not in body:
            raise StructuralError("unknown_shape", "TPS node has neither chart nor administrasi")
        admin = _object(body.get("administrasi"), "administrasi")
        images = payload.get("images", body.get("images"))
        if images is not None and not isinstance(images, list):
            raise StructuralError("unknown_shape", "images is not a list")
        votes = _candidate_votes(chart, "chart") if chart is not None else []
        node.update(
            node_type="tps", has_chart=chart is not None, has_admin=admin is not None,
            progress_total=1, progress_reported=int(chart is not None),
            images=[_text(u, "images[]") for u in images] if images else None,
        )  # fmt: skip
        if admin is not None:
            rows.tps_admin.append({"version_id": vid} | {f: _count(admin.get(f), f"administrasi.{f}") for f in ADMIN_FIELDS})
    else:
        table = child_rows(doc.code, payload)
        votes = _candidate_votes(chart, "chart") if chart is not None else []
        total, reported = _progress(payload.get("progres"), "progres")
        if total is None and chart is not None:
            total, reported = _progress(chart.get("progres"), "chart.progres")
        node.update(
            node_type="aggregate", has_chart=bool(votes), has_admin=False,
            progress_total=total, progress_reported=reported, images=None,
        )  # fmt: skip
        children, children_votes = [], []
        for child_code, row in table.items():
            status = _flag(row.get("status_progress"), f"table.{child_code}.status_progress")
            child_total, child_reported = _progress(row.get("progres"), f"table.{child_code}.progres")
            child_votes = _candidate_votes(row, f"table.{child_code}")
            children.append(
                {"version_id": vid, "child_code": child_code, "status_progress": status,
                 "psu": _text(row.get("psu"), f"table.{child_code}.psu"),
                 "progress_total": child_total, "progress_reported": child_reported,
                 "has_votes": bool(child_votes) and status is not False}
            )  # fmt: skip
            if status is not False:  # a row marked not-in-progress is no data, whatever it holds
                children_votes.extend(
                    {"version_id": vid, "child_code": child_code, "candidate_id": c, "votes": n} for c, n in child_votes
                )
        _check_chart_matches_table(votes, children_votes)
        rows.child_rows.extend(children)
        rows.child_votes.extend(children_votes)
    rows.nodes.append(node)
    rows.node_votes.extend({"version_id": vid, "candidate_id": c, "votes": n} for c, n in votes)
    return ts


def _check_chart_matches_table(chart: list[tuple[str, int]], child_votes: list[dict]) -> None:
    """A node's own total for a candidate is the sum of its table rows for that candidate (where
    both give one): a document that contradicts itself cannot be loaded as either number."""
    table_sums: dict[str, int] = {}
    for vote in child_votes:
        table_sums[vote["candidate_id"]] = table_sums.get(vote["candidate_id"], 0) + vote["votes"]
    for candidate, votes in chart:
        if candidate in table_sums and table_sums[candidate] != votes:
            raise StructuralError("chart_table_mismatch", f"chart.{candidate} = {votes} but the table rows for {candidate} sum to {table_sums[candidate]}")


def _parse_regions(doc: DocumentPath, vid: str, payload: Any, rows: Rows) -> None:
    if not isinstance(payload, list):
        raise StructuralError("unknown_shape", "a region list (wilayah) must be a JSON array")
    regions = []
    for i, item in enumerate(payload):
        item = _object(item, f"[{i}]", nullable=False)
        code = _text(item.get("kode"), f"[{i}].kode")
        if not code:
            raise StructuralError("unknown_shape", f"[{i}] has no kode")
        regions.append(
            {"version_id": vid, "parent_code": doc.code, "code": code, "name": _text(item.get("nama"), f"[{i}].nama"),
             "region_id": _count(item.get("id"), f"[{i}].id"), "tingkat": _count(item.get("tingkat"), f"[{i}].tingkat")}
        )  # fmt: skip
    rows.regions.extend(regions)
    return None


def _parse_candidates(doc: DocumentPath, vid: str, payload: Any, rows: Rows) -> str | None:
    payload = _object(payload, "document", nullable=False)

    def is_entry(value: Any) -> bool:
        return isinstance(value, dict) and "nama" in value

    # Pemilu's master is {candidate_id: entry}; Pilkada's is {region_code: {candidate_id: entry}}.
    if payload and all(is_entry(v) for v in payload.values()):
        groups = {None: payload}
    else:
        groups = {region: _object(group, region, nullable=False) for region, group in payload.items()}
    latest_ts, candidates = None, []
    for region_code, group in groups.items():
        by_ballot: dict[int, str] = {}
        for candidate_id, entry in group.items():
            if not is_entry(entry):
                raise StructuralError("unknown_shape", f"candidate {region_code}/{candidate_id} has no nama")
            ts = _text(entry.get("ts"), f"{candidate_id}.ts")
            latest_ts = max(filter(None, (latest_ts, ts)), default=None)
            ballot = _count(entry.get("nomor_urut"), f"{candidate_id}.nomor_urut")
            if ballot is not None and by_ballot.setdefault(ballot, candidate_id) != candidate_id:
                # Counts name candidates by ballot number: two under one number cannot be told apart.
                where = f"region {region_code}" if region_code else "the master"
                raise StructuralError("duplicate_ballot_number", f"{where}: candidates {by_ballot[ballot]} and {candidate_id} both have nomor_urut {ballot}")
            candidates.append(
                {"version_id": vid, "region_code": region_code, "candidate_id": candidate_id,
                 "name": _text(entry.get("nama"), f"{candidate_id}.nama"),
                 "nomor_urut": _count(entry.get("nomor_urut"), f"{candidate_id}.nomor_urut"),
                 "colour": _text(entry.get("warna"), f"{candidate_id}.warna")}
            )  # fmt: skip
    rows.candidates.extend(candidates)
    return latest_ts

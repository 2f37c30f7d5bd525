"""Deterministic demo SIREKAP mirror: every TPS of one province-wide Pilkada race.

`generate_mirror(spec, out_dir)` writes the folder of endpoint JSON files a scraper's mirror of
SIREKAP would hold (`pilkada/hhcw/<contest>/<prov>/.../<tps>.json`, the region tree under
`wilayah/`, the candidate master under `pilkada/paslon/`), down to the TPS, for a `RaceSpec`.

Design:
- The region tree down to kecamatan, the TPS count per kecamatan and the official count per
  kab/kota are real (`KALTIM_2024`); kelurahan/desa and their TPS are synthetic, laid out to
  match the real totals (1,038 kelurahan/desa, 6,274 TPS).
- Votes are drawn per TPS, then apportioned so that the full set of TPS sums *exactly* to the
  official count of each kab/kota. `progress` only chooses which TPS are published: a TPS has
  the same numbers at every progress level, so a series of demo snapshots is consistent.
- Only `random.Random(seed)`, drawn in a fixed order, and compact orjson output: the same
  spec, seed and progress give byte-identical files.
- `errors` (`SirekapErrors`, what `rekap demo` uses) puts SIREKAP's known faults into a few
  published TPS files (docs: ../shared/notes/sirekap.md, "How the data goes wrong"): OCR-misread
  counts, arithmetic slips on the form, a missing block. The aggregates above keep the correct
  counts, so the full mirror still sums to the official recap and the misreads show where a
  region's total and the TPS files under it disagree, as they did in 2024.
  `write_withheld_snapshot` writes a later snapshot in which one kab/kota withholds its counts.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

# KPU's anomaly bound for one candidate at one Pilkada TPS (300 for Pemilu).
MAX_VOTES_PER_CANDIDATE_TPS = 600
# Pilkada 2024 TPS served at most 600 voters on the DPT.
MAX_DPT_PER_TPS = 600

# Shares from the Kaltim 2024 D.HASIL admin recap (kpu-rekap/...-admin.csv), used to shape the
# synthetic administrasi block of any spec: DPTb and DPK (non-DPT) voters as a share of all
# voters, and the male share of each voter group.
_DPTB_RATE = 6_776 / 1_882_391
_NON_DPT_RATE = 22_317 / 1_882_391
_MALE_SHARE_PENGGUNA_DPT = 904_026 / 1_853_298
_MALE_SHARE_DPTB = 3_913 / 6_776
_MALE_SHARE_NON_DPT = 12_013 / 22_317
# Registered voters who did not vote were mostly men: (1,456,666 - 904,026) / (2,821,202 - 1,853,298).
_MALE_SHARE_ABSTAIN = 552_640 / 967_904


@dataclass(frozen=True)
class Candidate:
    candidate_id: str
    nomor_urut: int
    name: str
    colour: str


@dataclass(frozen=True)
class Kecamatan:
    code: str  # 6 digits
    name: str
    tps: int  # number of TPS in the kecamatan


@dataclass(frozen=True)
class KabKota:
    code: str  # 4 digits
    name: str
    votes: dict[str, int]  # candidate_id -> official complete count (all TPS)
    kecamatan: tuple[Kecamatan, ...]

    @property
    def tps(self) -> int:
        return sum(k.tps for k in self.kecamatan)


@dataclass(frozen=True)
class RaceSpec:
    election: str  # "pilkada"
    contest: str  # "pkwkp"
    province_code: str
    province_name: str
    candidates: tuple[Candidate, ...]
    kabkota: tuple[KabKota, ...]
    kelurahan_total: int
    invalid_votes: int  # suara tidak sah over all TPS
    dpt_total: int  # registered voters over all TPS
    ts: str  # the `ts` every generated file carries

    @property
    def tps_total(self) -> int:
        return sum(k.tps for k in self.kabkota)


@dataclass
class DemoManifest:
    root: Path
    files_written: int
    tps_total: int
    tps_published: int
    published_votes: dict[str, int]  # province, per candidate id, over published TPS
    complete_votes: dict[str, int]  # province, per candidate id, over all TPS (= official)
    per_kabkota_published: dict[str, dict[str, int]] = field(default_factory=dict)
    tps_errors: dict[str, str] = field(default_factory=dict)  # TPS code -> the SirekapErrors kind it carries


@dataclass(frozen=True)
class SirekapErrors:
    """How many published TPS carry each known SIREKAP fault; each TPS carries at most one.

    ocr_inflated: the first candidate's count is read with a 9 in front (62 -> 962), above the
        600 cap and the TPS's DPT, and no longer adding up to suara_sah.
    arithmetic_slips: suara_sah written SLIP_VOTES too high: the candidates no longer add up to
        it, nor does sah + tidak sah to the ballots cast.
    chart_only: the administrasi block is not published (null).
    admin_only: the candidates' counts are not published (null), the administrasi block is.
    """

    ocr_inflated: int = 3
    arithmetic_slips: int = 4
    chart_only: int = 3
    admin_only: int = 2
    seed: int = 9

    SLIP_VOTES = 10

    def kinds(self) -> list[str]:
        return (["ocr_inflated"] * self.ocr_inflated + ["arithmetic_slip"] * self.arithmetic_slips
                + ["chart_only"] * self.chart_only + ["admin_only"] * self.admin_only)  # fmt: skip


# --- Built-in spec: Pilkada 2024, governor of East Kalimantan (Kalimantan Timur, 64) ---------
# Kecamatan codes/names: KPU wilayah (Pemilu 2024, same codes as the Pilkada tree); TPS per
# kecamatan: `progres.total` of the kab/kota nodes of the SIREKAP 2024-11-28 10:15 snapshot.
_KALTIM_KECAMATAN: dict[str, tuple[tuple[str, str, int], ...]] = {
    "6401": (
        ("640101", "BATU SOPANG", 42), ("640102", "TANJUNG HARAPAN", 18),
        ("640103", "PASER BELENGKONG", 54), ("640104", "TANAH GROGOT", 114),
        ("640105", "KUARO", 47), ("640106", "LONG IKIS", 75), ("640107", "MUARA KOMAM", 28),
        ("640108", "LONG KALI", 52), ("640109", "BATU ENGAU", 39), ("640110", "MUARA SAMU", 16),
    ),
    "6402": (
        ("640201", "MUARA MUNTAI", 42), ("640202", "LOA KULU", 114), ("640203", "LOA JANAN", 156),
        ("640204", "ANGGANA", 79), ("640205", "MUARA BADAK", 95), ("640206", "TENGGARONG", 206),
        ("640207", "SEBULU", 74), ("640208", "KOTA BANGUN", 37), ("640209", "KENOHAN", 30),
        ("640210", "KEMBANG JANGGUT", 55), ("640211", "MUARA KAMAN", 77), ("640212", "TABANG", 36),
        ("640213", "SAMBOJA", 65), ("640214", "MUARA JAWA", 77), ("640215", "SANGA SANGA", 33),
        ("640216", "TENGGARONG SEBERANG", 115), ("640217", "MARANG KAYU", 51),
        ("640218", "MUARA WIS", 23), ("640219", "KOTA BANGUN DARAT", 24),
        ("640220", "SAMBOJA BARAT", 58),
    ),
    "6403": (
        ("640301", "KELAY", 20), ("640302", "TALISAYAN", 29), ("640303", "SAMBALIUNG", 75),
        ("640304", "SEGAH", 40), ("640305", "TANJUNG REDEB", 106), ("640306", "GUNUNG TABUR", 53),
        ("640307", "PULAU DERAWAN", 23), ("640308", "BIDUK-BIDUK", 11),
        ("640309", "TELUK BAYUR", 58), ("640310", "TABALAR", 17), ("640311", "MARATUA", 7),
        ("640312", "BATU PUTIH", 18), ("640313", "BIATAN", 18),
    ),
    "6407": (
        ("640705", "LONG IRAM", 14), ("640706", "MELAK", 21), ("640707", "BARONG TONGKOK", 54),
        ("640708", "DAMAI", 24), ("640709", "MUARA LAWA", 14), ("640710", "MUARA PAHU", 18),
        ("640711", "JEMPANG", 20), ("640712", "BONGAN", 23), ("640713", "PENYINGGAHAN", 8),
        ("640714", "BENTIAN BESAR", 10), ("640715", "LINGGANG BIGUNG", 24),
        ("640716", "NYUATAN", 15), ("640717", "SILUQ NGURAI", 18),
        ("640718", "MOOK MANAAR BULATN", 20), ("640719", "TERING", 21),
        ("640720", "SEKOLAQ DARAT", 17),
    ),
    "6408": (
        ("640801", "MUARA ANCALONG", 22), ("640802", "MUARA WAHAU", 44),
        ("640803", "MUARA BENGKAL", 18), ("640804", "SANGATTA UTARA", 213),
        ("640805", "SANGKULIRANG", 43), ("640806", "BUSANG", 10), ("640807", "TELEN", 16),
        ("640808", "KOMBENG", 42), ("640809", "BENGALON", 66), ("640810", "KALIORANG", 27),
        ("640811", "SANDARAN", 22), ("640812", "SANGATTA SELATAN", 52),
        ("640813", "TELUK PANDAN", 25), ("640814", "RANTAU PULUNG", 23), ("640815", "KAUBUN", 28),
        ("640816", "KARANGAN", 20), ("640817", "BATU AMPAR", 17), ("640818", "LONG MESANGAT", 13),
    ),
    "6409": (
        ("640901", "PENAJAM", 141), ("640902", "WARU", 30), ("640903", "BABULU", 61),
        ("640904", "SEPAKU", 61),
    ),
    "6411": (
        ("641101", "LONG BAGUN", 27), ("641102", "LONG HUBUNG", 19), ("641103", "LAHAM", 6),
        ("641104", "LONG APARI", 10), ("641105", "LONG PAHANGAI", 15),
    ),
    "6471": (
        ("647101", "BALIKPAPAN TIMUR", 139), ("647102", "BALIKPAPAN BARAT", 130),
        ("647103", "BALIKPAPAN UTARA", 254), ("647104", "BALIKPAPAN TENGAH", 145),
        ("647105", "BALIKPAPAN SELATAN", 214), ("647106", "BALIKPAPAN KOTA", 114),
    ),
    "6472": (
        ("647201", "PALARAN", 97), ("647202", "SAMARINDA SEBERANG", 86),
        ("647203", "SAMARINDA ULU", 193), ("647204", "SAMARINDA ILIR", 92),
        ("647205", "SAMARINDA UTARA", 159), ("647206", "SUNGAI KUNJANG", 194),
        ("647207", "SAMBUTAN", 97), ("647208", "SUNGAI PINANG", 147),
        ("647209", "SAMARINDA KOTA", 46), ("647210", "LOA JANAN ILIR", 91),
    ),
    "6474": (
        ("647401", "BONTANG UTARA", 130), ("647402", "BONTANG SELATAN", 105),
        ("647403", "BONTANG BARAT", 42),
    ),
}
# Official complete count per kab/kota (D.HASIL, KPU Kaltim decision 149/2024):
# code, name, pair 01 (1000054), pair 02 (1000055).
_KALTIM_KABKOTA = (
    ("6401", "PASER", 56_619, 78_308),
    ("6402", "KUTAI KARTANEGARA", 156_428, 214_112),
    ("6403", "BERAU", 51_680, 75_684),
    ("6407", "KUTAI BARAT", 45_370, 47_010),
    ("6408", "KUTAI TIMUR", 94_685, 99_941),
    ("6409", "PENAJAM PASER UTARA", 34_943, 67_259),
    ("6411", "MAHAKAM ULU", 11_279, 10_610),
    ("6471", "KOTA BALIKPAPAN", 126_905, 172_057),
    ("6472", "KOTA SAMARINDA", 182_183, 170_623),
    ("6474", "KOTA BONTANG", 33_701, 60_795),
)

KALTIM_2024 = RaceSpec(
    election="pilkada",
    contest="pkwkp",
    province_code="64",
    province_name="KALIMANTAN TIMUR",
    candidates=(
        Candidate("1000054", 1, "Dr. Ir. H. ISRAN NOOR, M.Si. - H. HADI MULYADI, S.Si., M.Si.", "#B67352"),
        Candidate("1000055", 2, "H. RUDY MAS'UD, S.E., M.E. - Ir. H. SENO AJI, M. Si.", "#8CB9BD"),
    ),
    kabkota=tuple(
        KabKota(
            code,
            name,
            {"1000054": v01, "1000055": v02},
            tuple(Kecamatan(*row) for row in _KALTIM_KECAMATAN[code]),
        )
        for code, name, v01, v02 in _KALTIM_KABKOTA
    ),
    kelurahan_total=1_038,
    invalid_votes=92_199,
    dpt_total=2_821_202,
    ts="2024-11-28 10:15:04",
)


# --- Generator ---------------------------------------------------------------------------------


def generate_kaltim_mirror(
    out_dir: Path, progress: float = 0.964, seed: int = 2024, revisions: Mapping[str, Mapping[str, int]] | None = None,
    errors: SirekapErrors | None = None,
) -> DemoManifest:
    """The built-in race; the default progress is the 10:15 snapshot's 6,048 of 6,274 TPS."""
    return generate_mirror(KALTIM_2024, out_dir, progress=progress, seed=seed, revisions=revisions, errors=errors)


def _choose_errors(tps: list["_Tps"], errors: SirekapErrors) -> dict[str, str]:
    published = sorted(t.code for t in tps if t.published)
    kinds = errors.kinds()
    if len(kinds) > len(published):
        raise ValueError(f"{len(kinds)} TPS with errors asked for, only {len(published)} published")
    chosen = random.Random(errors.seed).sample(published, len(kinds))
    return dict(zip(chosen, kinds))


def write_withheld_snapshot(spec: RaceSpec, mirror: Path, out_dir: Path, kabkota_code: str | None = None) -> Path:
    """A later snapshot holding one file: a kab/kota node of `mirror` whose every candidate count
    reads 0 while its progress stays (sirekap.md, case 4: 28 Nov 2024, 10:15-10:45 WIB). Loaded
    after `mirror`, it is withheld: the marts keep the earlier counts and flag the node.
    Returns the file written."""
    code = kabkota_code or spec.kabkota[0].code
    rel = Path(spec.election) / "hhcw" / spec.contest / spec.province_code / f"{code}.json"
    node = orjson.loads((Path(mirror) / rel).read_bytes())
    ids = {c.candidate_id for c in spec.candidates}
    block = node["tungsura"]
    block["chart"] = {k: (0 if k in ids else v) for k, v in block["chart"].items()}
    block["table"] = {child: {k: (0 if k in ids else v) for k, v in row.items()} for child, row in block["table"].items()}
    node["ts"] = "2024-11-28 10:45:00"
    path = Path(out_dir) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(node))
    return path


def generate_mirror(
    spec: RaceSpec,
    out_dir: Path,
    progress: float = 0.964,
    seed: int = 2024,
    revisions: Mapping[str, Mapping[str, int]] | None = None,
    errors: SirekapErrors | None = None,
) -> DemoManifest:
    """Write a full TPS-level mirror of `spec` under `out_dir` (created if absent; files already
    there are overwritten, others left alone) and return what was written.

    `progress` is the share of TPS published: round(progress * TPS total) of them.
    `revisions` corrects published TPS after the draw, as KPU corrects a misread form:
    {tps code: {candidate id: change in votes}}. Each TPS's changes must sum to zero (votes move
    between candidates), so its administrasi block stays consistent; every aggregate above it
    is recomputed, so the mirror stays consistent too. The manifest's `complete_votes` stays the
    spec's (official) count.
    `errors` puts SIREKAP's faults into that many published TPS files (see SirekapErrors),
    chosen with the errors' own seed, so the clean draw and every TPS's true count stay the same.
    """
    _validate(spec, progress)
    tree, tps, rng = _draw(spec, seed)
    _choose_published(spec, tree, tps, round(progress * len(tps)), rng)
    _revise(spec, tps, revisions or {})
    faults = _choose_errors(tps, errors) if errors else {}
    return _write(spec, tree, tps, Path(out_dir), faults)


def _draw(spec: RaceSpec, seed: int) -> tuple[list["_Kab"], list["_Tps"], random.Random]:
    """The race's complete count, TPS by TPS. The draws happen in this fixed order, and none
    depends on `progress`; the returned generator continues the same sequence."""
    rng = random.Random(seed)
    tree = _layout(spec, rng)
    tps = [t for kab in tree for kec in kab.kecamatan for kel in kec.kelurahan for t in kel.tps]
    for kab_spec, kab in zip(spec.kabkota, tree):
        _draw_votes(spec, kab_spec, kab, rng)
    _draw_admin(spec, tps, rng)
    return tree, tps, rng


# --- The other two sources of the demo: an internal count and the official recap ---------------


@dataclass
class InternalCountManifest:
    path: Path
    rows: int  # submissions written
    tps_counted: int  # distinct TPS in the file
    tps_missing: list[str]  # TPS the witnesses did not report
    tps_differing: dict[str, dict[str, int]]  # TPS -> candidate id -> internal minus the true count
    tps_resubmitted: list[str]  # TPS with an earlier, different submission before the one that counts


def generate_internal_count(
    spec: RaceSpec,
    path: Path,
    seed: int = 2024,
    differing_share: float = 0.03,
    missing: int = 12,
    resubmitted: int = 8,
) -> InternalCountManifest:
    """A campaign's TPS-level internal count of `spec`, as its witnesses would send it.

    Starts from the complete count (the one the generated mirror and the official recap sum to),
    then: `missing` TPS never reported; `differing_share` of the rest copied wrongly, mostly in
    the campaign's favour (the last candidate, like the Rudy-Seno team's own claim) by a few to a
    few dozen votes, sometimes a slip either way; `resubmitted` TPS sent twice, the earlier
    submission different (a corrected typo): the later one counts. Wide CSV with suara_sah, DPT,
    witness and time. Deterministic for a seed; its draws never touch the mirror's.
    """
    tree, tps, _ = _draw(spec, seed)
    rng = random.Random(f"{seed}/internal")
    ids = [c.candidate_id for c in spec.candidates]
    favoured = len(ids) - 1
    codes = [t.code for t in tps]
    gone = set(rng.sample(codes, missing))
    reported = [t for t in tps if t.code not in gone]
    wrong = set(rng.sample([t.code for t in reported], round(differing_share * len(reported))))
    again = set(rng.sample([t.code for t in reported if t.code not in wrong], resubmitted))
    differing: dict[str, dict[str, int]] = {}
    lines = []
    header = ["kode_tps", *(f"suara_paslon_{c.nomor_urut:02d}" for c in spec.candidates), "suara_sah", "suara_tidak_sah", "dpt", "saksi", "dikirim"]
    for t in reported:
        votes = list(t.votes)
        if t.code in wrong:
            if rng.random() < 0.7:
                votes[favoured] += rng.randint(3, 40)
            else:
                c = rng.randrange(len(ids))
                votes[c] = max(0, votes[c] + rng.choice([-1, 1]) * rng.randint(1, 15))
            differing[t.code] = {ids[i]: votes[i] - t.votes[i] for i in range(len(ids)) if votes[i] != t.votes[i]}
            if not differing[t.code]:
                del differing[t.code]
        sent = 13 * 60 + rng.randint(0, 7 * 60)  # minutes after midnight on election day
        witness = f"SAKSI-{t.code[-7:]}"
        if t.code in again:
            typo = list(votes)
            typo[rng.randrange(len(ids))] += rng.choice([-10, 10, 100])
            typo = [max(0, v) for v in typo]
            lines.append(_internal_line(t, typo, witness, sent - rng.randint(20, 90)))
        lines.append(_internal_line(t, votes, witness, sent))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(header) + "\n")
        for line in lines:
            f.write(",".join(str(v) for v in line) + "\n")
    return InternalCountManifest(path, len(lines), len(reported), sorted(gone), differing, sorted(again))


def _internal_line(t: "_Tps", votes: list[int], witness: str, minutes: int) -> list:
    sent = f"2024-11-27 {minutes // 60:02d}:{minutes % 60:02d}"
    return [t.code, *votes, sum(votes), t.admin["suara_tidak_sah"], t.admin["pemilih_dpt_j"], witness, sent]


def write_official_recap(spec: RaceSpec, path: Path) -> Path:
    """The D.HASIL provincial recap of `spec` as transcribed spreadsheets have it: one row per
    kab/kota, one column per pair named beside its ballot number, a winner column and a total
    row under the province's code."""
    labels = [f"{_pair_label(c.name)}_{c.nomor_urut:02d}" for c in spec.candidates]
    ids = [c.candidate_id for c in spec.candidates]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(["kode_kab", "nama", *labels, "winner"]) + "\n")
        for kab in spec.kabkota:
            votes = [kab.votes[i] for i in ids]
            f.write(",".join([kab.code, kab.name, *map(str, votes), _winner(spec, votes)]) + "\n")
        totals = [sum(k.votes[i] for k in spec.kabkota) for i in ids]
        f.write(",".join([spec.province_code, f"{spec.province_name} (TOTAL)", *map(str, totals), _winner(spec, totals)]) + "\n")
    return path


def _pair_label(name: str) -> str:
    """'Dr. Ir. H. ISRAN NOOR, M.Si. - H. HADI MULYADI' -> 'isran_hadi': each person's first name, titles dropped."""
    titles = {"h", "hj", "dr", "drs", "ir", "prof", "kh", "st", "sh", "se"}
    firsts = []
    for person in name.split(" - "):
        for word in person.replace(",", " ").split():
            bare = word.strip(".").lower()
            if bare and "." not in word and bare not in titles and bare.isalpha():
                firsts.append(bare)
                break
    return "_".join(firsts) or "paslon"


def _winner(spec: RaceSpec, votes: list[int]) -> str:
    top = max(votes)
    leaders = [c.nomor_urut for c, v in zip(spec.candidates, votes) if v == top]
    return f"{leaders[0]:02d}" if len(leaders) == 1 else "tie"


@dataclass
class _Tps:
    code: str
    votes: list[int] = field(default_factory=list)  # aligned with spec.candidates
    admin: dict[str, int] = field(default_factory=dict)
    published: bool = False


@dataclass
class _Kel:
    code: str
    name: str
    tps: list[_Tps]


@dataclass
class _Kec:
    code: str
    name: str
    kelurahan: list[_Kel]


@dataclass
class _Kab:
    code: str
    name: str
    kecamatan: list[_Kec]


def _validate(spec: RaceSpec, progress: float) -> None:
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be within [0, 1], got {progress}")
    ids = [c.candidate_id for c in spec.candidates]
    if not ids or len(set(ids)) != len(ids):
        raise ValueError("candidate ids must be present and unique")
    if not (len(spec.province_code) == 2 and spec.province_code.isdigit()):
        raise ValueError(f"province code {spec.province_code!r} is not 2 digits")
    kecamatan = 0
    for kab in spec.kabkota:
        if not (len(kab.code) == 4 and kab.code.startswith(spec.province_code)):
            raise ValueError(f"kab/kota code {kab.code!r} is not inside province {spec.province_code}")
        if sorted(kab.votes) != sorted(ids) or min(kab.votes.values()) < 0:
            raise ValueError(f"{kab.code}: votes must give a count >= 0 for exactly the candidates {ids}")
        if not kab.kecamatan:
            raise ValueError(f"{kab.code}: no kecamatan")
        for kec in kab.kecamatan:
            if not (len(kec.code) == 6 and kec.code.startswith(kab.code)):
                raise ValueError(f"kecamatan code {kec.code!r} is not inside {kab.code}")
            if kec.tps < 1:
                raise ValueError(f"kecamatan {kec.code} has no TPS")
        kecamatan += len(kab.kecamatan)
    if not kecamatan <= spec.kelurahan_total <= spec.tps_total:
        raise ValueError(
            f"kelurahan_total {spec.kelurahan_total} must be between the kecamatan count {kecamatan} "
            f"and the TPS count {spec.tps_total} (every kecamatan has a kelurahan, every kelurahan a TPS)"
        )


def _layout(spec: RaceSpec, rng: random.Random) -> list[_Kab]:
    """Synthetic kelurahan/desa and TPS below the real kecamatan.

    Kelurahan per kecamatan follow its TPS count (at least one each, never more than its TPS);
    TPS per kelurahan vary (log-normal weights), at least one each.
    """
    kecs = [kec for kab in spec.kabkota for kec in kab.kecamatan]
    extra = _apportion(spec.kelurahan_total - len(kecs), [k.tps for k in kecs], [k.tps - 1 for k in kecs])
    kel_counts = iter(1 + n for n in extra)
    tree = []
    for kab in spec.kabkota:
        # Region codes: kelurahan (urban, in a kota: 3rd digit 7) number from 1001, desa from 2001.
        kind, prefix = ("KELURAHAN", "1") if kab.code[2] == "7" else ("DESA", "2")
        kab_node = _Kab(kab.code, kab.name, [])
        for kec in kab.kecamatan:
            n_kel = next(kel_counts)
            if n_kel > 999:
                raise ValueError(f"kecamatan {kec.code}: {n_kel} kelurahan do not fit 3-digit numbers")
            weights = [rng.lognormvariate(0.0, 0.5) for _ in range(n_kel)]
            # TPS numbers are 3 digits: at most 999 TPS per kelurahan.
            tps_counts = [1 + n for n in _apportion(kec.tps - n_kel, weights, [998] * n_kel)]
            kels = []
            for j, n_tps in enumerate(tps_counts, start=1):
                code = f"{kec.code}{prefix}{j:03d}"
                kels.append(_Kel(code, f"{kind} {code}", [_Tps(f"{code}{i:03d}") for i in range(1, n_tps + 1)]))
            kab_node.kecamatan.append(_Kec(kec.code, kec.name, kels))
        tree.append(kab_node)
    return tree


def _draw_votes(spec: RaceSpec, kab_spec: KabKota, kab: _Kab, rng: random.Random) -> None:
    """Split the kab/kota's official count over its TPS, exactly, each count <= the anomaly bound.

    Each TPS gets a size (voters who turned up, relative) and candidate shares that wander from
    the kab/kota's share by a kecamatan effect and a TPS effect (log scale); every candidate's
    kab/kota total is then apportioned over the TPS by size x share.
    """
    ids = [c.candidate_id for c in spec.candidates]
    official = [kab_spec.votes[c] for c in ids]
    grand = sum(official)
    base = [v / grand if grand else 1.0 / len(ids) for v in official]
    targets: list[list[float]] = [[] for _ in ids]
    tps_of_kab = []
    for kec in kab.kecamatan:
        kec_effect = [rng.gauss(0.0, 0.35) for _ in ids]
        for kel in kec.kelurahan:
            for tps in kel.tps:
                size = min(1.35, max(0.3, rng.gauss(1.0, 0.15)))
                weights = [b * math.exp(e + rng.gauss(0.0, 0.25)) for b, e in zip(base, kec_effect)]
                norm = sum(weights) or 1.0
                for c, w in enumerate(weights):
                    targets[c].append(size * w / norm)
                tps_of_kab.append(tps)
    cap = [MAX_VOTES_PER_CANDIDATE_TPS] * len(tps_of_kab)
    columns = [_apportion(total, target, cap) for total, target in zip(official, targets)]
    for t, tps in enumerate(tps_of_kab):
        tps.votes = [column[t] for column in columns]


def _draw_admin(spec: RaceSpec, tps: list[_Tps], rng: random.Random) -> None:
    """The administrasi block of every TPS, consistent by construction:
    suara_sah = candidate sum, sah + tidak_sah = suara_total = pengguna_total
    = pengguna_dpt + pengguna_dptb + pengguna_non_dpt, every _j = _l + _p,
    pengguna_dpt <= pemilih_dpt (also per sex); invalid votes and DPT sum exactly to the spec."""
    sah = [sum(t.votes) for t in tps]
    invalid = _apportion(
        spec.invalid_votes,
        [s * rng.lognormvariate(0.0, 0.45) for s in sah],
        [max(0, MAX_DPT_PER_TPS - s) for s in sah],
    )
    groups = []  # (pengguna_dpt, dptb, non_dpt) per TPS
    for s, bad in zip(sah, invalid):
        total = s + bad
        # Few voters come from outside the DPT; exponential draws give the many zeros seen in practice.
        dptb = min(total, round(total * _DPTB_RATE * rng.expovariate(1.0)))
        non_dpt = min(total - dptb, round(total * _NON_DPT_RATE * rng.expovariate(1.0)))
        groups.append((total - dptb - non_dpt, dptb, non_dpt))
    # Registered voters = DPT voters + abstainers; abstainers follow a per-TPS turnout, scaled so
    # the DPT sums exactly to the spec and no TPS exceeds the 600-voter limit.
    used = [g[0] for g in groups]
    abstain = _apportion(
        spec.dpt_total - sum(used),
        [u * (1.0 / min(0.95, max(0.35, rng.gauss(0.66, 0.06))) - 1.0) for u in used],
        [max(0, MAX_DPT_PER_TPS - u) for u in used],
    )
    for t, s, bad, (dpt, dptb, non_dpt), away in zip(tps, sah, invalid, groups, abstain):
        dpt_l, dpt_p = _split(dpt, _MALE_SHARE_PENGGUNA_DPT, rng)
        dptb_l, dptb_p = _split(dptb, _MALE_SHARE_DPTB, rng)
        non_l, non_p = _split(non_dpt, _MALE_SHARE_NON_DPT, rng)
        away_l, away_p = _split(away, _MALE_SHARE_ABSTAIN, rng)
        t.admin = {
            "suara_sah": s,
            "suara_tidak_sah": bad,
            "suara_total": s + bad,
            "pemilih_dpt_j": dpt + away,
            "pemilih_dpt_l": dpt_l + away_l,
            "pemilih_dpt_p": dpt_p + away_p,
            "pengguna_dpt_j": dpt,
            "pengguna_dpt_l": dpt_l,
            "pengguna_dpt_p": dpt_p,
            "pengguna_dptb_j": dptb,
            "pengguna_dptb_l": dptb_l,
            "pengguna_dptb_p": dptb_p,
            "pengguna_non_dpt_j": non_dpt,
            "pengguna_non_dpt_l": non_l,
            "pengguna_non_dpt_p": non_p,
            "pengguna_total_j": dpt + dptb + non_dpt,
            "pengguna_total_l": dpt_l + dptb_l + non_l,
            "pengguna_total_p": dpt_p + dptb_p + non_p,
        }


def _choose_published(spec: RaceSpec, tree: list[_Kab], tps: list[_Tps], count: int, rng: random.Random) -> None:
    """Mark `count` TPS published: the `count` that arrive first.

    Each TPS arrives after an exponential wait whose rate is its kab/kota's speed times its
    kecamatan's, so, as in a real snapshot, progress differs by region (the slow ones lag by
    several points) without any region being all done or all missing. Every kab/kota gets at
    least one published TPS when count allows."""
    keys: dict[str, float] = {}
    firsts = []
    for kab in tree:
        kab_speed = rng.uniform(0.6, 1.4)
        kab_keys = []
        for kec in kab.kecamatan:
            speed = kab_speed * rng.uniform(0.75, 1.25)
            for kel in kec.kelurahan:
                for t in kel.tps:
                    keys[t.code] = rng.expovariate(1.0) / speed
                    kab_keys.append((keys[t.code], t.code))
        firsts.append(min(kab_keys)[1])
    chosen = set(firsts) if count >= len(tree) else set()
    for code in sorted(keys, key=lambda c: (keys[c], c)):
        if len(chosen) >= count:
            break
        chosen.add(code)
    for t in tps:
        t.published = t.code in chosen


def _revise(spec: RaceSpec, tps: list[_Tps], revisions: Mapping[str, Mapping[str, int]]) -> None:
    """Apply corrections to published TPS (see `generate_mirror`); refuse any that cannot be."""
    by_code = {t.code: t for t in tps}
    ids = [c.candidate_id for c in spec.candidates]
    for code, changes in revisions.items():
        t = by_code.get(code)
        if t is None or not t.published:
            raise ValueError(f"revision of {code}: not a published TPS of this mirror")
        if set(changes) - set(ids):
            raise ValueError(f"revision of {code}: unknown candidate ids {sorted(set(changes) - set(ids))}")
        if sum(changes.values()) != 0:
            raise ValueError(f"revision of {code}: changes sum to {sum(changes.values())}, not 0")
        votes = [v + changes.get(c, 0) for c, v in zip(ids, t.votes)]
        if min(votes) < 0 or max(votes) > MAX_VOTES_PER_CANDIDATE_TPS:
            raise ValueError(f"revision of {code}: votes {votes} leave [0, {MAX_VOTES_PER_CANDIDATE_TPS}]")
        t.votes = votes


def _write(spec: RaceSpec, tree: list[_Kab], tps: list[_Tps], root: Path, faults: Mapping[str, str]) -> DemoManifest:
    ids = [c.candidate_id for c in spec.candidates]
    prov = spec.province_code
    ts = spec.ts
    written = 0
    made: set[str] = set()

    def put(rel: str, payload) -> None:
        nonlocal written
        path = os.path.join(root, rel)
        folder = os.path.dirname(path)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        with open(path, "wb") as f:
            f.write(orjson.dumps(payload))
        written += 1

    def progres(total: int, done: int) -> dict:
        return {"total": total, "persen": round(100 * done / total, 2) if total else 0.0, "progres": done}

    def row(votes: list[int], total: int, done: int) -> dict:
        # A child with nothing published carries no candidate keys: no data is not zero.
        r: dict = {"psu": "Reguler"}
        if done:
            r.update(zip(ids, votes))
        r["progres"] = progres(total, done)
        r["status_progress"] = done > 0
        return r

    def aggregate(rel: str, children: list[tuple[str, list[int], int, int]]) -> tuple[list[int], int, int]:
        """Write one aggregate node from its children's (code, votes, total, done); return its own."""
        votes = [sum(ch[1][c] for ch in children) for c in range(len(ids))]
        total = sum(ch[2] for ch in children)
        done = sum(ch[3] for ch in children)
        chart: dict = dict(zip(ids, votes)) if done else {}
        chart["progres"] = progres(total, done)
        put(
            rel,
            {
                "mode": "hhcw",
                "tungsura": {"chart": chart, "table": {code: row(v, t, d) for code, v, t, d in children}},
                "psu": "Reguler",
                "progres": {"total": total, "progres": done},
                "ts": ts,
            },
        )
        return votes, total, done

    def regions(rel: str, items: list[tuple[str, str]], tingkat: int) -> None:
        nonlocal next_id
        listing = []
        for code, name in items:
            listing.append({"nama": name, "id": next_id, "kode": code, "tingkat": tingkat})
            next_id += 1
        put(rel, sorted(listing, key=lambda r: (r["nama"], r["kode"])))  # the real lists are by name

    zero = [0] * len(ids)
    election, contest = spec.election, spec.contest
    hhcw = f"{election}/hhcw/{contest}/{prov}"
    wilayah = f"wilayah/{election}/{contest}/{prov}"
    next_id = 100_001  # region ids: any deterministic int, distinct from the codes

    put(
        f"{election}/paslon/{contest}.json",
        {
            prov: {
                c.candidate_id: {"ts": ts, "nama": c.name, "warna": c.colour, "nomor_urut": c.nomor_urut}
                for c in spec.candidates
            }
        },
    )
    regions(f"{wilayah}.json", [(k.code, k.name) for k in tree], 2)
    kab_rows = []
    per_kab: dict[str, dict[str, int]] = {}
    for kab in tree:
        regions(f"{wilayah}/{kab.code}.json", [(k.code, k.name) for k in kab.kecamatan], 3)
        kec_rows = []
        for kec in kab.kecamatan:
            regions(f"{wilayah}/{kab.code}/{kec.code}.json", [(k.code, k.name) for k in kec.kelurahan], 4)
            kel_rows = []
            for kel in kec.kelurahan:
                tps_rows = []
                for t in kel.tps:
                    put(f"{hhcw}/{kab.code}/{kec.code}/{kel.code}/{t.code}.json", _tps_payload(spec, t, faults.get(t.code)))
                    tps_rows.append((t.code, t.votes if t.published else zero, 1, int(t.published)))
                kel_rows.append((kel.code, *aggregate(f"{hhcw}/{kab.code}/{kec.code}/{kel.code}.json", tps_rows)))
            kec_rows.append((kec.code, *aggregate(f"{hhcw}/{kab.code}/{kec.code}.json", kel_rows)))
        kab_row = (kab.code, *aggregate(f"{hhcw}/{kab.code}.json", kec_rows))
        per_kab[kab.code] = dict(zip(ids, kab_row[1]))
        kab_rows.append(kab_row)
    province_votes, _, _ = aggregate(f"{hhcw}.json", kab_rows)

    return DemoManifest(
        root=root,
        files_written=written,
        tps_total=len(tps),
        tps_published=sum(t.published for t in tps),
        published_votes=dict(zip(ids, province_votes)),
        complete_votes={c: sum(k.votes[c] for k in spec.kabkota) for c in ids},
        per_kabkota_published=per_kab,
        tps_errors=dict(faults),
    )


def _tps_payload(spec: RaceSpec, t: _Tps, fault: str | None = None) -> dict:
    """One TPS node; an unpublished TPS has its file with both blocks null (not zeros).
    `fault` (a SirekapErrors kind) changes what the file publishes, never the TPS's true count."""
    if t.published:
        chart = dict(zip((c.candidate_id for c in spec.candidates), t.votes))
        base = f"https://sirekap-obj-formc.kpu.go.id/demo/{spec.election}/{spec.contest}/{t.code}"
        admin, images = dict(t.admin), [f"{base}-1.jpg", f"{base}-2.jpg"]
        first = spec.candidates[0].candidate_id
        if fault == "ocr_inflated":
            chart[first] = int(f"9{chart[first]}")
        elif fault == "arithmetic_slip":
            admin["suara_sah"] += SirekapErrors.SLIP_VOTES
        elif fault == "chart_only":
            admin = None
        elif fault == "admin_only":
            chart = None
    else:
        chart, admin, images = None, None, [None, None]
    return {
        "mode": "hhcw",
        "tungsura": {"chart": chart, "administrasi": admin},
        "images": images,
        "psu": "Reguler",
        "ts": spec.ts,
        "status_suara": chart is not None,
        "status_adm": admin is not None,
    }


def _split(n: int, male_share: float, rng: random.Random) -> tuple[int, int]:
    """Split n people into (male, female), binomial-like around male_share."""
    spread = math.sqrt(n * male_share * (1.0 - male_share))
    male = min(n, max(0, round(n * male_share + rng.gauss(0.0, spread))))
    return male, n - male


def _apportion(total: int, weights: list[float], caps: list[int] | None = None) -> list[int]:
    """Split the integer `total` over the slots proportionally to `weights`, summing exactly.

    Largest remainder, with water-filling for caps: a slot whose share would exceed its cap is
    pinned at the cap and the rest re-shared among the others. Weights are turned into integers
    first so the arithmetic is exact (no float drift can break the sum or a cap). Ties go to
    the lower index, so the result is deterministic.
    """
    n = len(weights)
    caps = list(caps) if caps is not None else [total] * n
    if total < 0 or sum(caps) < total:
        raise ValueError(f"cannot apportion {total} over {n} slots with capacity {sum(caps)}")
    top = max(weights, default=0.0)
    iw = [int(w / top * (1 << 40)) if top > 0 and w > 0 else 0 for w in weights]
    result = [0] * n
    active = [i for i in range(n) if caps[i] > 0]
    remaining = total
    while remaining and active:
        wsum = sum(iw[i] for i in active)
        if wsum == 0:  # only zero weights left: share equally
            for i in active:
                iw[i] = 1
            wsum = len(active)
        over = [i for i in active if remaining * iw[i] > caps[i] * wsum]
        if over:
            for i in over:
                result[i] = caps[i]
                remaining -= caps[i]
            pinned = set(over)
            active = [i for i in active if i not in pinned]
            continue
        fracs = []
        for i in active:
            q, r = divmod(remaining * iw[i], wsum)
            result[i] = q
            fracs.append((-r, i))
        left = remaining - sum(result[i] for i in active)
        # Shares are <= caps, so a slot with a remainder has floor < cap and can take one more.
        for _, i in sorted(fracs)[:left]:
            result[i] += 1
        remaining = 0
    return result

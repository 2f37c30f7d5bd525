"""Paths to the real data beside the clone, and small helpers tests share."""

from __future__ import annotations

from pathlib import Path

import zipfile
from xml.sax.saxutils import escape

import orjson

from flows.settings import PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
KALTIM = SHARED_DATA / "sirekap" / "pilkada2024-kaltim"
KALTIM_0100 = KALTIM / "2024-11-28T01-00"
KALTIM_1015 = KALTIM / "2024-11-28T10-15"
SERIBU = SHARED_DATA / "sirekap" / "pemilu2024-kepulauan-seribu"
WILAYAH_KALTIM = SHARED_DATA / "wilayah" / "pemilu2024-kaltim"
OFFICIAL_RECAP = SHARED_DATA / "kpu-rekap" / "kaltim-pilgub2024-dhasil-prov.csv"
CLAIM = SHARED_DATA / "internal-count" / "kaltim-pilgub2024-claim-rudy-seno.csv"


def write_json(path: Path, payload) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload if isinstance(payload, bytes) else orjson.dumps(payload))
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    """A minimal one-sheet .xlsx (the Office Open XML parts a reader needs), so tests need no writer library.

    Numbers become numeric cells, text inline strings, None an absent cell."""

    def column(index: int) -> str:
        name, index = "", index + 1
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        return name

    def cell(r: int, c: int, value) -> str:
        ref = f"{column(c)}{r + 1}"
        if value is None:
            return ""
        if isinstance(value, (int, float)):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    doc = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet = f'<worksheet xmlns="{main}"><sheetData>' + "".join(
        f'<row r="{i + 1}">' + "".join(cell(i, j, v) for j, v in enumerate(row)) + "</row>" for i, row in enumerate(rows)
    ) + "</sheetData></worksheet>"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml",
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                   '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')  # fmt: skip
        z.writestr("_rels/.rels", f'<Relationships xmlns="{rels}"><Relationship Id="rId1" Type="{doc}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{main}" xmlns:r="{doc}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{rels}"><Relationship Id="rId1" Type="{doc}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def load_and_build(warehouse: Path, *sources: Path, election_year: int = 2024, internal=(), official=(), columns: Path | None = None):
    """One night through the pipeline function, without Prefect: for fast tests of loading and
    models. Returns an open read-only connection to the published warehouse; the caller closes it."""
    from flows.pipeline import run_night
    from flows.settings import Settings
    from warehouse.db import connect

    run_night(Settings(warehouse=warehouse, sirekap=sources, election_year=election_year, internal=tuple(internal),
                       official=tuple(official), columns=columns))  # fmt: skip
    return connect(warehouse, read_only=True)


def mini_race():
    """A small synthetic Pilkada race for crawl tests: 2 kab/kota, 4 kecamatan, 8 kelurahan,
    24 TPS; 47 endpoint files (1 candidate master, 7 region lists, 15 aggregates, 24 TPS)."""
    from flows.sources.demo import Candidate, KabKota, Kecamatan, RaceSpec

    return RaceSpec(
        election="pilkada",
        contest="pkwkp",
        province_code="99",
        province_name="DEMO",
        candidates=(Candidate("7", 1, "PAIR A", "#111111"), Candidate("5", 2, "PAIR B", "#222222")),
        kabkota=(
            KabKota("9901", "KAB DEMO", {"7": 1_200, "5": 1_600}, (Kecamatan("990101", "SATU", 5), Kecamatan("990102", "DUA", 6))),
            KabKota("9971", "KOTA DEMO", {"7": 2_000, "5": 1_500}, (Kecamatan("997101", "TIGA", 6), Kecamatan("997102", "EMPAT", 7))),
        ),
        kelurahan_total=8,
        invalid_votes=150,
        dpt_total=10_000,
        ts="2024-11-28 01:00:00",
    )


def load_only(warehouse: Path, *sources: Path, election_year: int = 2024):
    """Read, validate and load sources into the raw layer (no models): an open read-only connection."""
    from flows.pipeline import run_night
    from flows.settings import Settings
    from warehouse.db import connect

    run_night(Settings(warehouse=warehouse, sirekap=sources, election_year=election_year), build_models=False)
    return connect(warehouse, read_only=True)

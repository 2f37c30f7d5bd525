"""The report as static pages: `index.html` (every race, the kab/kota table, flagged TPS, search)
and one page per kab/kota drilling down to its kecamatan, kelurahan and TPS.

The pages need nothing outside the folder: styles are inline, charts are inline SVG, and the one
script (the search box) is inline and allowed by its hash alone. The Content-Security-Policy
forbids every other load, so a slip (a remote font, an image) shows up as a blocked load in a
browser, not as a page that quietly phones out. Form photos are links, never loaded.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path

import duckdb
import polars as pl

from report.data import SOURCES, Report, collect
from report.i18n import label, number, percent, signed_number
from report.render import _names, race_id
from schemas import regions
from warehouse.storage import lake_tables

SOURCE_COLOURS = {"internal": "#6a4c93", "sirekap": "#1769aa", "official": "#2e7d32"}
SEARCH_RESULTS_SHOWN = 40
# A rule's TPS findings listed one by one on index.html up to this many; past it, counted by kab/kota
# (each kab/kota's page lists its own).
FLAGGED_LISTED = 100
# The kab/kota of a frame's `code` (a region's or a TPS's): its first KABKOTA_LENGTH digits.
KABKOTA_OF_CODE = pl.col("code").str.slice(0, regions.KABKOTA_LENGTH)

CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:0;background:#f6f7f9;overflow-wrap:anywhere}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;margin:28px 0 10px;border-bottom:2px solid #d9dde3;padding-bottom:4px}
h3{font-size:17px;margin:14px 0 8px}small,.muted{color:#5b6470}a{color:#0b57a4}
.race{background:#fff;border:1px solid #d9dde3;border-left:6px solid #8a94a0;border-radius:6px;padding:12px 14px;margin:0 0 14px}
.race.safe{border-left-color:#2e7d32}.race.at_risk{border-left-color:#ed8b00}.race.flips{border-left-color:#c62828}
.badge{display:inline-block;font-weight:700;font-size:13px;padding:2px 8px;border-radius:4px;color:#fff;margin-right:8px}
.badge.safe{background:#2e7d32}.badge.at_risk{background:#ed8b00}.badge.flips{background:#c62828}.badge.withheld{background:#6d4c41}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 10px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6e9ee;vertical-align:top}th{font-size:13px;color:#5b6470;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
svg.bars{display:block;width:100%;height:auto;max-width:560px}
.legend{margin:4px 0;font-size:13px}.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;border-radius:2px}
.status{font-size:12px;padding:1px 6px;border-radius:3px;background:#eef0f3;white-space:nowrap}
.status.flagged{background:#fde0e0}.status.incomplete,.status.empty{background:#fff1d6}.status.valid{background:#e3f3e4}
details{background:#fff;border:1px solid #e0e3e8;border-radius:4px;margin:4px 0;padding:4px 8px}
summary{cursor:pointer;font-weight:600}summary .votes{display:block;font-weight:400;font-size:13px;color:#3d4550;margin-left:18px}
#search{width:100%;font-size:16px;padding:8px;border:1px solid #b8bfc8;border-radius:4px}
#search-results{list-style:none;padding:0;margin:6px 0}#search-results li{padding:3px 0}
ul.findings{margin:2px 0;padding-left:18px}
nav.top{margin-bottom:8px}
@media (max-width:700px){
  main{padding:10px}
  table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
  table.cards tr:first-child{display:none}
  table.cards tr{border-bottom:2px solid #d9dde3;padding:4px 0}
  table.cards td{border:0;padding:2px 4px;text-align:left}
  table.cards td[data-label]::before{content:attr(data-label) ": ";color:#5b6470;font-size:13px}
}
"""

# A link to a TPS (#r-<code>) lands inside closed <details>: open them so the row shows.
OPEN_TARGET_SCRIPT = """
(function () {
  function open() {
    var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    for (var node = target; node; node = node.parentElement) if (node.tagName === "DETAILS") node.open = true;
    if (target) target.scrollIntoView();
  }
  window.addEventListener("hashchange", open);
  open();
})();
"""

SEARCH_SCRIPT = """
(function () {
  var index = JSON.parse(document.getElementById("search-index").textContent);
  var box = document.getElementById("search"), list = document.getElementById("search-results");
  var texts = JSON.parse(document.getElementById("search-texts").textContent);
  // Each entry is [code, name, tps, parent]: the link and the parent's name follow from the code
  // (the parent's own entry names it, unless a fourth item does), and "1-12 15" are the TPS of a
  // kelurahan, numbered 001-012 and 015.
  // The region codes' shape comes from schemas/regions.py: each code length's parent's, the kab/kota's.
  var names = {}, codes = texts.codes;
  index.forEach(function (e) { names[e[0]] = e[1]; });
  function page(code) { return codes.page.replace("{}", code.slice(0, codes.kabkota)); }
  var entries = index.map(function (e) {
    var code = e[0], below = code.length > codes.kabkota;
    var parent = e.length > 3 ? e[3] : below ? names[code.slice(0, codes.parent[code.length])] || "" : "";
    return {code: code, name: e[1], tps: e[2] || "", shown: e[1] + (e[1] && parent ? ", " : "") + parent,
            link: below ? page(code) + "#r-" + code : page(code)};
  });
  function numbers(ranges) {
    var out = [];
    ranges.split(" ").forEach(function (range) {
      var ends = range.split("-"), first = +ends[0], last = +ends[ends.length - 1];
      for (var n = first; n <= last; n++) out.push(("00" + n).slice(-3));
    });
    return out;
  }
  function search() {
    var q = box.value.trim().toLowerCase();
    while (list.firstChild) list.removeChild(list.firstChild);
    if (q.length < 2) return;
    function matches(code, name) { return code.indexOf(q) === 0 || name.toLowerCase().indexOf(q) !== -1; }
    var hits = [];
    entries.forEach(function (e) {
      if (matches(e.code, e.shown)) hits.push([e.code, e.shown, e.link]);
      if (!e.tps) return;
      // The kelurahan's TPS, in code order after it: "TPS 001, <kelurahan name>".
      var named = e.name ? ", " + e.name : "", at = page(e.code) + "#r-";
      numbers(e.tps).forEach(function (number) {
        var code = e.code + number, name = "TPS " + number + named;
        if (matches(code, name)) hits.push([code, name, at + code]);
      });
    });
    hits.slice(0, texts.limit).forEach(function (e) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = e[2]; a.textContent = e[0] + " " + e[1]; li.appendChild(a); list.appendChild(li);
    });
    if (hits.length === 0 || hits.length > texts.limit) {
      var note = document.createElement("li");
      note.className = "muted";
      note.textContent = hits.length === 0 ? texts.none : texts.more.replace("{shown}", texts.limit).replace("{total}", hits.length);
      list.appendChild(note);
    }
  }
  box.addEventListener("input", search);
  // index.html?q=6472 opens with that search done: a link that can be shared.
  var given = new URLSearchParams(location.search).get("q");
  if (given) { box.value = given; search(); }
})();
"""


@dataclass
class Drilldown:
    """What the kab/kota pages show beyond the Report: every level below the kab/kota, and the TPS."""

    region_votes: pl.DataFrame  # election x contest x region (kecamatan, kelurahan, tps) x source x candidate
    region_names: dict[str, str]
    tps: pl.DataFrame  # tps_status, the columns shown
    findings: pl.DataFrame  # anomalies at every level
    history: pl.DataFrame  # node_history of TPS
    corrections: pl.DataFrame  # corrections of TPS in the latest run, those whose counts moved


def collect_drilldown(con: duckdb.DuckDBPyConnection) -> Drilldown:
    tables = lake_tables(con)

    def frame(sql: str, table: str) -> pl.DataFrame:
        return con.execute(sql).pl() if table in tables else pl.DataFrame()

    return Drilldown(
        region_votes=con.execute(
            """select election, contest, race_code, level, region_code, left(region_code, 4) as kabkota_code, source,
                      candidate_key, votes, complete, tps_covered, tps_total
               from int_source_votes where level in ('kecamatan', 'kelurahan', 'tps')
               order by election, contest, region_code, source, candidate_key"""
        ).pl(),
        region_names=dict(con.execute("select code, any_value(region_name) from int_region_names group by code").fetchall()),
        # The columns a TPS row shows (a national tps_status whole is 20 columns, 322 MB as a frame).
        tps=frame(
            """select election, contest, tps_code, kabkota_code, completeness, status, withheld, images
               from tps_status order by election, contest, tps_code""",
            "tps_status",
        ),
        findings=frame(
            """select election, contest, level, code, rule_id, severity, observed, expected, message_id, message_en, images
               from anomalies order by election, contest, rule_id, code""",
            "anomalies",
        ),
        history=frame(
            """select election, contest, code, spell, valid_from, valid_to, is_current, withheld, has_chart, vote_sum, source_ts
               from node_history where level = 'tps' order by election, contest, code, spell""",
            "node_history",
        ),
        # The counts that moved (a first night's corrections are every node, each `new`, with no
        # delta: 1.6 million rows nationally, none of them shown).
        corrections=frame(
            """select election, contest, code, change_kind, candidate_id, votes_before, votes_after, delta
               from corrections where level = 'tps' and delta is not null order by election, contest, code, candidate_id""",
            "corrections",
        ),
    )


def write_site(con: duckdb.DuckDBPyConnection, out_dir: Path, lang: str = "id", warehouse: str = "", workers: int | None = None) -> list[Path]:
    """Write index.html and one page per kab/kota into out_dir (the pages by `workers` processes,
    default one per core, when there are many: write_pages); return the paths written."""
    report = collect(con, warehouse)
    drill = collect_drilldown(con)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    site = _Site(report, drill, lang)
    (out_dir / "index.html").write_text(site.index(), encoding="utf-8")
    return [out_dir / "index.html", *write_pages(site, site.kabkota_codes(), out_dir, workers or os.cpu_count() or 1)]


# Past this many kab/kota pages, worker processes (one per core) write them: a national report's
# 1,311 pages took 35 of its 42 s in one process. Below it, starting them costs more than it saves.
PARALLEL_PAGES = 64
PAGES_IN_FLIGHT = 4  # pages handed to each worker ahead of the one it writes: each page's rows are a copy


def write_pages(site: _Site, codes: list[str], out_dir: Path, workers: int) -> list[Path]:
    """Write the kab/kota pages of `codes`, in this process or, past PARALLEL_PAGES, in `workers`
    processes, each handed a page's rows and writing it whole; the paths, in `codes`' order."""
    paths = [out_dir / page_name(code) for code in codes]
    if workers <= 1 or len(codes) <= PARALLEL_PAGES:
        for code, path in zip(codes, paths):
            path.write_text(site.kabkota_page(code), encoding="utf-8")
        return paths
    # Started by forkserver, never forked from this process (its DuckDB and polars threads).
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_page_worker,
                             initargs=(site.report, site.drill.region_names, site.lang)) as pool:  # fmt: skip
        pending: deque[Future] = deque()
        for code, path in zip(codes, paths):
            rows = {name: _portable(site.page_rows(name, code)) for name in site.pages}
            pending.append(pool.submit(_write_page, path, code, rows))
            while len(pending) > workers * PAGES_IN_FLIGHT:
                pending.popleft().result()
        for page in pending:
            page.result()
    return paths


_worker_site: _Site | None = None  # a page worker's site, drawn from one page's rows at a time


def _start_page_worker(report: Report, region_names: dict[str, str], lang: str) -> None:
    global _worker_site
    nothing = pl.DataFrame()
    _worker_site = _Site(report, Drilldown(nothing, region_names, nothing, nothing, nothing, nothing), lang)


def _portable(frame: pl.DataFrame) -> bytes:
    """A page's rows as Arrow IPC in its oldest form (plain strings): a frame gathered from a
    larger one keeps its string views into that frame's buffers, and pickled whole they were
    117 MB for a page of 293 TPS rows, 78 KB this way."""
    out = io.BytesIO()
    frame.write_ipc(out, compat_level=pl.CompatLevel.oldest())
    return out.getvalue()


def _write_page(path: Path, code: str, rows: dict[str, bytes]) -> None:
    """In a page worker: write kab/kota `code`'s page from its rows (Drilldown's frames cut to it)."""
    _worker_site.use(replace(_worker_site.drill, **{name: pl.read_ipc(io.BytesIO(data)) for name, data in rows.items()}))
    path.write_text(_worker_site.kabkota_page(code), encoding="utf-8")


def _numbered(runs: list[list[int]]) -> str:
    """TPS numbers as the search index writes them: [[1, 3], [5, 5]] -> "1-3 5"."""
    return " ".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)


def page_name(kabkota_code: str) -> str:
    return f"kabkota-{kabkota_code}.html"


def _page(title: str, body: str, lang: str, script: str | None = None) -> str:
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    if script:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        policy += f"; script-src 'sha256-{digest}'"
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body><main>\n{body}\n</main>"
        + (f"<script>{script}</script>" if script else "")
        + "</body></html>\n"
    )


def _json_for_script(value) -> str:
    # Inside <script type="application/json"> only "</" could end the element early.
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


class _Site:
    def __init__(self, report: Report, drill: Drilldown, lang: str) -> None:
        self.report, self.lang = report, lang
        self.races = list(report.races.iter_rows(named=True))
        self._labels: dict[str, str] = {}
        self.names = {(r["election"], r["contest"], r["race_code"]): _names(report, r) for r in self.races}
        self.use(drill)

    def use(self, drill: Drilldown) -> None:
        """Draw the kab/kota pages from `drill` (a page worker is handed one page's rows at a time)."""
        self.drill = drill
        # Each kab/kota page's rows, cut once: a national warehouse has 514 pages and 823,236 TPS,
        # and filtering every frame for each page, or for each TPS on it, grows with their product.
        self.pages = {
            "region_votes": _ByKabkota(drill.region_votes, pl.col("kabkota_code")),
            "tps": _ByKabkota(drill.tps, pl.col("kabkota_code")),
            "findings": _ByKabkota(drill.findings, KABKOTA_OF_CODE),
            "history": _ByKabkota(drill.history, KABKOTA_OF_CODE),
            "corrections": _ByKabkota(drill.corrections, KABKOTA_OF_CODE),
        }

    def page_rows(self, name: str, kabkota: str) -> pl.DataFrame:
        """Frame `name` of the Drilldown cut to kab/kota `kabkota` (a code's first four digits)."""
        return self.pages[name].get(kabkota)

    # --- small helpers ---------------------------------------------------------------------------

    def t(self, key: str, **values) -> str:
        if values:
            return escape(label(key, self.lang, **values))
        # A plain label, once a site: a TPS row asks for eight (a national report has 822,000 rows).
        if key not in self._labels:
            self._labels[key] = escape(label(key, self.lang))
        return self._labels[key]

    def n(self, value) -> str:
        return number(value, self.lang)

    def region_name(self, code: str) -> str:
        """The region's name ('' when no region list names it: the code beside it says it all)."""
        if len(code) == 13:
            return f"TPS {code[-3:]}"
        return self.drill.region_names.get(code) or ""

    def race_names(self, election: str, contest: str, code: str) -> dict[str, dict]:
        """Candidate names of the race a region belongs to (a kab/kota race for pkwkk)."""
        for (e, c, race_code), names in self.names.items():
            if e == election and c == contest and code.startswith(race_code if race_code != "0" else ""):
                return names
        return {}

    def kabkota_codes(self) -> list[str]:
        codes = set(self.report.regions["region_code"].to_list()) if self.report.regions.height else set()
        for frame in (self.drill.region_votes, self.drill.tps):
            if frame.height:
                codes.update(frame["kabkota_code"].unique().to_list())
        return sorted(codes)

    # --- index -----------------------------------------------------------------------------------

    def index(self) -> str:
        r = self.report
        head = (f"<header><h1>{self.t('title')}</h1><p class=\"muted\">{self.t('subtitle')} · {self.t('generated')} "
                f"{escape(r.generated_at)}" + (f" · {self.t('warehouse')} <code>{escape(r.warehouse)}</code>" if r.warehouse else "")
                + "</p></header>")  # fmt: skip
        search = (f'<section id="find"><label for="search"><b>{self.t("search")}</b></label>'
                  f'<input id="search" type="search" autocomplete="off" placeholder="{self.t("search_placeholder")}">'
                  '<ul id="search-results" aria-live="polite"></ul></section>')  # fmt: skip
        body = [head, search]
        if r.empty:
            body.append(f"<p>{self.t('no_races')}</p>")
        else:
            body.append(f'<section id="races"><h2>{self.t("races")}</h2>' + "".join(self.race_card(race) for race in self.races) + "</section>")
            body.append(f'<section id="regions"><h2>{self.t("by_kabkota")}</h2>' + self.kabkota_tables() + "</section>")
            body.append(self.discrepancies())
        body.append(self.flagged_section(self.drill.findings, link=True))
        body.append(self.withheld_section(self.drill.findings, link=True))
        body.append(self.quality())
        texts = {"none": label("search_none", self.lang), "more": label("search_more", self.lang, shown="{shown}", total="{total}"),
                 "limit": SEARCH_RESULTS_SHOWN,
                 "codes": {"parent": regions.PARENT_LENGTH, "kabkota": regions.KABKOTA_LENGTH, "page": page_name("{}")}}  # fmt: skip
        body.append(f'<script type="application/json" id="search-index">{_json_for_script(self.search_index())}</script>')
        body.append(f'<script type="application/json" id="search-texts">{_json_for_script(texts)}</script>')
        return _page(label("title", self.lang), "\n".join(body), self.lang, script=SEARCH_SCRIPT)

    def search_index(self) -> list[list[str]]:
        """[code, name, TPS, parent] for every region and TPS the pages show, in code order (the
        last two only when needed); the search script (SEARCH_SCRIPT) makes each one's link and
        shown name from it.

        The link follows from the code (kabkota-<first four digits>.html, #r-<code> below the
        kab/kota) and the parent's name from the parent's own entry, so neither is written; the
        fourth item names the parent only when it has no entry. A TPS after its kelurahan's entry
        rides on it: the third item numbers them in runs ("1-12 15": TPS 001 to 012 and 015).
        Each TPS written whole, with its link and its kelurahan's name, made a national
        index.html 84 MB, and every entry written with them 21 MB."""
        kabkota = self.kabkota_codes()
        below = [frame[column] for frame, column in ((self.drill.region_votes, "region_code"), (self.drill.tps, "tps_code")) if frame.height]
        codes = pl.concat(below).unique().sort().to_list() if below else []
        known = set(kabkota)
        listed = [*kabkota, *(code for code in codes if code not in known)]
        shown = set(listed)
        entries: list[list[str]] = []
        runs: list[list[int]] = []  # the TPS numbers riding on the last kelurahan's entry, as [first, last] runs
        kelurahan = None  # the last kelurahan listed, while its TPS follow
        for code in listed:
            if len(code) == 13 and kelurahan is not None and regions.parent(code) == kelurahan:
                n = int(code[10:])
                if runs and n == runs[-1][1] + 1:
                    runs[-1][1] = n
                else:
                    runs.append([n, n])
                continue
            if runs:
                entries[-1][2], runs = _numbered(runs), []
            parent_code = regions.parent(code) or ""
            parent = self.region_name(parent_code) if len(code) > regions.KABKOTA_LENGTH and parent_code not in shown else ""
            entries.append([code, self.region_name(code), "", parent])
            kelurahan = code if len(code) == 10 else None
        if runs:
            entries[-1][2] = _numbered(runs)
        # Trailing empty items dropped: most entries are [code, name].
        for entry in entries:
            while len(entry) > 2 and not entry[-1]:
                entry.pop()
        return entries

    def race_card(self, race: dict) -> str:
        names = self.names[(race["election"], race["contest"], race["race_code"])]
        votes = self.report.race_votes.filter(
            (pl.col("election") == race["election"]) & (pl.col("contest") == race["contest"]) & (pl.col("race_code") == race["race_code"])
        )
        present = [s for s in SOURCES if s in set(votes["source"])]
        verdict = race["verdict"]
        leader_key = (f"{race['leader_nomor_urut']:02d}" if race["leader_nomor_urut"] is not None
                      else f"id {race['leader_candidate_id']}" if race["leader_candidate_id"] is not None else None)  # fmt: skip
        if leader_key is not None:
            shorts = [label(f"{s}_short", self.lang) for s in present]
            sources = shorts[0] if len(shorts) == 1 else ", ".join(shorts[:-1]) + f" {label('and', self.lang)} " + shorts[-1]
            headline = self.t("leader_under", sources=sources, name=f"{leader_key} {names.get(leader_key, {}).get('name', '')}".strip())
        elif verdict == "flips":
            headline = self.t("sources_disagree")
        else:
            headline = self.t("no_leader")
        partial = []
        for source in present:
            first = votes.filter(pl.col("source") == source).row(0, named=True)
            if not first["complete"]:
                partial.append(f"{label(f'{source}_short', self.lang)} " + label("of_tps", self.lang, done=self.n(first["tps_covered"]), total=self.n(first["tps_total"])))
        coverage = self.t("partial_headline", parts="; ".join(partial)) if partial else self.t("complete_headline")
        return (
            f'<article class="race {verdict}" id="race-{escape(race_id(race).replace("/", "-"))}">'
            f"<h3>{escape(race['contest_name'])} · {escape(race['race_name'] or race['race_code'])} <small>{escape(race_id(race))}</small></h3>"
            f'<p class="headline"><span class="badge {verdict}">{self.t("verdict_" + verdict)}</span><b>{headline}</b> {coverage}</p>'
            + self.candidate_table(votes, names, present)
            + self.bars(votes, names, present)
            + f'<p class="muted">{self.stake(race)}</p></article>'
        )

    def candidate_table(self, votes: pl.DataFrame, names: dict[str, dict], present: list[str]) -> str:
        """Every candidate's votes and share under every source present."""
        keys = sorted(set(votes["candidate_key"]))
        totals = {s: votes.filter(pl.col("source") == s)["votes"].sum() for s in present}
        head = f"<tr><th>{self.t('candidate')}</th>" + "".join(f'<th class="n">{self.t(s)}</th>' for s in present) + "</tr>"
        rows = []
        for key in keys:
            cells = []
            for source in present:
                found = votes.filter((pl.col("source") == source) & (pl.col("candidate_key") == key))
                value = found["votes"][0] if found.height else None
                share = 100 * value / totals[source] if value is not None and totals[source] else None
                text = f"{self.n(value)} ({percent(share, self.lang)})" if value is not None else "—"
                cells.append(f'<td class="n" data-label="{self.t(source)}">{text}</td>')
            rows.append(f"<tr><td>{escape(key)} {escape(names.get(key, {}).get('name', ''))}</td>" + "".join(cells) + "</tr>")
        return f'<table class="cards">{head}{"".join(rows)}</table>'

    def stake(self, race: dict) -> str:
        parts = [f"{self.t('margin')}: {self.n(race['margin_votes'])}", f"{self.t('at_stake')}: {self.n(race['votes_at_stake'])}"]
        return " · ".join(parts)

    def bars(self, votes: pl.DataFrame, names: dict[str, dict], present: list[str]) -> str:
        """One bar per candidate per source, length proportional to the votes; a legend of the candidates."""
        keys = sorted(set(votes["candidate_key"]))
        biggest = max((v for v in votes["votes"] if v is not None), default=0) or 1
        label_w, bar_w, row_h, gap, group_gap = 90, 330, 14, 3, 10
        rows = [(key, source) for key in keys for source in present]
        height = len(rows) * (row_h + gap) + len(keys) * group_gap
        width = label_w + bar_w + 80
        parts = [f'<svg class="bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{self.t("chart_label")}">']
        y = 0
        for i, key in enumerate(keys):
            colour = names.get(key, {}).get("colour", "#8a94a0")
            for source in present:
                found = votes.filter((pl.col("source") == source) & (pl.col("candidate_key") == key))
                value = found["votes"][0] if found.height else None
                parts.append(f'<text x="0" y="{y + row_h - 3}" font-size="12" fill="#5b6470">{escape(key)} {self.t(source + "_short")}</text>')
                if value is None:
                    parts.append(f'<text x="{label_w}" y="{y + row_h - 3}" font-size="12" fill="#9aa3ad">{self.t("no_number")}</text>')
                else:
                    w = bar_w * value / biggest
                    parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row_h}" fill="{colour}" stroke="{SOURCE_COLOURS[source]}" stroke-width="2">'
                                 f"<title>{escape(key)} {self.t(source)}: {self.n(value)}</title></rect>")
                    parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + row_h - 3}" font-size="12" fill="#1b1f24">{self.n(value)}</text>')
                y += row_h + gap
            y += group_gap if i < len(keys) - 1 else 0
        parts.append("</svg>")
        legend = '<p class="legend"><b>' + self.t("legend") + ":</b> " + "".join(
            f'<span><i style="background:{names.get(k, {}).get("colour", "#8a94a0")}"></i>{escape(k)} {escape(names.get(k, {}).get("name", ""))}</span>' for k in keys
        ) + "".join(f'<span><i style="background:#fff;border:2px solid {SOURCE_COLOURS[s]}"></i>{self.t(s)}</span>' for s in present) + "</p>"
        return "".join(parts) + legend

    def kabkota_tables(self) -> str:
        regions = self.report.regions
        if regions.is_empty():
            return ""
        out = []
        for group in regions.partition_by(["election", "contest"], maintain_order=True):
            election, contest = group["election"][0], group["contest"][0]
            contest_races = [r for r in self.races if r["election"] == election and r["contest"] == contest]
            title = contest_races[0]["contest_name"] if contest_races else contest
            out.append(f"<h3>{escape(title)} <small>{escape(election)}/{escape(contest)}</small></h3>")
            for region in group.partition_by(["region_code"], maintain_order=True):
                code = region["region_code"][0]
                names = self.race_names(election, contest, code)
                present = [s for s in SOURCES if s in set(region["source"])]
                out.append(f'<details id="kab-{escape(contest)}-{escape(code)}"><summary>{escape(code)} {escape(self.region_name(code))}</summary>'
                           f'<p><a href="{page_name(code)}">{self.t("open_region")} →</a> {self.coverage_text(region, present)}</p>'
                           + self.candidate_table(region, names, present) + self.bars(region, names, present) + "</details>")  # fmt: skip
        return "".join(out)

    def coverage_text(self, votes: pl.DataFrame, present: list[str]) -> str:
        parts = []
        for source in present:
            first = votes.filter(pl.col("source") == source).row(0, named=True)
            if not first["complete"]:
                parts.append(f"{label(f'{source}_short', self.lang)} " + label("of_tps", self.lang, done=self.n(first["tps_covered"]), total=self.n(first["tps_total"])))
        return f'<span class="muted">{self.t("partial_headline", parts="; ".join(parts))}</span>' if parts else ""

    def discrepancies(self) -> str:
        from report.data import DISCREPANCIES_SHOWN, RANKED_LEVELS

        shown = self.report.discrepancies.filter(pl.col("level").is_in(RANKED_LEVELS)).head(DISCREPANCIES_SHOWN)
        head = f'<section id="discrepancies"><h2>{self.t("discrepancies")}</h2>'
        if shown.is_empty():
            return head + f"<p>{self.t('discrepancies_none')}</p></section>"
        rows = [f"<tr><th>{self.t('region')}</th><th>{self.t('sources_pair')}</th><th>{self.t('deltas')}</th><th class=\"n\">{self.t('effect')}</th><th>{self.t('photos')}</th></tr>"]
        for d in shown.iter_rows(named=True):
            # "01 -461, 02 +945" (a candidate without a ballot number is "id 1000054 +5"), in the page's number style.
            deltas = ", ".join(f"{key} {signed_number(int(delta), self.lang)}" for key, delta in (part.rsplit(" ", 1) for part in d["deltas"].split(", ")))
            photos = " ".join(f'<a href="{escape(u)}" rel="noreferrer">{self.t("photo")} {j}</a>' for j, u in enumerate(d["image_urls"] or [], start=1) if u)
            code = d["region_code"]
            where = f'<a href="{page_name(code[:4])}#r-{code}">{escape(code)}</a>' if len(code) > 4 else escape(code)
            rows.append(f'<tr><td data-label="{self.t("region")}">{where} {escape(d["region_name"] or "")} <small>{escape(d["election"])}/{escape(d["contest"])}</small></td>'
                        f'<td data-label="{self.t("sources_pair")}">{self.t(d["source_a"] + "_short")} − {self.t(d["source_b"] + "_short")}</td>'
                        f'<td data-label="{self.t("deltas")}">{escape(deltas)}</td><td class="n" data-label="{self.t("effect")}">{signed_number(d["margin_effect"], self.lang)}</td>'
                        f'<td data-label="{self.t("photos")}">{photos}</td></tr>')  # fmt: skip
        return head + f'<table class="cards">{"".join(rows)}</table></section>'

    def flagged_section(self, findings: pl.DataFrame, link: bool) -> str:
        """Every TPS finding, grouped by rule: the message in the page's language and the form photos."""
        head = f'<section id="flagged"><h2>{self.t("flagged")}</h2>'
        tps = findings.filter(pl.col("level") == "tps") if findings.height else findings
        if tps.is_empty():
            return head + f"<p>{self.t('flagged_none')}</p></section>"
        out = [head]
        message = "message_id" if self.lang == "id" else "message_en"
        for group in tps.partition_by(["rule_id", "severity"], maintain_order=True):
            rule, severity = group["rule_id"][0], group["severity"][0]
            flagged = group["code"].n_unique()
            count = self.t("tps_count", n=self.n(flagged))
            if link and flagged > FLAGGED_LISTED:
                out.append(f'<details id="rule-{escape(rule)}"><summary><code>{escape(rule)}</code> · {self.t(severity)} · {count}</summary>'
                           + self.flagged_by_kabkota(group, rule) + "</details>")  # fmt: skip
                continue
            rows = [f"<tr><th>{self.t('tps')}</th><th>{self.t('message')}</th><th>{self.t('photos')}</th></tr>"]
            for f in group.iter_rows(named=True):
                code = f["code"]
                where = f'<a href="{page_name(code[:4])}#r-{code}">{escape(code)}</a>' if link else f'<a href="#r-{code}">{escape(code)}</a>'
                rows.append(f'<tr><td data-label="{self.t("tps")}">{where} <small>{escape(f["election"])}/{escape(f["contest"])}</small></td>'
                            f'<td data-label="{self.t("message")}">{escape(f[message])}</td><td data-label="{self.t("photos")}">{self.photos(f["images"])}</td></tr>')  # fmt: skip
            out.append(f'<details id="rule-{escape(rule)}"><summary><code>{escape(rule)}</code> · {self.t(severity)} · '
                       f'{count}</summary><table class="cards">{"".join(rows)}</table></details>')  # fmt: skip
        return "".join(out) + "</section>"

    def flagged_by_kabkota(self, group: pl.DataFrame, rule: str) -> str:
        """One rule's TPS findings counted by kab/kota, each a link to its page's list of them: a
        national night can flag tens of thousands of TPS (500 bytes of index.html each)."""
        counts = (group.group_by("election", "contest", kabkota=KABKOTA_OF_CODE)
                  .agg(pl.col("code").n_unique().alias("tps")).sort("kabkota", "election", "contest"))  # fmt: skip
        rows = [f"<tr><th>{self.t('region')}</th><th class=\"n\">{self.t('tps')}</th></tr>"]
        for c in counts.iter_rows(named=True):
            code = c["kabkota"]
            rows.append(f'<tr><td data-label="{self.t("region")}"><a href="{page_name(code)}#rule-{escape(rule)}">{escape(code)}</a> '
                        f'{escape(self.region_name(code))} <small>{escape(c["election"])}/{escape(c["contest"])}</small></td>'
                        f'<td class="n" data-label="{self.t("tps")}">{self.n(c["tps"])}</td></tr>')  # fmt: skip
        return f'<p class="muted">{self.t("flagged_by_kabkota", n=self.n(FLAGGED_LISTED))}</p><table class="cards">{"".join(rows)}</table>'

    def withheld_section(self, findings: pl.DataFrame, link: bool) -> str:
        """Nodes whose latest counts were withheld (all 0 while progress rose), at any level."""
        withheld = findings.filter(pl.col("rule_id") == "withheld_counts") if findings.height else findings
        if withheld.is_empty():
            return ""
        message = "message_id" if self.lang == "id" else "message_en"
        rows = [f"<tr><th>{self.t('region')}</th><th>{self.t('status')}</th><th>{self.t('message')}</th></tr>"]
        for f in withheld.iter_rows(named=True):
            code = f["code"]
            where = escape(code) if len(code) <= 4 else (f'<a href="{page_name(code[:4])}#r-{code}">{escape(code)}</a>' if link else f'<a href="#r-{code}">{escape(code)}</a>')
            rows.append(f'<tr><td data-label="{self.t("region")}">{where} {escape(self.region_name(code))} <small>{escape(f["election"])}/{escape(f["contest"])}</small></td>'
                        f'<td data-label="{self.t("status")}"><span class="badge withheld">{self.t("withheld")}</span></td>'
                        f'<td data-label="{self.t("message")}">{escape(f[message])} {self.t("withheld_note")}</td></tr>')  # fmt: skip
        return f'<section id="withheld"><h2>{self.t("withheld_section")}</h2><table class="cards">{"".join(rows)}</table></section>'

    def photos(self, urls) -> str:
        return " ".join(f'<a href="{escape(u)}" rel="noreferrer">{self.t("photo")} {j}</a>' for j, u in enumerate(urls or [], start=1) if u)

    def quality(self) -> str:
        q = self.report.quality
        items = []
        if q["last_run"].height:
            run = q["last_run"].row(0, named=True)
            items.append(self.t("last_run", run=run["run_id"], status=run["status"], read=self.n(run["records_read"]),
                                loaded=self.n(run["records_loaded"]), quarantined=self.n(run["records_quarantined"])))  # fmt: skip
        for r in q["quarantine"].iter_rows(named=True):
            items.append(f"{self.t('not_loaded')}: <code>{escape(r['source_file'] or '')}</code> ({escape(r['rule'])}): {escape(r['reason'])}")
        for r in q.get("tps_status", pl.DataFrame()).iter_rows(named=True):
            items.append(f"{escape(r['election'])}/{escape(r['contest'])}: " + self.t("tps_status_line", n=self.n(r["tps"]), status=self.status_word(r["status"])))
        return f'<section id="quality"><h2>{self.t("quality")}</h2><ul>' + "".join(f"<li>{i}</li>" for i in items) + "</ul></section>"

    def status_word(self, status: str) -> str:
        return label("flagged_status" if status == "flagged" else status, self.lang)

    # --- kab/kota pages --------------------------------------------------------------------------

    def kabkota_page(self, code: str) -> str:
        name = self.region_name(code)
        body = [f'<nav class="top"><a href="index.html">← {self.t("back")}</a></nav>',
                f"<header><h1>{escape(code)} {escape(name)}</h1><p class=\"muted\">{self.t('subtitle')}</p></header>"]  # fmt: skip
        regions = self.report.regions.filter(pl.col("region_code") == code) if self.report.regions.height else self.report.regions
        below, tps = self.page_rows("region_votes", code), self.page_rows("tps", code)
        contests = []
        for frame in (regions, below, tps):
            for key in zip(frame["election"], frame["contest"]) if frame.height else ():
                if key not in contests:
                    contests.append(key)
        for election, contest in contests:
            body.append(self.contest_drilldown(code, election, contest, regions, below, tps))
        findings = self.page_rows("findings", code)
        body.append(self.flagged_section(findings, link=False))
        body.append(self.withheld_section(findings, link=False))
        return _page(f"{code} {name} · {label('title', self.lang)}", "\n".join(body), self.lang, script=OPEN_TARGET_SCRIPT)

    def contest_drilldown(self, code: str, election: str, contest: str, regions, below, tps) -> str:
        races = [r for r in self.races if r["election"] == election and r["contest"] == contest]
        title = races[0]["contest_name"] if races else contest
        names = self.race_names(election, contest, code)
        out = [f'<section id="c-{escape(election)}-{escape(contest)}"><h2>{escape(title)} <small>{escape(election)}/{escape(contest)}</small></h2>']
        own = regions.filter((pl.col("election") == election) & (pl.col("contest") == contest)) if regions.height else regions
        if own.height:
            present = [s for s in SOURCES if s in set(own["source"])]
            out.append(f"<p>{self.coverage_text(own, present)}</p>" + self.candidate_table(own, names, present) + self.bars(own, names, present))
        mine = below.filter((pl.col("election") == election) & (pl.col("contest") == contest)) if below.height else below
        stations = tps.filter((pl.col("election") == election) & (pl.col("contest") == contest)) if tps.height else tps
        by_region = _rows_by(mine, "region_code")
        kecamatan = sorted({c for c in by_region if len(c) == 6} | ({c[:6] for c in stations["tps_code"]} if stations.height else set()))
        if not kecamatan:
            out.append(f"<p>{self.t('no_tps')}</p>")
        tps_rows = {c: rows[0] for c, rows in _rows_by(stations, "tps_code").items()}
        # The TPS rows of this race on this page, by code (each frame is in its query's order).
        this_race = (pl.col("election") == election) & (pl.col("contest") == contest)
        about = {name: _rows_by(rows.filter(this_race) if rows.height else rows, "code")
                 for name, rows in ((name, self.page_rows(name, code)) for name in ("findings", "history", "corrections"))}  # fmt: skip
        # Each kecamatan's kelurahan and each kelurahan's TPS, by their codes' prefixes, in one pass.
        kelurahan_of: dict[str, set[str]] = {}
        tps_of: dict[str, set[str]] = {}
        for c in by_region:
            if len(c) == 10:
                kelurahan_of.setdefault(c[:6], set()).add(c)
            elif len(c) == 13:
                tps_of.setdefault(c[:10], set()).add(c)
        for c in tps_rows:
            kelurahan_of.setdefault(c[:6], set()).add(c[:10])
            tps_of.setdefault(c[:10], set()).add(c)
        for kec in kecamatan:
            kelurahan = sorted(kelurahan_of.get(kec, ()))
            inner = []
            for kel in kelurahan:
                codes = sorted(tps_of.get(kel, ()))
                table = self.tps_table(codes, by_region, tps_rows, about) if codes else f"<p>{self.t('no_tps')}</p>"
                inner.append(f'<details id="r-{kel}"><summary>{escape(kel)} {escape(self.region_name(kel))}'
                             f"{self.region_votes_line(by_region.get(kel))}</summary>{table}</details>")  # fmt: skip
            # Each folded region says its numbers in its summary line: a reader sees where to open.
            out.append(f'<details id="r-{kec}"><summary>{self.t("kecamatan")} {escape(kec)} {escape(self.region_name(kec))}'
                       f'{self.region_votes_line(by_region.get(kec))}</summary>{"".join(inner)}</details>')  # fmt: skip
        return "".join(out) + "</section>"

    def region_votes_line(self, votes: list[dict] | None) -> str:
        """A kecamatan's or kelurahan's numbers (its int_source_votes rows), one line per source."""
        if not votes:
            return ""
        lines = []
        for source in SOURCES:
            rows = [r for r in votes if r["source"] == source]
            if not rows:
                continue
            text = " · ".join(f"{r['candidate_key']}: {self.n(r['votes'])}" for r in rows)
            first = rows[0]
            if not first["complete"]:
                text += " (" + label("of_tps", self.lang, done=self.n(first["tps_covered"]), total=self.n(first["tps_total"])) + ")"
            lines.append(f"<b>{self.t(source + '_short')}</b> {escape(text)}")
        return '<span class="votes">' + "<br>".join(lines) + "</span>"

    def tps_table(self, codes: list[str], by_region: dict[str, list[dict]], tps_rows: dict[str, dict], about: dict[str, dict[str, list[dict]]]) -> str:
        """The TPS `codes` of one race: their votes (by_region), status (tps_rows) and, in `about`,
        their findings, history and corrections, each by code."""
        message = "message_id" if self.lang == "id" else "message_en"
        head = (f"<tr><th>{self.t('tps')}</th><th>{self.t('sirekap')}</th><th>{self.t('internal_tps')}</th><th>{self.t('completeness')}</th>"
                f"<th>{self.t('status')}</th><th>{self.t('rules_broken')}</th><th>{self.t('photos')}</th><th>{self.t('history')}</th></tr>")  # fmt: skip
        rows = [head]
        for code in codes:
            votes = by_region.get(code, [])
            cells = {}
            for source in ("sirekap", "internal"):
                chosen = [r for r in votes if r["source"] == source]
                cells[source] = " · ".join(f"{r['candidate_key']}: {self.n(r['votes'])}" for r in chosen) if chosen else "—"
            status = tps_rows.get(code)
            completeness = self.t(status["completeness"]) if status else "—"
            state = (f'<span class="status {status["status"]}">{escape(self.status_word(status["status"]))}</span>' if status else "—")
            if status and status["withheld"]:
                state += f' <span class="badge withheld">{self.t("withheld")}</span>'
            broken = "".join(f"<li><code>{escape(f['rule_id'])}</code>: {escape(f[message])}</li>" for f in about["findings"].get(code, []))
            rows.append(
                f'<tr id="r-{code}"><td data-label="{self.t("tps")}"><b>{escape(code[-3:])}</b> <small>{escape(code)}</small></td>'
                f'<td data-label="{self.t("sirekap")}">{escape(cells["sirekap"])}</td><td data-label="{self.t("internal_tps")}">{escape(cells["internal"])}</td>'
                f'<td data-label="{self.t("completeness")}">{completeness}</td><td data-label="{self.t("status")}">{state}</td>'
                f'<td data-label="{self.t("rules_broken")}">' + (f'<ul class="findings">{broken}</ul>' if broken else "—") + "</td>"
                f'<td data-label="{self.t("photos")}">{self.photos(status["images"]) if status else ""}</td>'
                f'<td data-label="{self.t("history")}">{self.history(about["history"].get(code, []), about["corrections"].get(code, []))}</td></tr>'
            )
        return f'<table class="cards">{"".join(rows)}</table>'

    def history(self, spells: list[dict], corrections: list[dict]) -> str:
        """A TPS's versions (its node_history rows) and tonight's corrections of it."""
        if not spells:
            return "—"
        lines = []
        for s in spells:
            when = s["valid_from"].strftime("%Y-%m-%d %H:%M") if s["valid_from"] else "—"
            state = self.t("withheld") if s["withheld"] else f"{self.t('vote_sum')} {self.n(s['vote_sum'])}"
            current = f" ({self.t('current')})" if s["is_current"] else ""
            lines.append(f"<li>v{s['spell']} · {when}{current} · {state} · {self.t('publisher_ts')} {escape(s['source_ts'] or '—')}</li>")
        for c in corrections:
            lines.append(f"<li>{self.t('corrections')}: {escape(c['candidate_id'] or '')} {self.n(c['votes_before'])} → {self.n(c['votes_after'])} ({signed_number(c['delta'], self.lang)})</li>")
        if len(lines) == 1:
            return f'<ul class="findings">{lines[0]}</ul>'
        return f'<details><summary>{self.n(len(spells))} v</summary><ul class="findings">{"".join(lines)}</ul></details>'


class _ByKabkota:
    """A frame's rows by kab/kota code, in their order: each page gathers its own rows when it is
    written (the positions are kept, not a copy of each page's rows: a national warehouse's
    frames are 600 MB)."""

    def __init__(self, frame: pl.DataFrame, kabkota: pl.Expr) -> None:
        self.frame = frame
        groups = frame.select(kabkota.alias("page")).with_row_index("row").group_by("page", maintain_order=True).agg("row") if frame.height else None
        self.rows = dict(zip(groups["page"], groups["row"])) if groups is not None else {}

    def get(self, kabkota: str) -> pl.DataFrame:
        rows = self.rows.get(kabkota)
        return self.frame[rows] if rows is not None else self.frame.clear()


def _rows_by(frame: pl.DataFrame, column: str) -> dict[str, list[dict]]:
    """The frame's rows, as dicts in their order, by the value of `column`."""
    grouped: dict[str, list[dict]] = {}
    for row in frame.iter_rows(named=True) if frame.height else ():
        grouped.setdefault(row[column], []).append(row)
    return grouped

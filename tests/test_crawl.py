"""Issue 5, Done-when 1 and 5 (the crawl part): `rekap run --sirekap-url` crawls the generated
Kaltim mirror served on 127.0.0.1, loads every node, then after 1% of TPS change fetches only the
changed subtrees; `rekap rebuild` from the archive alone gives the same marts.

One scenario, run once for the module (a full crawl is 7,545 requests); the tests read its record.
Every expected number is computed from the mirror files or the generator's manifest, never from
the crawler.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import orjson
import pytest

from flows.sources.demo import generate_kaltim_mirror
from warehouse.db import connect
from tests.shared import load_and_build
from tests.sirekap_server import SirekapServer
from warehouse.checksum import mart_checksum

HHCW = "pilkada/hhcw/pkwkp"
ISRAN, RUDY = "1000054", "1000055"
MARTS = ("province_totals", "region_winners")
TPS_TOTAL, PUBLISHED_BEFORE = 6_274, 6_048
NEWLY_PUBLISHED, REVISED = 32, 31  # 63 TPS changed: 1.0% of 6,274


@dataclass
class Night:
    requests: dict[str, int]
    output: str
    province: list[tuple[str, int]]


@dataclass
class Scenario:
    first: Night
    quiet: Night
    second: Night
    manifests: list = field(default_factory=list)
    changed_tps: set[str] = field(default_factory=set)
    files_before: dict[str, bytes] = field(default_factory=dict)
    files_after: dict[str, bytes] = field(default_factory=dict)
    warehouse: Path | None = None
    mirror_warehouse: Path | None = None
    rebuilt: Path | None = None
    rebuild_output: str = ""


def tree_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def tps_code(path: str) -> str:
    return Path(path).stem


def province_votes(warehouse: Path) -> list[tuple[str, int]]:
    with connect(warehouse, read_only=True) as con:
        return con.execute("select candidate_id, votes from province_totals order by candidate_id").fetchall()


def corrections(before: dict[str, bytes], count: int, seed: int = 5) -> dict[str, dict[str, int]]:
    """`count` published TPS each moving 1-20 votes from pair 01 to pair 02. All in one direction,
    so no two corrections cancel out in a sum above them (which no crawler could see)."""
    published = sorted(
        path for path, body in before.items()
        if len(tps_code(path)) == 13 and orjson.loads(body)["tungsura"]["chart"] is not None
    )  # fmt: skip
    rng = random.Random(seed)
    chosen = {}
    for path in rng.sample(published, count):
        chart = orjson.loads(before[path])["tungsura"]["chart"]
        moved = min(rng.randint(1, 20), chart[ISRAN], 600 - chart[RUDY])
        chosen[tps_code(path)] = {ISRAN: -moved, RUDY: moved}
    return chosen


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, prefect_server) -> Scenario:
    from click.testing import CliRunner

    from flows.cli import cli

    def rekap(*args) -> str:
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    root = tmp_path_factory.mktemp("crawl")
    mirror, archive, warehouse = root / "mirror", root / "archive", root / "rekap.duckdb"
    first_manifest = generate_kaltim_mirror(mirror)
    files_before = tree_files(mirror)

    with SirekapServer(mirror, request_limit=10_000) as server:
        crawl_args = ["run", "--sirekap-url", server.url, "--election", "pilkada2024", "--contest", "pkwkp",
                      "--region", "64", "--archive", archive, "--warehouse", warehouse, "--rate", "100000"]  # fmt: skip

        def night() -> Night:
            server.reset_counts()
            output = rekap(*crawl_args)
            return Night(dict(server.counts), output, province_votes(warehouse))

        first = night()
        quiet = night()
        # The next night 1% of TPS changed: 32 more TPS in, 31 corrected.
        progress = (PUBLISHED_BEFORE + NEWLY_PUBLISHED) / TPS_TOTAL
        second_manifest = generate_kaltim_mirror(mirror, progress=progress, revisions=corrections(files_before, REVISED))
        second = night()
        assert not server.limit_exceeded
    files_after = tree_files(mirror)
    changed = {tps_code(p) for p, body in files_after.items() if len(tps_code(p)) == 13 and files_before[p] != body}

    # The server is gone: a rebuild can only read the archive.
    rebuilt = root / "rebuilt.duckdb"
    rebuild_output = rekap("rebuild", "--archive", archive, "--warehouse", rebuilt)
    mirror_warehouse = root / "from-mirror.duckdb"
    load_and_build(mirror_warehouse, mirror).close()
    return Scenario(first, quiet, second, [first_manifest, second_manifest], changed, files_before, files_after,
                    warehouse, mirror_warehouse, rebuilt, rebuild_output)  # fmt: skip


def test_first_crawl_fetches_every_file_once_and_loads_every_node(scenario: Scenario) -> None:
    manifest = scenario.manifests[0]
    assert scenario.first.requests == {path: 1 for path in scenario.files_before}
    assert sum(scenario.first.requests.values()) == manifest.files_written == 7_545
    assert "7,545 requests (0 retried), 7,545 documents" in scenario.first.output
    assert scenario.first.province == sorted(manifest.published_votes.items())
    with connect(scenario.warehouse, read_only=True) as con:
        kinds = dict(con.execute("select kind, count(distinct code) from raw_documents group by kind").fetchall())
        first_run = con.execute("select records_read, records_loaded, records_quarantined from runs order by started_at limit 1").fetchone()
    # 1 province + 10 kab/kota + 105 kecamatan + 1,038 kelurahan + 6,274 TPS; 116 region lists; 1 master.
    assert kinds == {"node": 7_428, "regions": 116, "candidates": 1}
    assert first_run == (7_545, 7_545, 0)


def test_a_quiet_night_costs_three_requests(scenario: Scenario) -> None:
    assert scenario.quiet.requests == {"wilayah/pilkada/pkwkp/64.json": 1, "pilkada/paslon/pkwkp.json": 1, f"{HHCW}/64.json": 1}
    assert scenario.quiet.province == scenario.first.province


def test_after_one_percent_of_tps_changed_only_their_subtrees_are_fetched(scenario: Scenario) -> None:
    changed = scenario.changed_tps
    assert len(changed) == NEWLY_PUBLISHED + REVISED
    # What the change implies, from the changed TPS codes alone: the TPS and every aggregate above
    # them (each aggregate once), plus the region list and candidate master asked every night.
    ancestors = {code[:n] for code in changed for n in (2, 4, 6, 10)}
    expected = 2 + len(ancestors) + len(changed)
    asked = scenario.second.requests
    assert sum(asked.values()) == expected, f"{sum(asked.values())} requests, expected {expected}"
    # 1% of TPS changed costs a few percent of a full crawl's 7,545 requests, not a full crawl.
    assert expected < 0.03 * 7_545
    assert {tps_code(p) for p in asked if len(tps_code(p)) == 13} == changed
    assert all(n == 1 for n in asked.values())
    # Sanity of the premise: exactly these aggregates changed in the served files.
    differ = {tps_code(p) for p, body in scenario.files_after.items() if scenario.files_before[p] != body}
    assert differ == changed | ancestors
    assert f"{expected} requests (0 retried), {expected} documents" in scenario.second.output


def test_the_second_crawl_loads_the_changed_counts(scenario: Scenario) -> None:
    assert scenario.second.province == sorted(scenario.manifests[1].published_votes.items())
    assert scenario.second.province != scenario.first.province
    # The warehouse fed by three crawls holds what a load of the changed mirror itself holds.
    with connect(scenario.warehouse, read_only=True) as crawled, \
         connect(scenario.mirror_warehouse, read_only=True) as mirrored:  # fmt: skip
        for mart in MARTS:
            assert mart_checksum(crawled, mart) == mart_checksum(mirrored, mart), mart


def test_rebuild_from_the_archive_alone_gives_the_same_marts(scenario: Scenario) -> None:
    assert "3 crawls replayed, one run each" in scenario.rebuild_output
    with connect(scenario.warehouse, read_only=True) as crawled, \
         connect(scenario.rebuilt, read_only=True) as rebuilt:  # fmt: skip
        for table in (*MARTS, "raw_documents", "raw_nodes", "raw_node_votes", "quarantine"):
            assert mart_checksum(crawled, table) == mart_checksum(rebuilt, table), table
        # One run per crawl, each loading the same crawl index as the night did.
        runs = "select sources, records_read, versions_new, status from runs order by started_at"
        assert crawled.execute(runs).fetchall() == rebuilt.execute(runs).fetchall()


def test_a_run_loads_every_finished_crawl_no_succeeded_run_has_loaded(tmp_path: Path) -> None:
    """If a night's run fails after its crawl, the next night's crawl only fetches what changed
    since: so the next run must load the failed night's crawl too."""
    from flows.pipeline import crawls_to_load
    from flows.sources.api import HttpPolicy, Target, crawl
    from flows.sources.demo import generate_mirror
    from tests.shared import load_only, mini_race
    from warehouse.load import finish_run

    mirror, archive = tmp_path / "mirror", tmp_path / "archive"
    generate_mirror(mini_race(), mirror, progress=0.9)
    with SirekapServer(mirror, request_limit=500) as server:
        target, policy = Target(server.url, "pilkada2024", "pkwkp", "99"), HttpPolicy(rate=10_000)
        first = crawl(target, archive, policy)
        paused = crawl(target, archive, policy, max_requests=1)
    warehouse = tmp_path / "w.duckdb"

    def to_load() -> list[Path]:
        with connect(warehouse, read_only=True) as con:
            return crawls_to_load(con, archive)

    load_only(warehouse, Path(first.index)).close()
    assert not paused.finished and to_load() == []  # an unfinished crawl waits

    with SirekapServer(mirror, request_limit=500) as server:
        second = crawl(Target(server.url, "pilkada2024", "pkwkp", "99"), archive, policy)
    assert second.crawl_id == paused.crawl_id
    assert to_load() == [Path(second.index)]
    load_only(warehouse, Path(second.index)).close()
    with connect(warehouse) as con:  # as if that night had failed after loading
        (run_id,) = con.execute("select run_id from runs order by started_at desc limit 1").fetchone()
        finish_run(con, run_id, "failed", "audit failed")
    assert to_load() == [Path(second.index)]  # a failed run loaded nothing


def test_a_night_the_api_does_not_answer_fails_loudly(rekap, tmp_path: Path) -> None:
    from flows.sources.demo import generate_mirror
    from tests.shared import mini_race

    generate_mirror(mini_race(), tmp_path / "mirror", progress=0.9)
    warehouse = tmp_path / "w.duckdb"
    with SirekapServer(tmp_path / "mirror", request_limit=100) as server:
        server.fault("error", lambda path: True, status=503)
        result = rekap("run", "--sirekap-url", server.url, "--election", "pilkada2024", "--contest", "pkwkp",
                       "--region", "99", "--archive", tmp_path / "archive", "--warehouse", warehouse,
                       "--rate", "10000", "--retries", "1", ok=False)  # fmt: skip
    root = f"{server.url}/{HHCW}/99.json"
    assert result.exit_code == 1 and f"{root} could not be read: HTTP 503" in result.output
    with connect(warehouse, read_only=True) as con:
        ((status, error),) = con.execute("select status, error from runs").fetchall()
    assert status == "failed" and "could not be read" in error


def test_corrections_list_exactly_the_changed_tps_with_their_deltas(scenario: Scenario) -> None:
    # The revisions the scenario handed the generator (same seed), independent of the pipeline.
    revisions = corrections(scenario.files_before, REVISED)
    with connect(scenario.warehouse, read_only=True) as con:
        rows = con.execute(
            "select code, change_kind, candidate_id, votes_before, votes_after, delta from corrections where level = 'tps'"
        ).fetchall()
    assert {code for code, *_ in rows} == scenario.changed_tps
    assert {(code, cid): delta for code, kind, cid, _, _, delta in rows if kind == "changed"} == {
        (code, cid): change for code, moves in revisions.items() for cid, change in moves.items()
    }
    newly = {code for code, kind, *_ in rows if kind == "reported"}
    assert len(newly) == NEWLY_PUBLISHED and newly == scenario.changed_tps - revisions.keys()
    assert all(before is None and after is not None for code, kind, _, before, after, _ in rows if kind == "reported")

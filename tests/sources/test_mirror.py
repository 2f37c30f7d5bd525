"""Listing a mirror: the same files, stats and records in the same order whether one process
walks it or worker processes share it out; and a night reads only what its stat says changed."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

import polars as pl
import pytest

from flows.sources import mirror
from flows.sources.mirror import Reads, file_tasks, list_mirror, plan_reads, read_file
from flows.sources.records import SourceRecord
from schemas.rows import FILE_SCHEMA


@pytest.fixture(scope="module")
def workers():
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("forkserver")) as pool:
        yield pool


class Counting:
    """An executor that counts the tasks it is given, and the subtrees in them."""

    def __init__(self, pool: Executor):
        self.pool, self.submitted, self.subtrees = pool, 0, 0

    def submit(self, function, prefix, subtrees, *args):
        self.submitted += 1
        self.subtrees += len(subtrees)
        return self.pool.submit(function, prefix, subtrees, *args)


def plain_tree(root: Path) -> Path:
    """Three provinces of kab/kota folders, with every kind of file name a scraper writes."""
    for province in ("61", "62", "63"):
        (root / f"{province}.json").parent.mkdir(parents=True, exist_ok=True)
        (root / f"{province}.json").write_text("{}")
        for kab in range(1, 5):
            folder = root / province / f"{province}0{kab}"
            folder.mkdir(parents=True)
            (folder / f"{province}0{kab}001.json").write_text("{}")
            (folder / f"{province}0{kab}002.JSON").write_text("{}")
            (folder / f"{province}0{kab}003.json.gz").write_bytes(b"")
            (folder / "notes.txt").write_text("not a document")
    return root


def linked_tree(root: Path, outside: Path) -> set[str]:
    """A plain tree plus every kind of link a mirror assembled by hand holds, some at the
    kab/kota folders a listing shares out, some below them; the links that are loops."""
    plain_tree(root)
    os.symlink(root / "61" / "6101", root / "62" / "6200")  # into a subtree read earlier: a loop
    os.symlink(root / "63", root / "61" / "6105")  # to a folder listed (with 61) before 61 is read: a loop
    os.symlink(root / "63" / "6302", root / "61" / "6104" / "ahead")  # into a subtree read later: followed, 6302 the loop
    os.symlink(root, root / "62" / "6201" / "up")  # back to the root
    os.symlink(root / "61" / "6102" / "missing.json", root / "61" / "6102" / "6102009.json")  # cannot be stat'ed
    outside.mkdir()
    (outside / "6409001.json").write_text("{}")
    os.symlink(outside, root / "61" / "6103" / "snapshot")  # out of the mirror: followed once
    os.symlink(outside, root / "63" / "6304" / "again")  # a second link to it: a loop
    return {"61/6105", "62/6200", "62/6201/up", "63/6302", "63/6304/again"}


def deep_links(root: Path, outside: Path) -> set[str]:
    """Links only below the kab/kota folders: each seen by one worker, the loop by none."""
    plain_tree(root)
    os.symlink(root / "61" / "6101", root / "62" / "6202" / "back")
    os.symlink(root / "61" / "6102" / "missing.json", root / "61" / "6102" / "6102009.json")
    outside.mkdir()
    (outside / "6409001.json").write_text("{}")
    os.symlink(outside, root / "61" / "6103" / "snapshot")
    os.symlink(outside, root / "63" / "6304" / "again")
    return {"62/6202/back", "63/6304/again"}


def listed(listing: mirror.Listing) -> tuple[list[tuple], list[tuple]]:
    problems = [(at, r.source_file, r.source_path, r.error_rule, r.error) for at, r in listing.problems]
    return listing.files.rows(), problems


@pytest.mark.parametrize("tasks_per_worker", [8, 1])  # a task a subtree; runs of subtrees a task
@pytest.mark.parametrize("in_process", [0, 1, 5])
def test_workers_list_a_mirror_as_one_walk_does(tmp_path: Path, workers, monkeypatch, in_process: int, tasks_per_worker: int) -> None:
    root = plain_tree(tmp_path / "mirror")
    alone = list_mirror(root)
    # 3 province files + 3 x 4 kab/kota x 3 documents; notes.txt is no document.
    assert alone.files.height == 3 + 3 * 4 * 3 and not alone.problems
    # Read order: a folder's files (sorted), then its folders (sorted), each whole.
    in_order = sorted(alone.files["source_file"], key=lambda p: [(1, part) for part in p.split("/")[:-1]] + [(0, p.split("/")[-1])])
    assert alone.files["source_file"].to_list() == in_order
    monkeypatch.setattr(mirror, "LIST_IN_PROCESS_FILES", in_process)
    monkeypatch.setattr(mirror, "SUBTREES_PER_WORKER", 3)
    monkeypatch.setattr(mirror, "TASKS_PER_WORKER", tasks_per_worker)
    pool = Counting(workers)
    shared = list_mirror(root, lambda: (pool, 2))
    assert pool.subtrees >= 6  # the kab/kota folders went to the workers
    assert pool.submitted == (pool.subtrees if tasks_per_worker == 8 else 3)  # a province's kab/kota a task
    assert listed(shared) == listed(alone)
    # A first night (nothing held to compare with) lists the same files, without their stat.
    bare = list_mirror(root, lambda: (pool, 2), stat=False)
    assert bare.files["source_file"].to_list() == alone.files["source_file"].to_list()
    assert bare.files["size_bytes"].null_count() == bare.files["mtime_ns"].null_count() == bare.files.height


@pytest.mark.parametrize("tasks_per_worker", [8, 1])
@pytest.mark.parametrize("in_process", [0, 2, 9])
@pytest.mark.parametrize("tree", [linked_tree, deep_links])
def test_links_across_subtrees_are_loops_in_the_order_of_one_walk(tmp_path: Path, workers, monkeypatch, in_process: int, tree,
                                                                  tasks_per_worker: int) -> None:  # fmt: skip
    loops = tree(tmp_path / "mirror", tmp_path / "outside")
    root = (tmp_path / "mirror").resolve()
    alone = list_mirror(root)
    assert {r.source_path for _, r in alone.problems if r.error_rule == "link_loop"} == loops
    (unstat,) = [r for _, r in alone.problems if r.error_rule != "link_loop"]
    assert (unstat.source_path, unstat.error_rule) == ("61/6102/6102009.json", "unreadable")
    files = alone.files["source_file"].to_list()
    assert str(root / "61" / "6103" / "snapshot" / "6409001.json") in files
    if "63/6302" in loops:
        assert str(root / "61" / "6104" / "ahead" / "6302001.json") in files  # 6302, read through the link
    monkeypatch.setattr(mirror, "LIST_IN_PROCESS_FILES", in_process)
    monkeypatch.setattr(mirror, "SUBTREES_PER_WORKER", 3)
    monkeypatch.setattr(mirror, "TASKS_PER_WORKER", tasks_per_worker)
    assert listed(list_mirror(root, lambda: (workers, 2))) == listed(alone)


def test_only_files_whose_stat_changed_are_read(tmp_path: Path) -> None:
    root = plain_tree(tmp_path / "mirror")
    listing = list_mirror(root)
    first, second, third = listing.files.head(3).rows()
    held = pl.DataFrame(
        [(first[0], first[1], first[2], "h1", "v1"),  # as listed: known
         (second[0], second[1], second[2] + 1, "h2", "v2"),  # touched since: read, with what was held
         ("/elsewhere/6101.json", 2, 3, "h", "v")],  # not in the listing
        schema=FILE_SCHEMA, orient="row",
    )  # fmt: skip
    known, planned = plan_reads(listing, held)
    reads = one_by_one(planned)
    assert known == 1
    assert [task.source_file for task in reads] == listing.files["source_file"].to_list()[1:]
    assert reads[0].held == (second[1], second[2] + 1, "h2", "v2") and reads[1].held is None
    # The reader names each file's endpoint by its path past the mirror's root; a gzipped file the plain one.
    prefix = len(str(root.resolve())) + 1
    assert (reads[1].source_file, read_file(reads[1]).source_path) == (third[0], third[0][prefix:])
    gz = [task for task in reads if task.source_file.endswith(".json.gz")]
    assert gz and all(read_file(task).source_path == task.source_file[prefix:].removesuffix(".gz") for task in gz)
    assert all(read_file(task).source_path.endswith("003.json") for task in gz)


@pytest.mark.parametrize("size", [1, 2, 3, 10])
def test_reads_come_in_parts_in_read_order(size: int) -> None:
    """Files listed at 0, 1, 3, 4 and 6 are read (2 and 5 were known); the walk decided a record
    before the first file, one at 2 (before the file at 3) and one past the last file."""
    files = pl.DataFrame({"at": [0, 1, 3, 4, 6], "source_file": [f"/m/{at}.json" for at in (0, 1, 3, 4, 6)]}).with_columns(
        pl.lit(None, pl.Int64).alias("size_bytes_held"), pl.lit(None, pl.Int64).alias("mtime_ns_held"),
        pl.lit(None, pl.Utf8).alias("bytes_hash"), pl.lit(None, pl.Utf8).alias("version_id"),
    )  # fmt: skip
    problems = [(at, SourceRecord(f"/m/p{at}", f"p{at}", "", error="x")) for at in (0, 2, 7)]
    reads = Reads(3, True, files.with_columns(pl.col("at").cast(pl.UInt32)), problems)
    order = []
    for records, part in reads.parts(size):
        assert part.height <= size
        order += [r.source_file for r in records] + part["source_file"].to_list()
    assert order == ["/m/p0", "/m/0.json", "/m/1.json", "/m/p2", "/m/3.json", "/m/4.json", "/m/6.json", "/m/p7"]
    assert [item.source_file for item in one_by_one(reads)] == order


def one_by_one(reads: Reads) -> list:
    """The reads as a night's readers take them: each part's records, then a FileTask per file."""
    return [item for records, files in reads.parts(2) for item in [*records, *file_tasks(files, reads.prefix, reads.hashing)]]

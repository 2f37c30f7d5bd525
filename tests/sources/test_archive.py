"""The crawl archive on its own: content-addressed bodies, the append-only index, reading back."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from flows.batch import read_sources
from flows.sources.archive import Archive, CrawlLog, final_responses, is_crawl_index, read_crawl, sha256

BODY = orjson.dumps({"tungsura": {"chart": {"7": 1}, "administrasi": None}, "ts": "2024-11-28 01:00:00"})
TPS = "pilkada/hhcw/pkwkp/99/9901/990101/9901012001/9901012001001.json"


def test_a_body_is_stored_once_gzipped_under_its_hash(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    digest = archive.put(BODY)
    assert digest == sha256(BODY) and archive.put(BODY) == digest
    stored = archive.object_path(digest)
    assert stored == tmp_path / "objects" / digest[:2] / f"{digest[2:]}.gz"
    assert gzip.decompress(stored.read_bytes()) == BODY == archive.get(digest)
    assert [p.name for p in stored.parent.iterdir()] == [stored.name]  # no temporary left behind


def index_with(archive: Archive, *responses: dict) -> Path:
    log = CrawlLog(archive, "000001-20241128T020000Z")
    log.write({"crawl": {"crawl_id": log.crawl_id, "election": "pilkada2024", "contest": "pkwkp", "region": "99"}})
    for response in responses:
        log.response(**response)
    log.close()
    return log.path


def response(path: str, outcome: str, body: bytes | None = None, **extra) -> dict:
    return {"url": f"http://127.0.0.1:1/{path}", "path": path, "attempt": 1, "status": 200, "outcome": outcome,
            "sha256": sha256(body) if body is not None else None, "error": None, **extra}  # fmt: skip


def test_reading_a_crawl_back_gives_each_url_its_final_outcome(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.put(BODY)
    archive.put(b'{"tungsura": ')
    index = index_with(
        archive,
        response(TPS, "retry", b'{"tungsura": ', status=200, error="truncated body"),
        response(TPS, "ok", BODY, attempt=2),
        response(TPS.replace("001.json", "002.json"), "not_found", status=404),
        response("pilkada/hhcw/pkwkp/99.json", "failed", status=500, attempt=5, error="HTTP 500"),
        response("pilkada/paslon/pkwkp.json", "not_found", status=404),
    )
    assert is_crawl_index(index)
    records = list(read_crawl(index))
    assert [(r.source_path, r.locator, r.body, r.error) for r in records] == [
        (TPS, "line 3", BODY, None),
        ("pilkada/hhcw/pkwkp/99.json", "line 5", None,
         "GET http://127.0.0.1:1/pilkada/hhcw/pkwkp/99.json failed after 5 attempts: HTTP 500"),
        ("pilkada/paslon/pkwkp.json", "line 6", None,
         "GET http://127.0.0.1:1/pilkada/paslon/pkwkp.json: HTTP 404 for a document the tree names"),
    ]  # fmt: skip
    # The 404 of a TPS is no document; the other two fail loudly, in quarantine.
    batch = read_sources([index], 2024)
    assert (batch.records_read, len(batch.observations), [q["rule"] for q in batch.quarantine]) == (3, 1, ["unreadable"] * 2)


def test_a_corrupt_object_is_quarantined_not_loaded(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    digest = archive.put(BODY)
    index = index_with(archive, response(TPS, "ok", BODY))
    archive.object_path(digest).write_bytes(gzip.compress(BODY.replace(b'"7":1', b'"7":9')))
    (record,) = read_crawl(index)
    assert record.body is None and "corrupt" in record.error


def test_a_line_torn_by_a_kill_is_skipped_and_the_index_goes_on(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.put(BODY)
    index = index_with(archive, response(TPS, "ok", BODY))
    with open(index, "ab") as f:
        f.write(b'{"crawl_id": "000001-20241128T020000Z", "seq": 2, "url": "http://127.0.0.1:1/pil')  # killed here
    log = CrawlLog(archive, "000001-20241128T020000Z")  # resuming
    log.response(**response(TPS.replace("001.json", "003.json"), "ok", BODY))
    log.close()
    assert [line["seq"] for _, line in final_responses(index)] == [1, 2]
    assert len(list(read_crawl(index))) == 2


def test_crawls_are_listed_in_start_order_with_their_end(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    first = archive.new_crawl_id()
    CrawlLog(archive, first).write({"crawl": {"crawl_id": first}})
    second = archive.new_crawl_id()
    log = CrawlLog(archive, second)
    log.write({"crawl": {"crawl_id": second}})
    log.write({"finished": {"at": "now"}})
    assert first.startswith("000001-") and second.startswith("000002-")
    assert [(c.crawl_id, c.finished) for c in archive.crawls()] == [(first, False), (second, True)]
    (tmp_path / "crawls" / "000003-20300101T000000Z.jsonl").write_bytes(b'{"crawl": {"crawl_id": "000003-20')
    assert len(archive.crawls()) == 2  # a crawl killed before its header was whole holds nothing


def test_a_dump_is_not_a_crawl_index(tmp_path: Path) -> None:
    dump = tmp_path / "nodes.jsonl"
    dump.write_bytes(b"{}\n")
    assert not is_crawl_index(dump)

"""Run records and the sweep index: conditional writes make claims exactly-once under concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from monitor.runs import IndexEntry, RunRecord, RunStore, SweepIndex, run_record_key
from monitor.storage import LocalDirStore

KEY = (
    "/subscriptions/s/resourcegroups/rg/providers/microsoft.virtualmachineimages/imagetemplates/t"
    "|2024-01-01T10:15:00Z"
)


def race_claims(store, key: str, workers: int = 10) -> list[str]:
    """``workers`` RunStore instances (each its own owner id) claim the same run at once; the owners that won."""
    winners: list[str] = []
    barrier = threading.Barrier(workers)

    def worker() -> None:
        runs = RunStore(store)
        barrier.wait()
        if runs.claim(RunRecord(run_key=key, template_id="t")) is not None:
            winners.append(runs.owner)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return winners


def test_record_roundtrip_and_key(tmp_path) -> None:
    store = LocalDirStore(tmp_path)
    runs = RunStore(store)
    rec = RunRecord(run_key=KEY, template_id="t", alerts_sent={"build-failed": "x"}, live_parts=[[0, 3, "k"]])
    etag = runs.save(rec, None)
    loaded, etag2 = runs.load(KEY)
    assert loaded == rec and etag2 == etag
    assert run_record_key(KEY).startswith("_state/runs/") and run_record_key(KEY) != run_record_key(KEY + "x")
    assert runs.load("other") == (None, None)


def test_claim_is_exclusive_across_threads(tmp_path) -> None:
    store = LocalDirStore(tmp_path)
    winners = race_claims(store, KEY)
    assert len(winners) == 1
    record, _ = RunStore(store).load(KEY)
    assert record.claim_owner == winners[0]


def test_claim_released_and_expired(tmp_path) -> None:
    store = LocalDirStore(tmp_path)
    now = [datetime(2024, 1, 1, tzinfo=UTC)]
    a, b = RunStore(store, lambda: now[0]), RunStore(store, lambda: now[0])
    record, etag = a.claim(RunRecord(run_key=KEY, template_id="t"))
    assert b.claim(RunRecord(run_key=KEY, template_id="t")) is None
    a.update(record, etag, release=True)
    record_b, _ = b.claim(RunRecord(run_key=KEY, template_id="t"))
    assert record_b.claim_owner == b.owner
    # b crashes without releasing; after the claim expires a can take over
    assert a.claim(RunRecord(run_key=KEY, template_id="t")) is None
    now[0] += timedelta(hours=1)
    assert a.claim(RunRecord(run_key=KEY, template_id="t")) is not None


def test_sweep_index_merges_concurrent_updates(tmp_path) -> None:
    store = LocalDirStore(tmp_path)
    one, two = SweepIndex(store).load(), SweepIndex(store).load()
    one.apply({"/T/A": IndexEntry(fp="a")})
    two.apply({"/t/b": IndexEntry(fp="b", open_failure="k")})  # conflicts with one's write, re-reads, merges
    fresh = SweepIndex(store).load()
    assert fresh.get("/t/a").fp == "a" and fresh.get("/T/B").open_failure == "k"
    fresh.apply({"/t/a": None})
    assert SweepIndex(store).load().get("/t/a") is None

"""BlobStore against Azurite over HTTPS with the real azure-storage-blob client."""

from __future__ import annotations

import hashlib
import tracemalloc

import pytest

from monitor.runs import SweepIndex
from monitor.storage import LeaseUnavailable, PreconditionFailed
from monitor.storage.blob import BlobStore
from tests.monitor.test_state import race_claims


def test_conditional_writes(archive_store: BlobStore) -> None:
    store = archive_store
    etag = store.put("a/b.json", b"1", if_none_match=True)
    with pytest.raises(PreconditionFailed):
        store.put("a/b.json", b"2", if_none_match=True)
    etag2 = store.put("a/b.json", b"2", if_match=etag)
    assert etag2 != etag
    with pytest.raises(PreconditionFailed):
        store.put("a/b.json", b"3", if_match=etag)
    with pytest.raises(PreconditionFailed):
        store.put("a/missing.json", b"3", if_match=etag)
    got = store.get("a/b.json")
    assert got.data == b"2" and got.etag == etag2
    assert store.get("nope") is None and store.size("nope") is None
    with pytest.raises(PreconditionFailed):
        store.delete("a/b.json", if_match=etag)
    store.delete("a/b.json", if_match=etag2)
    assert store.get("a/b.json") is None
    store.delete("a/b.json")  # absent: no error


def test_metadata_and_tags(archive_store: BlobStore) -> None:
    store = archive_store
    store.put("x/status.json", b"{}", metadata={"partial": "false"},
              tags={"template": "t-1", "state": "failed", "category": "customizer-failed"})
    expected = {"template": "t-1", "state": "failed", "category": "customizer-failed"}
    assert store.tags("x/status.json") == expected
    meta = store.metadata("x/status.json")
    assert meta["partial"] == "false" and meta["tag_category"] == "customizer-failed"  # mirrored in metadata
    store.set_metadata("x/status.json", {"partial": "true"})
    assert store.metadata("x/status.json")["partial"] == "true"
    assert store.tags("x/status.json")["state"] == "failed"  # kept
    assert store.tags_supported is True  # Azurite 3.37 serves index tags
    found = list(store.container.find_blobs_by_tags("\"category\"='customizer-failed'"))
    assert [b.name for b in found] == ["x/status.json"]


def test_upload_stream_is_bounded_in_memory(archive_store: BlobStore) -> None:
    store = archive_store
    size, chunk = 40 * 1024 * 1024, 256 * 1024
    digest = hashlib.sha256()

    def chunks():
        for i in range(size // chunk):
            block = bytes([i % 251]) * chunk
            digest.update(block)
            yield block

    tracemalloc.start()
    written = store.upload_stream("big/customization.log", chunks(), metadata={"m": "1"}, tags={"state": "x"})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert written == size == store.size("big/customization.log")
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte upload"
    back = hashlib.sha256()
    for part in store.iter_chunks("big/customization.log"):
        back.update(part)
    assert back.hexdigest() == digest.hexdigest()
    assert store.upload_stream("empty.log", iter(())) == 0 and store.size("empty.log") == 0


def test_list_and_url(archive_store: BlobStore) -> None:
    store = archive_store
    for key in ("p/1", "p/2", "q/1"):
        store.put(key, b"x")
    assert sorted(store.list("p/")) == ["p/1", "p/2"]
    assert store.url("p/1").endswith(f"/{store.container.container_name}/p/1")
    with pytest.raises(ValueError):
        store.put("../escape", b"x")


def test_lease_is_exclusive(archive_store: BlobStore) -> None:
    store = archive_store
    with store.lease("_state/sweep.lease", 30) as lease:
        with pytest.raises(LeaseUnavailable), store.lease("_state/sweep.lease", 30):
            pass
        lease.renew()
    with store.lease("_state/sweep.lease", 30):
        pass  # released: can be taken again


def test_run_claim_exactly_once_on_blob(archive_store: BlobStore) -> None:
    store = archive_store
    key = "/subscriptions/s/resourcegroups/rg/providers/x/imagetemplates/t|2024-01-01T00:00:00Z"
    assert len(race_claims(store, key)) == 1
    index = SweepIndex(store).load()
    assert index.entries == {} and index.etag is None

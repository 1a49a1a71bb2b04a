"""Where archives, run records, the alert outbox and the sweep lease live: the ObjectStore protocol (base.py),
a local folder (local.py), Azure Blob Storage (blob.py), and the choice between them from the settings
(factory.py)."""

from monitor.storage.base import LeaseUnavailable, ObjectStore, PreconditionFailed, StoredObject
from monitor.storage.factory import open_store
from monitor.storage.local import LocalDirStore

__all__ = ["LeaseUnavailable", "LocalDirStore", "ObjectStore", "PreconditionFailed", "StoredObject", "open_store"]

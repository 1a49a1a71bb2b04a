"""The archive: where a run's files go and status.json (layout.py), copying logs (copy.py), snapshots of running
builds (live.py)."""

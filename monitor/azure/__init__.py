"""Talking to Azure: SDK clients (clients.py), finding and reading staging logs (staging.py), which failures are
transient (errors.py) and resource ids (ids.py)."""

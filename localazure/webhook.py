"""``WebhookReceiver``: a local HTTP endpoint playing ALERT_WEBHOOK_URL for benchmarks and hand runs. It keeps
every JSON document posted to it (the monitor's generic webhook alerts) and answers 202."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .serving import BackgroundServer

log = logging.getLogger(__name__)


class WebhookReceiver(BackgroundServer):
    """``WebhookReceiver().start()``; ``url`` is the endpoint, ``alerts`` what was posted (in arrival order)."""

    thread_name = "localazure-webhook"
    poll_seconds = 0.05  # started and stopped once per test

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                log.debug("webhook: " + format, *args)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    document = json.loads(body)
                except ValueError:
                    self.send_response(400)
                else:
                    with receiver._lock:
                        receiver.alerts.append(document)
                    self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/alerts"

    def per_template(self, kind: str | None = None) -> Counter[str]:
        """How many alerts (of ``kind``, or all) each template name received."""
        with self._lock:
            return Counter(a.get("template_name", "") for a in self.alerts if kind is None or a.get("kind") == kind)

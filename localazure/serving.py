"""Start and stop a local HTTP(S) server in a daemon thread: what every localazure server shares."""

from __future__ import annotations

import logging
import socketserver
import ssl
import threading
from http.server import ThreadingHTTPServer
from typing import Self

log = logging.getLogger(__name__)


class BackgroundServer:
    """Mixin: ``start()`` serves ``self._server`` in a daemon thread named ``thread_name``; ``stop()`` ends it."""

    thread_name = "localazure"
    poll_seconds = 0.5  # how soon ``stop()`` returns
    _server: socketserver.BaseServer
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(self.poll_seconds,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)


class TLSThreadingServer(ThreadingHTTPServer):
    """One thread per connection; the TLS handshake happens in that thread, so a slow or plain-HTTP client
    cannot stall the accept loop. A deep listen backlog keeps bursts of concurrent clients from waiting on
    SYN retransmits."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, handler, context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request, client_address) -> None:
        try:
            request.settimeout(30)
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass

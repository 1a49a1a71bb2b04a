"""Start and stop a local HTTP(S) server in a daemon thread: what every localazure server shares."""

from __future__ import annotations

import socketserver
import threading
from typing import Self


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

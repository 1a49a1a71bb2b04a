"""Real local HTTP receivers for the alert channels, with scripted faults.

``receiver()`` starts an ``http.server`` on 127.0.0.1 in a thread. Each request takes the next scripted
``Reply``
(status, headers, body, delay before answering, or ``drop`` to close the connection without an answer);
once the
script is used up it answers ``default`` (202, like a Workflows or Logic App trigger). Every request is
recorded
with its arrival time, path, headers, JSON body and the status it got.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monitor.alerts.retry import Retrier, RetryPolicy

# Webhook URLs carry secrets in the path (legacy connectors) and in sig= (Workflows): the tests use both.
SECRET_PATH = "/workflows/5ecret0f1a2b3c/triggers/manual/paths/invoke"
SECRET_SIG = "S1gSecretValue0123456789abcdef"


@dataclass
class Reply:
    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class Receiver:
    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply(202)
        self.script: list[Reply] = []
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    reply = receiver.script.pop(0) if receiver.script else receiver.default
                    record = Received(time.monotonic(), self.path, dict(self.headers), body)
                    receiver.requests.append(record)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = reply.body.encode("utf-8")
                record.status = reply.status  # set before answering: the client may look right after
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    record.status = None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        """A webhook URL shaped like the real ones: secret path and a sig= query parameter."""
        return (
            f"http://127.0.0.1:{self.port}{SECRET_PATH}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun"
            f"&sv=1.0&sig={SECRET_SIG}"
        )

    def then(self, *replies: Reply) -> Receiver:
        with self._lock:
            self.script.extend(replies)
        return self

    def fail(self, reply: Reply) -> None:
        """Answer ``reply`` to everything until ``recover()``."""
        with self._lock:
            self.script.clear()
            self.default = reply

    def recover(self) -> None:
        with self._lock:
            self.script.clear()
            self.default = Reply(202)

    @property
    def accepted(self) -> list[Received]:
        """Requests that got a 2xx answer."""
        return [r for r in self.requests if r.status is not None and 200 <= r.status < 300]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Any]:
    started: list[Receiver] = []

    def make(default: Reply | None = None) -> Receiver:
        r = Receiver(default)
        started.append(r)
        return r

    yield make
    for r in started:
        r.close()


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL on a port nothing listens on (connection refused): the port stays bound, not listening, for the test,
    so no server another test process starts can take it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}{SECRET_PATH}?sig={SECRET_SIG}"
    finally:
        sock.close()


FAST = RetryPolicy(
    attempts=4,
    base_delay=0.05,
    max_delay=0.2,
    max_retry_after=5.0,
    budget=15.0,
    connect_timeout=1.0,
    read_timeout=0.6,
)


@pytest.fixture
def fast_retrier() -> Retrier:
    return Retrier(FAST)

"""``StorageGate``: a front door to Azurite that plays a storage service unlike ours, for stand-in tests.

It forwards every request to the Azurite blob service (HTTPS, test CA) and answers from its own port, so a
staging account can look like:

- an emulator over plain ``http`` (``http://127.0.0.1:<port>/<account>`` or ``http://localhost:<port>/...``),
  where the storage SDK refuses to send bearer tokens: only account-key (SharedKey) and SAS requests arrive;
- an account whose data-plane RBAC refuses the caller's identity: with ``deny_bearer`` naming the account
  (``"*"`` for all), a request carrying ``Authorization: Bearer`` gets 403 ``AuthorizationPermissionMismatch``,
  as Azure answers an identity without *Storage Blob Data Reader*; SharedKey and SAS requests pass;
- an unhealthy account: ``fail(account, status)`` answers every request to it with ``status`` (503
  ``ServerBusy`` by default) until ``fail(account, None)``.

SharedKey signatures cover the path and headers, not the host, so forwarding keeps them valid. Bodies are
streamed in both directions (64 KiB at a time). ``requests`` records ``(method, account, auth, status)`` with
``auth`` one of ``bearer``, ``sharedkey``, ``sas``, ``anonymous``.
"""

from __future__ import annotations

import http.client
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .certs import TestCA
from .serving import BackgroundServer, TLSThreadingServer

log = logging.getLogger(__name__)

PIECE = 64 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade", "trailer"}
_DENIED = (
    b'<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This '
    b"request is not authorized to perform this operation using this permission.</Message></Error>"
)


class StorageGate(BackgroundServer):
    """``StorageGate(upstream, ca).start()``; ``account_url(name)`` is an account's blob endpoint through it."""

    thread_name = "localazure-gate"

    def __init__(self, upstream: str, ca: TestCA, *, tls: bool = False, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 443
        self.ca = ca
        self.tls = tls
        self.host = host  # the name endpoints use (127.0.0.1 or localhost); the gate listens on 127.0.0.1
        self.deny_bearer: set[str] = set()
        self.failing: dict[str, int] = {}  # account (lower-case) -> status answered to every request
        self.requests: list[tuple[str, str, str, int]] = []
        self._lock = threading.Lock()
        self._client_context = ca.client_context()
        if tls:
            self._server: ThreadingHTTPServer = TLSThreadingServer(
                ("127.0.0.1", 0), _make_handler(self), ca.server_context()
            )
        else:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
            self._server.daemon_threads = True

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self._server.server_address[1]}"

    def account_url(self, account: str) -> str:
        return f"{self.endpoint}/{account}"

    def denies(self, account: str) -> bool:
        with self._lock:
            return "*" in self.deny_bearer or account.lower() in {a.lower() for a in self.deny_bearer}

    def fail(self, account: str, status: int | None = 503) -> None:
        """Answer every request to ``account`` with ``status`` (None: serve it again)."""
        with self._lock:
            if status is None:
                self.failing.pop(account.lower(), None)
            else:
                self.failing[account.lower()] = status

    def failure(self, account: str) -> int | None:
        with self._lock:
            return self.failing.get(account.lower())

    def record(self, method: str, account: str, auth: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, account, auth, status))

    def auth_counts(self, account: str | None = None) -> dict[str, int]:
        """Requests by auth kind (optionally of one account)."""
        counts: dict[str, int] = {}
        with self._lock:
            for _method, acct, auth, _status in self.requests:
                if account is None or acct == account:
                    counts[auth] = counts.get(auth, 0) + 1
        return counts


def _make_handler(gate: StorageGate) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            log.debug("gate: " + format, *args)

        def _auth(self) -> str:
            header = self.headers.get("Authorization", "")
            scheme = header.partition(" ")[0].lower()
            if scheme == "bearer":
                return "bearer"
            if scheme == "sharedkey":
                return "sharedkey"
            query = parse_qs(urlsplit(self.path).query)
            return "sas" if "sig" in query else "anonymous"

        def _forward(self) -> None:
            method = self.command
            account = urlsplit(self.path).path.lstrip("/").split("/")[0]
            auth = self._auth()
            length = int(self.headers.get("Content-Length") or 0)
            failure = gate.failure(account)
            if failure is not None:
                self._drain(length)
                body = b'<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code></Error>'
                self.send_response(failure)
                self.send_header("x-ms-error-code", "ServerBusy")
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(body)
                gate.record(method, account, auth, failure)
                return
            if auth == "bearer" and gate.denies(account):
                self._drain(length)
                self.send_response(403)
                self.send_header("x-ms-error-code", "AuthorizationPermissionMismatch")
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(_DENIED)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(_DENIED)
                gate.record(method, account, auth, 403)
                return
            upstream = http.client.HTTPSConnection(
                gate.upstream_host, gate.upstream_port, context=gate._client_context, timeout=60
            )
            try:
                upstream.putrequest(method, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in _HOP_BY_HOP:
                        upstream.putheader(name, value)
                upstream.endheaders()
                remaining = length
                while remaining > 0:
                    piece = self.rfile.read(min(PIECE, remaining))
                    if not piece:
                        break
                    upstream.send(piece)
                    remaining -= len(piece)
                response = upstream.getresponse()
                body_length = response.getheader("Content-Length")
                buffered = None
                if body_length is None and method != "HEAD":
                    buffered = response.read()
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                if buffered is not None:
                    self.send_header("Content-Length", str(len(buffered)))
                elif body_length is not None:
                    self.send_header("Content-Length", body_length)
                self.end_headers()
                if buffered is not None:
                    self.wfile.write(buffered)
                elif method != "HEAD":
                    while piece := response.read(PIECE):
                        self.wfile.write(piece)
                gate.record(method, account, auth, response.status)
            except OSError as exc:
                log.warning("gate: upstream request failed: %s", exc)
                try:
                    self.send_error(502, "upstream failed")
                except OSError:
                    pass
            finally:
                upstream.close()

        def _drain(self, length: int) -> None:
            while length > 0:
                piece = self.rfile.read(min(PIECE, length))
                if not piece:
                    return
                length -= len(piece)

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_OPTIONS = _forward

    return Handler

"""Local managed-identity endpoint speaking the App Service / Azure Functions protocol (2019-08-01).

``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<resource>`` with header ``X-IDENTITY-HEADER`` equal
to ``IDENTITY_HEADER`` answers ``{"access_token", "expires_on", "resource", "token_type", "client_id"}`` like
the real endpoint (``expires_on`` as a string of epoch seconds). With both variables set, ``azure.identity``'s
``DefaultAzureCredential`` / ``ManagedIdentityCredential`` pick ``AppServiceCredential``, which in
azure-identity 1.2x delegates to MSAL's ``_obtain_token_on_app_service``: it sends the two query parameters
(plus ``client_id`` / ``mi_res_id`` / ``object_id`` for a user-assigned identity) and headers
``X-IDENTITY-HEADER`` and ``Metadata: true``, strips ``/.default`` from the scope to form ``resource``, and
needs ``access_token`` and ``expires_on``.

The endpoint is plain HTTP on 127.0.0.1, as on App Service (``http://localhost:8081/msi/token``). A wrong or
missing header gets 401; a missing resource 400 (the real service answers 400/500 with
``statusCode``/``message``). ``inject(status, count=n)`` fails the next n token requests. Seen with
azure-identity 1.27 / MSAL: a 5xx is retried 3 times (4 requests, ~5 s) before ``CredentialUnavailableError``;
a 4xx fails at once. The error text then says "App Service managed identity configuration not found in
environment" although the endpoint was found, and ``DefaultAzureCredential`` goes on to its next credentials
before raising ``ClientAuthenticationError``.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .serving import BackgroundServer
from .tokens import TokenIssuer

log = logging.getLogger(__name__)

TOKEN_PATH = "/msi/token"


class IdentityServer(BackgroundServer):
    """Serves tokens from ``issuer`` at ``endpoint`` for callers that present ``header``."""

    thread_name = "localazure-identity"

    def __init__(self, issuer: TokenIssuer, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.issuer = issuer
        self.header = secrets.token_urlsafe(24)
        self._lock = threading.Lock()
        self.requests: list[str] = []  # resources asked for, in order
        self._faults: list[int] = []
        # Resources this endpoint will not mint tokens for (a stand-in that only knows ARM): 400, like an
        # App Service endpoint asked for an unknown resource.
        self.refused_resources: set[str] = set()
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer((host, port), handler, bind_and_activate=False)
        self._server.daemon_threads = True
        self._server.request_queue_size = 128  # bursts of concurrent credentials
        self._server.server_bind()
        self._server.server_activate()

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{TOKEN_PATH}"

    def env(self) -> dict[str, str]:
        return {"IDENTITY_ENDPOINT": self.endpoint, "IDENTITY_HEADER": self.header}

    def inject(self, status: int = 500, *, count: int = 1) -> None:
        """Answer the next ``count`` token requests with ``status`` and an App Service style error body."""
        with self._lock:
            self._faults.extend([status] * count)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
        self.refused_resources.clear()

    def _take_fault(self) -> int | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def _record(self, resource: str) -> None:
        with self._lock:
            self.requests.append(resource)


def _make_handler(server: IdentityServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            log.debug("identity: " + format, *args)

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path != TOKEN_PATH:
                self._send(404, {"statusCode": 404, "message": "not found"})
                return
            if self.headers.get("X-IDENTITY-HEADER") != server.header:
                self._send(401, {"statusCode": 401, "message": "X-IDENTITY-HEADER missing or wrong"})
                return
            if query.get("api-version") != "2019-08-01":
                self._send(400, {"statusCode": 400, "message": "api-version 2019-08-01 required"})
                return
            fault = server._take_fault()
            if fault is not None:
                self._send(fault, {"statusCode": fault, "message": "injected identity endpoint failure"})
                return
            resource = query.get("resource", "").strip()
            if not resource:
                self._send(400, {"statusCode": 400, "message": "resource required"})
                return
            if resource.endswith("/.default"):
                resource = resource[: -len("/.default")]
            if resource.rstrip("/") in {r.rstrip("/") for r in server.refused_resources}:
                self._send(400, {"statusCode": 400, "message": f"no token for resource {resource}"})
                return
            server._record(resource)
            token, expires_on = server.issuer.mint(resource)
            self._send(
                200,
                {
                    "access_token": token,
                    "expires_on": str(expires_on),
                    "resource": resource,
                    "token_type": "Bearer",
                    "client_id": server.issuer.client_id,
                },
            )

    return Handler

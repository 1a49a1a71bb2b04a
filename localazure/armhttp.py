"""The local Resource Manager's HTTP side: its routes, and the request handler that checks the token and the
``api-version``, serves injected faults and hooks, and answers with ARM's error bodies.

``localazure.arm.ArmServer`` serves what a route asks for; this module decides whether it may.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from .armstate import ArmError, ArmRequest
from .tokens import MANAGEMENT_AUDIENCES, TokenError

if TYPE_CHECKING:
    from .arm import ArmServer

log = logging.getLogger(__name__)

_SEG = r"([^/]+)"
_SUB = rf"/subscriptions/{_SEG}"
_RG = rf"{_SUB}/resourcegroups/{_SEG}"
_IT = "/providers/microsoft.virtualmachineimages/imagetemplates"
_SA = "/providers/microsoft.storage/storageaccounts"
_CG = "/providers/microsoft.containerinstance/containergroups"
ROUTES: list[tuple[str, str, re.Pattern[str]]] = [
    (method, kind, re.compile(pattern + "/?$", re.IGNORECASE))
    for method, kind, pattern in [
        ("GET", "imageTemplates.list", rf"{_SUB}{_IT}"),
        ("GET", "imageTemplates.listByResourceGroup", rf"{_RG}{_IT}"),
        ("GET", "imageTemplates.get", rf"{_RG}{_IT}/{_SEG}"),
        ("GET", "imageTemplates.listRunOutputs", rf"{_RG}{_IT}/{_SEG}/runoutputs"),
        ("GET", "imageTemplates.getRunOutput", rf"{_RG}{_IT}/{_SEG}/runoutputs/{_SEG}"),
        ("GET", "resourceGroups.list", rf"{_SUB}/resourcegroups"),
        ("GET", "resourceGroups.get", rf"{_RG}"),
        ("GET", "storageAccounts.list", rf"{_SUB}{_SA}"),
        ("GET", "storageAccounts.listByResourceGroup", rf"{_RG}{_SA}"),
        ("GET", "storageAccounts.getProperties", rf"{_RG}{_SA}/{_SEG}"),
        ("POST", "storageAccounts.listKeys", rf"{_RG}{_SA}/{_SEG}/listkeys"),
        ("GET", "containerGroups.listByResourceGroup", rf"{_RG}{_CG}"),
        ("GET", "containerGroups.get", rf"{_RG}{_CG}/{_SEG}"),
        ("GET", "containers.listLogs", rf"{_RG}{_CG}/{_SEG}/containers/{_SEG}/logs"),
    ]
]


def _challenge(description: str) -> str:
    return (
        'Bearer authorization_uri="https://login.microsoftonline.com/common", '
        f'error="invalid_token", error_description="{description}"'
    )


def make_handler(server: ArmServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            log.debug("arm: " + format, *args)

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, error: ArmError) -> None:
            self._send(error.status, {"error": {"code": error.code, "message": error.message}}, error.headers)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            url = urlsplit(self.path)
            path = unquote(url.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            kind, args = "unknown", ()
            for route_method, route_kind, pattern in ROUTES:
                match = pattern.match(path)
                if match and route_method == method:
                    kind, args = route_kind, match.groups()
                    break
            if path.rstrip("/").lower() == "/metadata/endpoints" and server.metadata_audience and method == "GET":
                server._record(method, path, "metadata.endpoints")
                self._send(
                    200,
                    {
                        "galleryEndpoint": "",
                        "graphEndpoint": "https://graph.windows.net/",
                        "portalEndpoint": "https://portal.azure.com/",
                        "authentication": {
                            "loginEndpoint": "https://login.microsoftonline.com/",
                            "audiences": [server.metadata_audience],
                        },
                    },
                )
                return
            hooks = server._record(method, path, kind)
            try:
                self._authorize()
                for hook in hooks:
                    hook(ArmRequest(method, path, query, kind))
                fault = server._take_fault(method, path, kind)
                if fault is not None:
                    if fault.delay:
                        time.sleep(fault.delay)
                    if fault.status is not None:
                        headers = {}
                        if fault.retry_after is not None:
                            headers["Retry-After"] = f"{fault.retry_after:g}"
                        code = fault.code or {429: "TooManyRequests", 401: "AuthenticationFailed"}.get(
                            fault.status, "InternalServerError" if fault.status >= 500 else "BadRequest"
                        )
                        raise ArmError(fault.status, code, fault.message or f"Injected fault {fault.status}.", headers)
                if kind == "unknown":
                    raise ArmError(
                        404,
                        "NoRegisteredProviderFound" if "/providers/" in path else "NotFound",
                        f"No route for {method} {path} in the local ARM endpoint.",
                    )
                if not query.get("api-version"):
                    raise ArmError(
                        400,
                        "MissingApiVersionParameter",
                        "The api-version query parameter (?api-version=) is required for all requests.",
                    )
                with server.state.lock:  # serialize under the lock: LocalCloud mutates these dicts in place
                    payload = json.dumps(server._serve(method, kind, args, path, query)).encode()
                self._send(200, payload)
            except ArmError as error:
                self._error(error)
            except Exception as exc:  # a bug here must surface as a 500, not a dropped connection
                log.exception("local ARM endpoint failed on %s %s", method, path)
                self._error(ArmError(500, "InternalServerError", f"{type(exc).__name__}: {exc}"))

        def _authorize(self) -> None:
            header = self.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise ArmError(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.",
                    {"WWW-Authenticate": _challenge("The 'Authorization' header is missing.")},
                )
            try:
                audiences = (server.metadata_audience,) if server.metadata_audience else MANAGEMENT_AUDIENCES
                server.issuer.verify(token.strip(), audiences)
            except TokenError as exc:
                raise ArmError(
                    401,
                    "InvalidAuthenticationToken",
                    f"The access token is invalid: {exc}.",
                    {"WWW-Authenticate": _challenge("The access token is invalid.")},
                ) from None

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler

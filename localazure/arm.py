"""A local HTTPS Azure Resource Manager endpoint serving the wire format of the official REST API.

Only what the monitor reads is served (routes below); payloads are shaped like the REST specification's
examples (``/work/shared/reference/imagebuilder-rest``, ``storage-rest``). Every request needs
``Authorization: Bearer <token>`` minted by the local managed-identity endpoint (``localazure.identity``) for
a management audience; otherwise 401 with an ARM error body. The ``api-version`` query parameter is required
(400 without it, like ARM) but any value is accepted.

Routes (path matching is case-insensitive, like ARM):

- ``GET /subscriptions/{s}/providers/Microsoft.VirtualMachineImages/imageTemplates`` (paged)
- ``GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.VirtualMachineImages/imageTemplates``
  (paged)
- ``GET .../imageTemplates/{name}``, ``GET .../imageTemplates/{name}/runOutputs`` (paged), ``GET
  .../runOutputs/{output}``
- ``GET /subscriptions/{s}/resourcegroups`` (paged), ``GET /subscriptions/{s}/resourcegroups/{rg}``
- ``GET /subscriptions/{s}[/resourceGroups/{rg}]/providers/Microsoft.Storage/storageAccounts`` (paged), ``GET
  .../storageAccounts/{a}``, ``POST .../storageAccounts/{a}/listKeys``
- ``GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups``
  (paged), ``GET .../containerGroups/{cg}``, ``GET .../containerGroups/{cg}/containers/{c}/logs`` (``tail``
  honoured)

Lists are paged with an absolute ``nextLink`` carrying an opaque ``$skiptoken`` (keyset paging by resource id,
so a template deleted between two pages does not shift the rest). ``ArmServer.page_size`` sets the page size.

Test controls (thread-safe): ``inject(...)`` faults (status such as 429 with ``Retry-After``, 5xx, or a delay;
a count; a path filter; a method filter), ``on_request(callback)`` hooks called before a request is served
(e.g. to delete a template in the middle of a copy), ``requests`` (list of ``(method, path)``), ``counts`` (by
route kind, e.g. ``"imageTemplates.list"``) and ``reset_counts()``.

Using the real SDK clients against it (azure-mgmt-imagebuilder 2.0.0, -storage 25.x, -containerinstance 10.x):

- ``ImageBuilderClient(credential, subscription_id, base_url=arm_endpoint)``; the same ``base_url`` keyword
  for ``StorageManagementClient`` and ``ContainerInstanceManagementClient``. Leave ``credential_scopes`` at
  its default (``https://management.azure.com/.default``): the local identity endpoint mints a token for the
  resource ``https://management.azure.com``, which this endpoint accepts (and
  ``management.core.windows.net``). A scope made from the endpoint URL (``https://127.0.0.1:<port>/.default``)
  is refused with 401, as Azure refuses a token for another audience.
- Paging: the generated clients follow ``nextLink`` verbatim (absolute URL) and re-add their own
  ``api-version``.
- Retries: azure-core's ``RetryPolicy`` retries 408/429/5xx (except 501/505) up to ``retry_status=3`` times,
  waiting ``Retry-After`` seconds when the answer has one, else exponential back-off (0.8 s, 1.6 s, ...).
  After that, ARM error bodies surface as ``HttpResponseError`` with ``.status_code`` and ``.error.code``.
- TLS (checked with azure-core 1.41 / requests 2.34): azure-core's ``RequestsTransport`` passes
  ``verify=True`` and requests' ``merge_environment_settings`` replaces it with ``REQUESTS_CA_BUNDLE``
  (``trust_env`` is on by default), so the SDK clients trust the test certificate through
  ``REQUESTS_CA_BUNDLE`` alone, or per client with ``connection_verify=<ca.pem>``. requests ignores
  ``SSL_CERT_FILE``; urllib / ``ssl`` default contexts use ``SSL_CERT_FILE`` and ignore
  ``REQUESTS_CA_BUNDLE``. ``LocalCloud.env()`` sets both. Without the bundle the error is
  ``ServiceRequestError: certificate verify failed`` after azure-core's retries.
"""

from __future__ import annotations

import binascii
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .armhttp import make_handler
from .armstate import (
    CONTAINER_GROUP_TYPE,
    IMAGE_TEMPLATE_TYPE,
    STORAGE_TYPE,
    ArmError,
    ArmRequest,
    ArmState,
    Fault,
    resource_key,
)
from .certs import TestCA
from .serving import BackgroundServer, TLSThreadingServer
from .tokens import TokenIssuer

log = logging.getLogger(__name__)


class ArmServer(BackgroundServer):
    """The HTTPS endpoint. ``ArmServer(state, issuer, ca).start()``; ``endpoint`` is its base URL."""

    thread_name = "localazure-arm"

    def __init__(self, state: ArmState, issuer: TokenIssuer, ca: TestCA, *, page_size: int = 100) -> None:
        self.state = state
        self.issuer = issuer
        self.page_size = page_size
        # Stand-in variations the REST API allows (defaults: what Azure does):
        self.next_link_style = "absolute"  # "absolute" | "relative" (path and query only)
        self.list_summary = False  # True: template lists give id/name/type/location/tags only (GET has the rest)
        # Set: serve ``/metadata/endpoints`` (no auth) announcing this audience, and accept only tokens for it,
        # like Azure Stack Hub. None: no metadata route; management.azure.com / .core.windows.net audiences.
        self.metadata_audience: str | None = None
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._hooks: list[Callable[[ArmRequest], None]] = []
        self.requests: list[tuple[str, str]] = []
        self.counts: Counter[str] = Counter()
        self._server = TLSThreadingServer(("127.0.0.1", 0), make_handler(self), ca.server_context())

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    # -- test controls --
    def inject(
        self,
        status: int | None = 429,
        *,
        retry_after: float | None = None,
        count: int = 1,
        path_contains: str | None = None,
        method: str | None = None,
        delay: float = 0.0,
        code: str | None = None,
        message: str | None = None,
        kind: str | None = None,
    ) -> Fault:
        """Answer the next ``count`` matching requests with ``status`` (after ``delay`` seconds).

        ``status=None`` only delays. ``kind`` matches route kinds by prefix (``"resourceGroups.get"``,
        ``"containerGroups"``, ``"storageAccounts.listKeys"``, ``"imageTemplates.listRunOutputs"``): with a
        large ``count``, a stand-in that does not serve a route (404/405/501). Returns the Fault;
        ``fault.served`` tells how often it fired.
        """
        fault = Fault(status, retry_after, count, path_contains, method, delay, code, message, kind=kind)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def on_request(self, callback: Callable[[ArmRequest], None]) -> Callable[[], None]:
        """Call ``callback(ArmRequest)`` before serving each request. Returns a function that removes it."""
        with self._lock:
            self._hooks.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._hooks:
                    self._hooks.remove(callback)

        return remove

    def clear_hooks(self) -> None:
        with self._lock:
            self._hooks.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.counts.clear()

    def count(self, kind_prefix: str = "") -> int:
        """Requests served whose kind starts with ``kind_prefix`` (e.g. ``"imageTemplates"``)."""
        with self._lock:
            return sum(n for kind, n in self.counts.items() if kind.startswith(kind_prefix))

    # -- internals used by the handler --
    def _take_fault(self, method: str, path: str, kind: str = "") -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, kind):
                    fault.count -= 1
                    fault.served += 1
                    return fault
        return None

    def _record(self, method: str, path: str, kind: str) -> list[Callable[[ArmRequest], None]]:
        with self._lock:
            self.requests.append((method, path))
            self.counts[kind] += 1
            return list(self._hooks)

    def _page(self, items: list[dict[str, Any]], path: str, query: dict[str, str]) -> dict[str, Any]:
        """Keyset paging by lower-cased id."""
        items = sorted(items, key=lambda item: item["id"].lower())
        token = query.get("$skiptoken")
        if token:
            try:
                after = binascii.unhexlify(token).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise ArmError(400, "InvalidSkipToken", "The $skiptoken is malformed.") from exc
            items = [item for item in items if item["id"].lower() > after]
        size = max(1, int(query.get("$top") or self.page_size))
        page = items[:size]
        body: dict[str, Any] = {"value": page}
        if len(items) > size:
            next_token = binascii.hexlify(page[-1]["id"].lower().encode()).decode()
            api_version = quote(query.get("api-version", ""), safe="")
            top = f"&$top={size}" if query.get("$top") else ""
            base = "" if self.next_link_style == "relative" else self.endpoint
            body["nextLink"] = f"{base}{path}?api-version={api_version}{top}&$skiptoken={next_token}"
        return body

    def _listed(self, page: dict[str, Any]) -> dict[str, Any]:
        if not self.list_summary:
            return page
        keep = ("id", "name", "type", "location", "tags")
        return {**page, "value": [{k: t[k] for k in keep if k in t} for t in page["value"]]}

    def _serve(self, method: str, kind: str, args: tuple[str, ...], path: str, query: dict[str, str]) -> Any:
        state = self.state
        sub = args[0]
        with state.lock:
            if kind == "imageTemplates.list":
                return self._listed(
                    self._page([t for k, t in state.templates.items() if k[0] == sub.lower()], path, query)
                )
            rg = args[1] if len(args) > 1 else ""
            if kind == "resourceGroups.list":
                groups = [
                    g.to_json()
                    for k, g in state.resource_groups.items()
                    if k[0] == sub.lower() and _tag_filter(query.get("$filter"), g.tags)
                ]
                return self._page(groups, path, query)
            if kind == "storageAccounts.list":
                accounts = [a.to_json() for k, a in state.storage_accounts.items() if k[0] == sub.lower()]
                return self._page(accounts, path, query)
            group = state.resource_groups.get(resource_key(sub, rg))
            if group is None:
                raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
            if kind == "resourceGroups.get":
                return group.to_json()
            if kind == "imageTemplates.listByResourceGroup":
                return self._listed(
                    self._page([t for k, t in state.templates.items() if k[:2] == resource_key(sub, rg)], path, query)
                )
            if kind.startswith("imageTemplates."):
                template = state.templates.get(resource_key(sub, rg, args[2]))
                if template is None:
                    raise ArmError(
                        404,
                        "ResourceNotFound",
                        f"The Resource '{IMAGE_TEMPLATE_TYPE}/{args[2]}' under resource group '{rg}' was not "
                        "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                    )
                if kind == "imageTemplates.get":
                    return template
                outputs = state.run_outputs.get(resource_key(sub, rg, args[2]), [])
                if kind == "imageTemplates.listRunOutputs":
                    return self._page(outputs, path, query)
                for output in outputs:
                    if output["name"].lower() == args[3].lower():
                        return output
                raise ArmError(404, "ResourceNotFound", f"Run output '{args[3]}' was not found.")
            if kind == "storageAccounts.listByResourceGroup":
                accounts = [a.to_json() for k, a in state.storage_accounts.items() if k[:2] == resource_key(sub, rg)]
                return self._page(accounts, path, query)
            if kind.startswith("storageAccounts."):
                account = state.storage_accounts.get(resource_key(sub, rg, args[2]))
                if account is None:
                    raise ArmError(
                        404,
                        "ResourceNotFound",
                        f"The Resource '{STORAGE_TYPE}/{args[2]}' under resource group '{rg}' was not found.",
                    )
                if kind == "storageAccounts.getProperties":
                    return account.to_json()
                return {
                    "keys": [
                        {
                            "keyName": "key1",
                            "permissions": "FULL",
                            "value": account.keys[0],
                            "creationTime": "2026-01-01T00:00:00.0000000Z",
                        },
                        {
                            "keyName": "key2",
                            "permissions": "FULL",
                            "value": account.keys[1],
                            "creationTime": "2026-01-01T00:00:00.0000000Z",
                        },
                    ]
                }
            if kind == "containerGroups.listByResourceGroup":
                groups = [g.to_json() for k, g in state.container_groups.items() if k[:2] == resource_key(sub, rg)]
                return self._page(groups, path, query)
            container_group = state.container_groups.get(resource_key(sub, rg, args[2]))
            if container_group is None:
                raise ArmError(
                    404,
                    "ResourceNotFound",
                    f"The Resource '{CONTAINER_GROUP_TYPE}/{args[2]}' under resource group '{rg}' was not found.",
                )
            if kind == "containerGroups.get":
                return container_group.to_json()
            logs = {name.lower(): text for name, text in container_group.logs.items()}
            if args[3].lower() not in logs:
                raise ArmError(404, "ContainerNotFound", f"The container '{args[3]}' cannot be found.")
            text = logs[args[3].lower()]
            tail = query.get("tail")
            if tail and tail.isdigit():
                lines = text.splitlines(keepends=True)
                text = "".join(lines[-int(tail) :]) if int(tail) else ""
            return {"content": text}


_TAG_FILTER = re.compile(r"^\s*tagName eq '([^']*)'(?:\s+and\s+tagValue eq '([^']*)')?\s*$", re.IGNORECASE)


def _tag_filter(expression: str | None, tags: dict[str, str]) -> bool:
    """ARM's resource group ``$filter`` by tag (``tagName eq 'k' [and tagValue eq 'v']``); other filters
    are not applied (the list is returned whole, which callers must tolerate)."""
    match = _TAG_FILTER.match(expression or "")
    if not match:
        return True
    name, value = match.group(1).lower(), match.group(2)
    lowered = {k.lower(): v for k, v in tags.items()}
    return name in lowered and (value is None or lowered[name] == value)

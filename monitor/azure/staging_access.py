"""Reading staging storage accounts with the monitor's identity or an account key, and ARM calls the monitor can
do without. ``StagingAccess`` is the base of ``StagingLogs`` (monitor/azure/staging.py), which finds the logs.

Stand-ins and real subscriptions implement less than everything, so reading degrades instead of failing:

- ``STAGING_LOG_AUTH=aad`` reads with the identity; an account served over plain ``http`` (Azurite, other
  emulators) cannot take a bearer token, and an account that refuses the identity (403 / authentication
  failure: the identity lacks *Storage Blob Data Reader*) is read with its account key from ARM ``listKeys``
  instead — tried once per account, each reason logged once.
- ARM routes the monitor only uses to find logs (storage accounts, ``listKeys``, resource groups, container
  groups) may answer 400/403/404/405/501 on a stand-in: logged once per route at warning, and the monitor goes
  on with what it has. Only transient errors (408, 429, 5xx other than 501/505, connection errors) propagate, so
  an Event Grid delivery is retried and a sweep reports that template as an error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from monitor.azure.errors import is_transient
from monitor.azure.ids import resource_group_of

log = logging.getLogger(__name__)

T = TypeVar("T")

STORAGE_SCOPE = "https://storage.azure.com/.default"  # the audience of every cloud's blob service
# ARM error codes that say the resource (not the route) is gone.
_GONE_CODES = frozenset(
    {
        "resourcegroupnotfound",
        "resourcenotfound",
        "containergroupnotfound",
        "containernotfound",
        "parentresourcenotfound",
    }
)
AUTH_REFUSED_CODES = frozenset(
    {"authorizationpermissionmismatch", "authorizationfailure", "authenticationfailed", "invalidauthenticationinfo"}
)




def account_name_of(account_url: str) -> str:
    """The storage account of a blob endpoint.

    Real-style endpoints carry it as the first host label (``https://<account>.blob.core.windows.net``, also
    sovereign clouds, Azure Stack, private links and Azurite's ``<account>.blob.localhost``); path-style
    endpoints (emulators: ``http://127.0.0.1:10000/<account>``, ``http://azurite:10000/<account>``,
    ``http://localhost:10000/<account>``) as the first path segment.
    """
    parts = urlsplit(account_url.strip())
    host = (parts.hostname or "").lower()
    labels = host.split(".")
    segment = parts.path.strip("/").split("/")[0]
    blob_style = len(labels) >= 3 and labels[1] == "blob"
    if segment and not blob_style:
        return segment
    return labels[0] if len(labels) > 1 or not segment else segment



def status_of(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def _arm_code(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or getattr(exc, "error_code", None) or ""
    return str(code).lower()


def auth_refused(exc: BaseException) -> bool:
    """A storage request the service refused for our credential (or the credential gave no token)."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    if isinstance(exc, ClientAuthenticationError):
        return status_of(exc) in (None, 401, 403)
    if isinstance(exc, HttpResponseError):
        return status_of(exc) in (401, 403) or str(getattr(exc, "error_code", "") or "").lower() in AUTH_REFUSED_CODES
    return False




class StagingAccess:
    """Blob clients for staging accounts per STAGING_LOG_AUTH: ``aad`` (the monitor's identity, falling back to the
    account key where the identity cannot be used) or ``key`` (ARM listKeys)."""

    def __init__(self, clients: Any, auth: str = "aad") -> None:
        self.clients = clients
        self.auth = auth
        self._services: dict[str, Any] = {}  # account url -> BlobServiceClient (keys stay in memory only)
        self._keyed: set[str] = set()  # account urls whose cached client uses the account key
        self._key_tried: set[str] = set()  # account urls for which the aad → key fallback was tried
        self._account_groups: dict[str, str | None] | None = None  # account name -> resource group
        self._warned: set[str] = set()
        self._token_ok: bool | None = None  # can the identity get a storage token at all?
        self._lock = threading.Lock()

    # -- degrading -------------------------------------------------------------------------------------------
    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        log.warning(message, *args)

    def optional_arm(self, route: str, call: Callable[[], T], default: T) -> T:
        """Run an ARM call the monitor can do without: a resource that is gone gives ``default`` quietly; a
        route the endpoint does not serve or refuses (400/403/404/405/501...) gives ``default`` with one
        warning per route; transient errors propagate."""
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        try:
            return call()
        except HttpResponseError as exc:
            if is_transient(exc) or status_of(exc) is None:
                raise
            if isinstance(exc, ResourceNotFoundError) and _arm_code(exc) in _GONE_CODES:
                log.debug("%s: not found (%s)", route, _arm_code(exc))
                return default
            hint = (
                " (the identity needs Reader on the staging resource groups; listKeys needs "
                "Microsoft.Storage/storageAccounts/listKeys/action)"
                if status_of(exc) in (401, 403)
                else ""
            )
            self._warn_once(
                "route:" + route,
                "ARM endpoint %s answered %s (%s) to %s%s; going on without it (the log URL in the failure message "
                "and the other routes still work)",
                self.clients.settings.arm_endpoint,
                status_of(exc),
                _arm_code(exc) or "no code",
                route,
                hint,
            )
            return default


    # -- credentials -----------------------------------------------------------------------------------------
    def service(self, account_url: str, staging_group: str | None, account_name: str | None = None) -> Any:
        """The blob client for a staging account; None when it cannot be read at all (logged).

        ``key``: the account key (listKeys), else the identity. ``aad``: the identity, else (plain http, or no
        storage token) the account key. Over plain http without a key: anonymous (a public container)."""
        with self._lock:
            cached = self._services.get(account_url)
        if cached is not None:
            return cached
        name = account_name or account_name_of(account_url)
        https = urlsplit(account_url).scheme.lower() == "https"
        if self.auth != "key" and not https:
            self._warn_once(
                "http:" + account_url,
                "staging account %s is served over plain http, where the storage client sends no bearer token; "
                "reading it with its account key (ARM listKeys) instead of the identity",
                name,
            )
        use_key = self.auth == "key" or not https or not self._storage_token()
        credential: Any = None  # the identity
        anonymous = False
        if use_key:
            with self._lock:
                self._key_tried.add(account_url)
            credential = self._account_key(name, staging_group)
            if credential is None and https and self.auth == "key" and self._storage_token():
                self._warn_once(
                    "identity:" + account_url,
                    "no account key for staging account %s; reading it with the monitor's identity instead "
                    "(needs Storage Blob Data Reader)",
                    name,
                )
            elif credential is None and not https:
                self._warn_once(
                    "anonymous:" + account_url,
                    "no account key for staging account %s (plain http); trying anonymous reads",
                    name,
                )
                anonymous = True
            elif credential is None:
                return None
        service = self.clients.blob_service(account_url, credential, anonymous=anonymous)
        with self._lock:
            self._services[account_url] = service
            if credential is not None or anonymous:
                self._keyed.add(account_url)  # no identity fallback from here
        return service

    def _storage_token(self) -> bool:
        """Whether the identity gets a storage token (asked once). A token endpoint that only serves ARM would
        otherwise make every staging read wait through the storage client's retries."""
        from azure.core.exceptions import ClientAuthenticationError

        if self._token_ok is None:
            try:
                self.clients.credential.get_token(STORAGE_SCOPE)
                self._token_ok = True
            except ClientAuthenticationError as exc:
                self._token_ok = False
                log.warning(
                    "the monitor's identity got no storage token (%s); reading staging accounts with their account "
                    "keys (ARM listKeys) instead",
                    str(exc).splitlines()[0][:200],
                )
        return self._token_ok

    def _account_key(self, name: str, staging_group: str | None) -> dict[str, str] | None:
        """``{"account_name", "account_key"}`` from ARM listKeys, or None when listKeys is not possible."""
        group = staging_group or self._group_of_account(name)
        if not group:
            self._warn_once(
                "nogroup:" + name, "cannot call listKeys for staging account %s: its resource group is unknown", name
            )
            return None

        def list_keys() -> Any:
            return self.clients.storage_mgmt.storage_accounts.list_keys(group, name)

        keys = self.optional_arm("storageAccounts.listKeys", list_keys, None)
        if keys is None:
            return None
        listed = keys.as_dict() if hasattr(keys, "as_dict") else {"keys": [{"value": k.value} for k in keys.keys]}
        values = [k.get("value") for k in listed.get("keys") or [] if k.get("value")]
        if not values:
            self._warn_once("nokeys:" + name, "listKeys of staging account %s returned no key", name)
            return None
        return {"account_name": name, "account_key": values[0]}

    def _group_of_account(self, name: str) -> str | None:
        """The resource group of a storage account known only by name (one subscription-wide list, cached)."""
        if self._account_groups is None:

            def listed() -> dict[str, str | None]:
                groups: dict[str, str | None] = {}
                for account in self.clients.storage_mgmt.storage_accounts.list():
                    group = resource_group_of(account.id)
                    if group:
                        groups[account.name.lower()] = group
                return groups

            self._account_groups = self.optional_arm("storageAccounts.list", listed, {})
        return self._account_groups.get(name.lower())

    def _read(
        self, account_url: str, staging_group: str | None, account_name: str | None, op: Callable[[Any], T]
    ) -> T | None:
        """``op(service)``; if the identity is refused, retry once per account with the account key. None when
        the account cannot be read at all."""
        from azure.core.exceptions import HttpResponseError

        service = self.service(account_url, staging_group, account_name)
        if service is None:
            return None
        try:
            return op(service)
        except HttpResponseError as exc:
            with self._lock:
                first_try = account_url not in self._keyed and account_url not in self._key_tried
                if first_try:
                    self._key_tried.add(account_url)
            if not auth_refused(exc) or not first_try:
                raise
            name = account_name or account_name_of(account_url)
            log.warning(
                "staging account %s refused the monitor's identity (%s): grant it 'Storage Blob Data Reader' on the "
                "staging resource groups (or the subscription); trying the account key through listKeys, which "
                "needs Microsoft.Storage/storageAccounts/listKeys/action",
                name,
                getattr(exc, "error_code", None) or status_of(exc) or type(exc).__name__,
            )
            credential = self._account_key(name, staging_group)
            if credential is None:
                raise
            keyed = self.clients.blob_service(account_url, credential)
            with self._lock:
                self._services[account_url] = keyed
                self._keyed.add(account_url)
            return op(keyed)

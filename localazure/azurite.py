"""Start and stop Azurite's blob service (npm ``azurite``, ``node_modules/.bin/azurite-blob``) for tests and
the demo.

Azurite runs over HTTPS with the test CA's server certificate and ``--oauth basic`` so that both auth modes of
the real ``azure-storage-blob`` client work:

* identity: ``BlobServiceClient("https://127.0.0.1:<port>/<account>", credential=DefaultAzureCredential())``
  with the token from the local managed-identity endpoint (Azurite checks lifetime, issuer prefix and audience
  ``https://storage.azure.com``, not the signature);
* account key: ``BlobServiceClient.from_connection_string(...)`` with
  ``BlobEndpoint=https://127.0.0.1:<port>/<account>``.

Accounts are declared at start through ``AZURITE_ACCOUNTS`` (``name:key;name:key``); Azurite only re-reads its
own process environment, so the set is fixed for the life of the process. That is one environment string, which
Linux caps at 128 KiB (MAX_ARG_STRLEN): about 1,250 accounts with 88-character keys (``MAX_ACCOUNTS_BYTES``;
more is refused with ``AzuriteError``). Declared accounts cost little: 1,000 start in about 1.5 s. URLs are IP-style
(``https://127.0.0.1:<port>/<account>/<container>/<blob>``): the account is the first path segment.

Server-side copy between Azurite accounts (verified with azure-storage-blob 12.31 against Azurite 3.37, see
``tests/localazure/test_azurite_copy.py`` and ``/work/notes/azurite-findings.md``):

* ``start_copy_from_url`` (Copy Blob) from another account with a SAS-signed source URL works, and completes
  synchronously (``copy_status == "success"`` in the response);
* ``upload_blob_from_url`` (Put Blob From URL) and ``stage_block_from_url`` are NOT implemented by Azurite
  (501 / "NotImplemented"), so the monitor must fall back to a streamed copy (download chunks, upload blocks);
* user delegation keys (``get_user_delegation_key``) are served by Azurite under OAuth; see the findings file
  for whether a user delegation SAS authorises a cross-account copy source.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .certs import TestCA

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BLOB = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"  # -> ../azurite/dist/src/blob/main.js
AZURITE_BLOB_MAIN = REPO_ROOT / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
_ACCESS_LOG = re.compile(r'^\S+ - - \[[^\]]*\] "(\w+) ([^ ?"]*)(?:\?([^ "]*))? HTTP/[\d.]+" (\d{3}) ', re.MULTILINE)
_LISTENING = re.compile(r"successfully listens on (https?)://([\d.]+):(\d+)")
MAX_ACCOUNTS_BYTES = 128 * 1024 - 1 - len("AZURITE_ACCOUNTS=")  # Linux's MAX_ARG_STRLEN, with the NUL and name


@dataclass(frozen=True)
class StorageRequest:
    """One request Azurite served, from its access log. ``operation`` is the ``comp`` / ``restype`` query
    value (e.g. ``block``, ``blocklist``, ``container``, ``list``) or ``""``; other query values (SAS) are
    dropped."""

    method: str
    account: str
    path: str  # /<container>/<blob> (without the account)
    operation: str
    status: int


class AzuriteError(RuntimeError):
    """Azurite could not be started (not installed, crashed, or did not listen in time)."""


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM Azurite when the thread that started it dies, so a
    killed test run leaves no node process behind (start it from a long-lived thread, e.g. the main one)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: stop() still ends it
        pass


def account_key(name: str, salt: str = "") -> str:
    """A deterministic 64-byte base64 key for ``name`` (like a real storage account key)."""
    return base64.b64encode(hashlib.sha512(f"localazure:{salt}:{name}".encode()).digest()).decode("ascii")


@dataclass
class Azurite:
    """A running Azurite blob service. Use ``Azurite.start(...)`` or as a context manager."""

    workdir: Path
    ca: TestCA
    accounts: dict[str, str]  # name -> base64 key
    host: str = "127.0.0.1"
    port: int = 0
    process: subprocess.Popen | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        workdir: Path,
        ca: TestCA,
        accounts: dict[str, str],
        *,
        timeout: float = 30.0,
        debug: bool = False,
    ) -> Azurite:
        if not AZURITE_BLOB_MAIN.exists():
            raise AzuriteError(f"{AZURITE_BLOB_MAIN} not found: run `npm ci` (or `make setup`) at the repository root")
        node = shutil.which("node")
        if node is None:
            raise AzuriteError("node is not on PATH; Azurite needs Node.js")
        if not accounts:
            raise AzuriteError("at least one account is required")
        workdir.mkdir(parents=True, exist_ok=True)
        location = workdir / "data"
        location.mkdir(exist_ok=True)
        log_path = workdir / "azurite.out"
        env = dict(os.environ)
        # Azurite checks a cross-account copy source by an HTTPS HEAD request to itself: trust our cert.
        env["NODE_EXTRA_CA_CERTS"] = str(ca.ca_bundle)
        env["AZURITE_ACCOUNTS"] = ";".join(f"{name}:{key}" for name, key in accounts.items())
        if len(env["AZURITE_ACCOUNTS"].encode()) > MAX_ACCOUNTS_BYTES:
            raise AzuriteError(
                f"{len(accounts)} accounts do not fit in AZURITE_ACCOUNTS ({len(env['AZURITE_ACCOUNTS'])} bytes; "
                f"one environment string holds at most {MAX_ACCOUNTS_BYTES}): declare fewer accounts"
            )
        args = [
            node,
            str(AZURITE_BLOB_MAIN),  # what the .bin/azurite-blob shim points at; no reliance on the link
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--cert",
            str(ca.server_cert),
            "--key",
            str(ca.server_key),
            "--oauth",
            "basic",
            "--location",
            str(location),
            "--skipApiVersionCheck",
            "--disableTelemetry",
        ]
        if debug:
            args += ["--debug", str(workdir / "azurite-debug.log")]
        out = log_path.open("wb")
        try:
            process = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=str(workdir),
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            out.close()
        self = cls(workdir=workdir, ca=ca, accounts=dict(accounts), process=process)
        deadline = time.monotonic() + timeout
        while True:
            text = log_path.read_text(errors="replace")
            match = _LISTENING.search(text)
            if match:
                self.port = int(match.group(3))
                break
            if process.poll() is not None:
                raise AzuriteError(f"Azurite exited with {process.returncode}: {text[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise AzuriteError(f"Azurite did not listen within {timeout:.0f}s: {text[-2000:]}")
            time.sleep(0.05)
        log.info("Azurite blob service on %s (accounts: %d)", self.base_url, len(accounts))
        return self

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def account_url(self, account: str) -> str:
        """Blob endpoint of ``account`` (no trailing slash), e.g. ``https://127.0.0.1:10000/archive``."""
        return f"{self.base_url}/{account}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "azurite.out"

    def log_mark(self, settle: float = 0.1) -> int:
        """The end of Azurite's access log once it has been quiet for ``settle`` seconds (Azurite writes a
        line when a response has finished, which can be just after the client saw the response)."""
        size = self._log_size()
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < settle:
            time.sleep(settle / 4)
            now = self._log_size()
            if now != size:
                size, quiet_since = now, time.monotonic()
        return size

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def requests(self, since: int = 0) -> list[StorageRequest]:
        """Requests served since the ``log_mark()`` ``since``, parsed from the access log Azurite writes to
        stdout (one line per request)."""
        end = self.log_mark()
        with self.log_path.open("rb") as handle:
            handle.seek(since)
            text = handle.read(max(0, end - since)).decode("utf-8", "replace")
        out = []
        for method, raw_path, query, status in _ACCESS_LOG.findall(text):
            _, account, rest = [*raw_path.split("/", 2), "", ""][:3]
            operation = ""
            for pair in query.split("&") if query else ():
                key, _, value = pair.partition("=")
                if key in ("comp", "restype") and not operation:
                    operation = value
            out.append(StorageRequest(method, account, "/" + rest, operation, int(status)))
        return out

    def connection_string(self, account: str) -> str:
        return (
            f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={self.accounts[account]};"
            f"BlobEndpoint={self.account_url(account)};"
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)  # our own session: Azurite and any children
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def __enter__(self) -> Azurite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

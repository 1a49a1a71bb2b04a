"""What a sweep row says when a template's Azure call failed (``monitor.azure.errors.describe``): one line with
the status, the service's error code and the request that got it, never a SAS, and for a transient failure that
the next sweep looks again. The HTTP errors come from the real storage client against a local server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor.azure.errors import NEXT_SWEEP, describe
from monitor.deadline import DeadlinePassed

SAS = "sv=2024-11-04&se=2030-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ%3D%3D"


@pytest.fixture
def answering():
    """A local blob endpoint answering every request with the status (and x-ms-error-code) set on it."""
    reply = {"status": 503, "code": "ServerBusy"}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_HEAD(self) -> None:
            self.send_response(reply["status"])
            self.send_header("x-ms-error-code", reply["code"])
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield reply, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _blob_error(endpoint: str) -> BaseException:
    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import BlobClient

    client = BlobClient.from_blob_url(f"{endpoint}/acct/packerlogs/run1/validation.log?{SAS}", retry_total=0)
    with pytest.raises(HttpResponseError) as caught:
        client.get_blob_properties()
    return caught.value


def test_an_unhealthy_account_is_one_line_naming_status_code_and_request_without_the_sas(answering) -> None:
    _reply, endpoint = answering
    text = describe(_blob_error(endpoint))
    assert text == (
        f"HttpResponseError: 503 ServerBusy (Service Unavailable) from HEAD {endpoint}/acct/packerlogs/run1/"
        f"validation.log; {NEXT_SWEEP}"
    )


def test_a_refusal_that_will_not_pass_by_itself_does_not_promise_the_next_sweep(answering) -> None:
    reply, endpoint = answering
    reply.update(status=403, code="AuthorizationPermissionMismatch")
    text = describe(_blob_error(endpoint))
    assert text.startswith("HttpResponseError: 403 AuthorizationPermissionMismatch (Forbidden) from HEAD http")
    assert NEXT_SWEEP not in text and "sig=" not in text


def test_a_connection_error_is_one_line_with_its_sas_redacted() -> None:
    from azure.core.exceptions import ServiceRequestError

    message = (
        "HTTPSConnectionPool(host='acct.blob.core.windows.net', port=443): Max retries exceeded with url:\n"
        f"/packerlogs/run1/customization.log?{SAS} (Caused by ConnectTimeoutError)"
    )
    text = describe(ServiceRequestError(message))
    assert "\n" not in text and "c2VjcmV0" not in text and text.endswith(NEXT_SWEEP)
    assert text.startswith("ServiceRequestError: HTTPSConnectionPool(host='acct.blob.core.windows.net'")


def test_the_sweep_budget_and_long_texts() -> None:
    assert describe(DeadlinePassed("the sweep budget (SWEEP_BUDGET_MINUTES) is spent; request not sent")) == (
        "DeadlinePassed: the sweep budget (SWEEP_BUDGET_MINUTES) is spent; request not sent"
    )
    text = describe(RuntimeError("x" * 2000), limit=100)
    assert len(text) == 100 and text.endswith("…")

"""Azure client construction details that matter outside the local cloud: token scopes per cloud."""

from __future__ import annotations

import pytest

from monitor.azure.clients import RequestCounts, arm_credential_scopes


@pytest.mark.parametrize(
    ("endpoint", "scope"),
    [
        ("https://management.azure.com", "https://management.azure.com/.default"),
        ("https://management.azure.com/", "https://management.azure.com/.default"),
        ("https://management.usgovcloudapi.net", "https://management.core.usgovcloudapi.net/.default"),
        ("https://management.chinacloudapi.cn", "https://management.chinacloudapi.cn/.default"),
        ("https://127.0.0.1:8443", "https://management.azure.com/.default"),
    ],
)
def test_arm_scope_follows_the_cloud(endpoint: str, scope: str) -> None:
    assert arm_credential_scopes(endpoint) == [scope]


def test_request_counts_difference() -> None:
    before = RequestCounts(3, 5, {"arm GET /a": 3, "storage GET /b": 5})
    after = RequestCounts(4, 9, {"arm GET /a": 4, "storage GET /b": 5, "storage PUT /c": 4})
    spent = after - before
    assert (spent.arm, spent.storage) == (1, 4)
    assert spent.by_path == {"arm GET /a": 1, "storage PUT /c": 4}

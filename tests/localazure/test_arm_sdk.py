"""The real azure-mgmt-* clients and DefaultAzureCredential against the local ARM endpoint."""

from __future__ import annotations

import time

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.imagebuilder import ImageBuilderClient
from azure.mgmt.storage import StorageManagementClient

from localazure import LocalCloud


@pytest.fixture
def credential(cloud_env):
    cred = DefaultAzureCredential()
    yield cred
    cred.close()


@pytest.fixture
def images(cloud_env, credential, local_cloud: LocalCloud) -> ImageBuilderClient:
    client = ImageBuilderClient(credential, cloud_env["AZURE_SUBSCRIPTION_ID"], base_url=cloud_env["ARM_ENDPOINT"])
    yield client
    client.close()


def test_token_from_local_identity_endpoint(cloud_env, credential, local_cloud: LocalCloud):
    token = credential.get_token("https://management.azure.com/.default")
    claims = local_cloud.issuer.verify(token.token, ("https://management.azure.com",))
    assert claims["tid"] == local_cloud.issuer.tenant_id
    assert token.expires_on > time.time() + 3000
    assert "https://management.azure.com" in local_cloud.identity.requests


def test_identity_endpoint_rejects_wrong_header(cloud_env):
    response = requests.get(
        cloud_env["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": "https://management.azure.com"},
        headers={"X-IDENTITY-HEADER": "wrong"},
        timeout=5,
    )
    assert response.status_code == 401


def test_list_pages_and_get(images, local_cloud: LocalCloud, fresh_subscription):
    local_cloud.arm.page_size = 3
    try:
        names = {f"tpl{i:02d}" for i in range(8)}
        for name in sorted(names):
            local_cloud.add_template("rg-a" if name < "tpl04" else "rg-b", name, subscription_id=fresh_subscription)
        local_cloud.arm.reset_counts()
        listed = list(images.virtual_machine_image_templates.list())
        assert {t.name for t in listed} == names
        assert local_cloud.arm.counts["imageTemplates.list"] == 3  # 8 templates, 3 per page
        by_rg = list(images.virtual_machine_image_templates.list_by_resource_group("rg-b"))
        assert {t.name for t in by_rg} == {n for n in names if n >= "tpl04"}
    finally:
        local_cloud.arm.page_size = local_cloud.default_page_size


def test_template_fields_and_run_outputs(images, local_cloud: LocalCloud, fresh_subscription):
    t = local_cloud.add_template(
        "rg", "failing", subscription_id=fresh_subscription, build_timeout_minutes=90, tags={"team": "x"}
    )
    local_cloud.set_run_status(
        t.id, "Failed", "Customizing", message=local_cloud.failure_message(t.id, "Customizer failed")
    )
    got = images.virtual_machine_image_templates.get("rg", "failing")
    assert got.id == t.id
    assert got.provisioning_state == "Succeeded"
    assert got.last_run_status.run_state.lower() == "failed"
    assert got.last_run_status.run_sub_state.lower() == "customizing"
    assert local_cloud.staging_blob_url(t.id, t.log_blob_path) in got.last_run_status.message
    assert got.exact_staging_resource_group == t.staging_group_id
    assert got.build_timeout_in_minutes == 90
    assert got.tags == {"team": "x"}
    assert list(images.virtual_machine_image_templates.list_run_outputs("rg", "failing")) == []

    local_cloud.set_run_status(t.id, "Succeeded", new_run=True)
    outputs = list(images.virtual_machine_image_templates.list_run_outputs("rg", "failing"))
    assert [o.name for o in outputs] == ["failing-image"]


def test_submission_failure(images, local_cloud: LocalCloud, fresh_subscription):
    local_cloud.add_template(
        "rg",
        "bad",
        subscription_id=fresh_subscription,
        provisioning_state="Failed",
        provisioning_error={"provisioningErrorCode": "BadCustomizerType", "message": "bad customizer"},
    )
    got = images.virtual_machine_image_templates.get("rg", "bad")
    assert got.provisioning_state == "Failed"
    assert got.provisioning_error.provisioning_error_code == "BadCustomizerType"
    assert got.last_run_status is None


def test_missing_template_is_404_with_arm_error(images, fresh_subscription):
    with pytest.raises(ResourceNotFoundError) as info:
        images.virtual_machine_image_templates.get("rg", "nope")
    assert info.value.status_code == 404
    assert info.value.error.code == "ResourceGroupNotFound"


def test_deleted_template_is_404(images, local_cloud: LocalCloud, fresh_subscription):
    t = local_cloud.add_template("rg", "gone", subscription_id=fresh_subscription)
    local_cloud.delete_template(t.id)
    local_cloud.add_template("rg", "other", subscription_id=fresh_subscription)  # keep the group
    with pytest.raises(ResourceNotFoundError) as info:
        images.virtual_machine_image_templates.get("rg", "gone")
    assert info.value.error.code == "ResourceNotFound"


def test_429_retry_after_is_honoured(images, local_cloud: LocalCloud, fresh_subscription):
    local_cloud.add_template("rg", "t", subscription_id=fresh_subscription)
    fault = local_cloud.arm.inject(429, retry_after=1, count=2, path_contains="imageTemplates/t")
    started = time.monotonic()
    assert images.virtual_machine_image_templates.get("rg", "t").name == "t"
    assert fault.served == 2
    assert time.monotonic() - started >= 1.9  # two waits of Retry-After: 1


def test_persistent_429_surfaces_as_http_response_error(images, local_cloud: LocalCloud, fresh_subscription):
    images._config.retry_policy.total_retries = 1  # keep the test short: one retry, then the error
    local_cloud.arm.inject(429, retry_after=0, count=100, path_contains=fresh_subscription)
    try:
        with pytest.raises(HttpResponseError) as info:
            list(images.virtual_machine_image_templates.list())
        assert info.value.status_code == 429
        assert info.value.error.code == "TooManyRequests"
    finally:
        local_cloud.arm.clear_faults()


def test_5xx_is_retried(images, local_cloud: LocalCloud, fresh_subscription):
    local_cloud.add_template("rg", "t", subscription_id=fresh_subscription)
    fault = local_cloud.arm.inject(503, retry_after=0, count=1, path_contains=fresh_subscription)
    assert images.virtual_machine_image_templates.get("rg", "t").name == "t"
    assert fault.served == 1


def test_request_without_token_is_401(local_cloud: LocalCloud, cloud_env):
    url = (
        f"{local_cloud.arm_endpoint}/subscriptions/{cloud_env['AZURE_SUBSCRIPTION_ID']}"
        "/providers/Microsoft.VirtualMachineImages/imageTemplates?api-version=2025-10-01"
    )
    response = requests.get(url, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    forged = requests.get(url, headers={"Authorization": "Bearer a.b.c"}, timeout=5)
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_storage_token_is_refused_by_arm(local_cloud: LocalCloud, cloud_env, credential):
    token = credential.get_token("https://storage.azure.com/.default").token
    client = ImageBuilderClient(
        _StaticToken(token), cloud_env["AZURE_SUBSCRIPTION_ID"], base_url=cloud_env["ARM_ENDPOINT"]
    )
    with pytest.raises(ClientAuthenticationError):
        list(client.virtual_machine_image_templates.list())


def test_request_hook_runs_before_serving(images, local_cloud: LocalCloud, fresh_subscription):
    t = local_cloud.add_template("rg", "doomed", subscription_id=fresh_subscription)
    local_cloud.add_template("rg", "keeper", subscription_id=fresh_subscription)

    def delete_on_get(request):
        if request.kind == "imageTemplates.get" and request.path.endswith("/doomed"):
            local_cloud.delete_template(t.id)

    remove = local_cloud.arm.on_request(delete_on_get)
    try:
        with pytest.raises(ResourceNotFoundError):
            images.virtual_machine_image_templates.get("rg", "doomed")
    finally:
        remove()


def test_staging_group_and_storage_account(cloud_env, credential, local_cloud: LocalCloud, fresh_subscription):
    t = local_cloud.add_template("rg", "with-logs", subscription_id=fresh_subscription, storage=True)
    storage = StorageManagementClient(credential, fresh_subscription, base_url=cloud_env["ARM_ENDPOINT"])
    accounts = list(storage.storage_accounts.list_by_resource_group(t.staging_group))
    assert [a.name for a in accounts] == [t.storage_account]
    assert accounts[0].primary_endpoints.blob == f"{local_cloud.azurite.account_url(t.storage_account)}/"
    keys = storage.storage_accounts.list_keys(t.staging_group, t.storage_account)
    # azure-mgmt-storage 25.x: the list is `keys_property` (`keys` is the dict-like model's method).
    assert keys.keys_property[0].value == local_cloud.azurite.accounts[t.storage_account]

    # Resource groups are read over the wire (azure-mgmt-resource is not a dependency).
    token = credential.get_token("https://management.azure.com/.default").token
    base = f"{cloud_env['ARM_ENDPOINT']}/subscriptions/{fresh_subscription}/resourcegroups"
    headers = {"Authorization": f"Bearer {token}"}
    group = requests.get(f"{base}/{t.staging_group}?api-version=2024-03-01", headers=headers, timeout=5).json()
    assert group["tags"] == {
        "createdBy": "AzureVMImageBuilder",
        "imageTemplateName": "with-logs",
        "imageTemplateResourceGroupName": "rg",
    }
    assert t.staging_group.startswith("IT_rg_with-logs_")
    listed = requests.get(f"{base}?api-version=2024-03-01", headers=headers, timeout=5).json()
    assert t.staging_group in {g["name"] for g in listed["value"]}


def test_container_logs(cloud_env, credential, local_cloud: LocalCloud, fresh_subscription):
    t = local_cloud.add_template("rg", "running", subscription_id=fresh_subscription, storage=False)
    local_cloud.set_run_status(t.id, "Running", "Customizing")
    group_name = local_cloud.set_container_logs(t.id, "one\ntwo\nthree\n")
    client = ContainerInstanceManagementClient(credential, fresh_subscription, base_url=cloud_env["ARM_ENDPOINT"])
    groups = list(client.container_groups.list_by_resource_group(t.staging_group))
    assert [g.name for g in groups] == [group_name]
    assert group_name.startswith("vmimagebuilder-build-container-")
    container = groups[0].containers[0].name
    assert client.containers.list_logs(t.staging_group, group_name, container).content == "one\ntwo\nthree\n"
    assert client.containers.list_logs(t.staging_group, group_name, container, tail=1).content == "three\n"


class _StaticToken:
    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None):
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self.token, int(time.time()) + 3600)


def test_scope_from_the_endpoint_url_is_refused(cloud_env, credential):
    client = ImageBuilderClient(
        credential,
        cloud_env["AZURE_SUBSCRIPTION_ID"],
        base_url=cloud_env["ARM_ENDPOINT"],
        credential_scopes=[f"{cloud_env['ARM_ENDPOINT']}/.default"],
    )
    with pytest.raises(ClientAuthenticationError):
        list(client.virtual_machine_image_templates.list())


def test_identity_endpoint_failure_is_an_authentication_error(cloud_env, local_cloud: LocalCloud):
    # 400 is not retried (5xx is, 3 times, ~5 s: see localazure/identity.py)
    local_cloud.identity.inject(400, count=1)
    credential = DefaultAzureCredential()
    try:
        with pytest.raises(ClientAuthenticationError):
            credential.get_token("https://management.azure.com/.default")
        assert credential.get_token("https://management.azure.com/.default").token  # the next one works
    finally:
        credential.close()

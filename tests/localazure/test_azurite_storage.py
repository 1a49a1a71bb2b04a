"""Azurite as the local cloud runs it: both auth modes of the real azure-storage-blob client, and what
server-side copy between two Azurite accounts supports (findings in localazure/azurite.py and
notes/azurite-findings.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    generate_blob_sas,
)

from localazure import LocalCloud


@pytest.fixture
def credential(cloud_env):
    cred = DefaultAzureCredential()
    yield cred
    cred.close()


@pytest.fixture
def template(local_cloud: LocalCloud, fresh_subscription):
    return local_cloud.add_template("rg", "logs", subscription_id=fresh_subscription, storage=True)


@pytest.fixture
def archive(local_cloud: LocalCloud, credential):
    """A fresh container in the archive account, reached with the identity (like ARCHIVE_STORAGE_URL)."""
    service = BlobServiceClient(local_cloud.archive_blob_url, credential=credential)
    container = service.get_container_client(f"t{uuid.uuid4().hex[:12]}")
    container.create_container()
    yield container
    container.delete_container()


def _source(local_cloud: LocalCloud, template, data: bytes):
    local_cloud.put_staging_blob(template.id, template.log_blob_path, data)
    account = template.storage_account
    service = BlobServiceClient(
        local_cloud.azurite.account_url(account),
        credential={"account_name": account, "account_key": local_cloud.azurite.accounts[account]},
        connection_verify=str(local_cloud.ca_bundle),
    )
    return service, service.get_blob_client("packerlogs", template.log_blob_path.split("/", 1)[1])


def _expiry() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


def test_read_with_identity_and_with_key(local_cloud: LocalCloud, template, credential, cloud_env):
    data = b"[op] PACKER OUT ==> azure-arm: hello\n" * 1000
    local_cloud.put_staging_blob(template.id, template.log_blob_path, data)
    url = local_cloud.staging_blob_url(template.id, template.log_blob_path)
    account_url, _, rest = url.partition(f"/{template.storage_account}/")
    account_url = f"{account_url}/{template.storage_account}"
    container, _, blob = rest.partition("/")

    by_identity = BlobServiceClient(account_url, credential=credential)
    assert by_identity.get_blob_client(container, blob).download_blob().readall() == data

    key = local_cloud.azurite.accounts[template.storage_account]
    by_key = BlobServiceClient(account_url, credential={"account_name": template.storage_account, "account_key": key})
    assert by_key.get_blob_client(container, blob).download_blob().readall() == data

    conn = BlobServiceClient.from_connection_string(local_cloud.archive_connection_string)
    assert conn.account_name == local_cloud.archive_account
    assert conn.get_service_properties() is not None


def test_token_for_another_audience_is_refused(local_cloud: LocalCloud, template, credential):
    class ManagementToken:
        def get_token(self, *scopes, **kwargs):
            return credential.get_token("https://management.azure.com/.default")

    service = BlobServiceClient(local_cloud.azurite.account_url(template.storage_account), credential=ManagementToken())
    with pytest.raises(ClientAuthenticationError):
        service.get_container_client("packerlogs").get_container_properties()


def test_append_grows_the_blob(local_cloud: LocalCloud, template):
    local_cloud.append_staging_blob(template.id, template.log_blob_path, b"one\n")
    size = local_cloud.append_staging_blob(template.id, template.log_blob_path, [b"two\n", b"three\n"])
    assert size == 14
    assert local_cloud.read_staging_blob(template.id, template.log_blob_path) == b"one\ntwo\nthree\n"
    local_cloud.put_staging_blob(template.id, template.log_blob_path, b"replaced\n")
    local_cloud.append_staging_blob(template.id, template.log_blob_path, b"more\n")
    assert local_cloud.read_staging_blob(template.id, template.log_blob_path) == b"replaced\nmore\n"


def test_streamed_put_is_byte_identical_across_blocks(local_cloud: LocalCloud, template, monkeypatch):
    import localazure.blocks as blocks_module

    monkeypatch.setattr(blocks_module, "BLOCK_SIZE", 64 * 1024)  # several blocks without a big blob
    chunks = [bytes([i % 251]) * 10_000 for i in range(40)]
    size = local_cloud.put_staging_blob(template.id, template.log_blob_path, iter(chunks))
    assert size == 400_000
    got = local_cloud.read_staging_blob(template.id, template.log_blob_path)
    assert hashlib.sha256(got).digest() == hashlib.sha256(b"".join(chunks)).digest()


def test_delete_template_removes_its_logs(local_cloud: LocalCloud, template):
    _, source = _source(local_cloud, template, b"log\n")
    local_cloud.delete_template(template.id)
    with pytest.raises(ResourceNotFoundError):
        source.download_blob().readall()


def test_copy_blob_across_accounts_with_account_sas(local_cloud: LocalCloud, template, archive):
    data = bytes(range(256)) * 4096  # 1 MiB
    _, source = _source(local_cloud, template, data)
    sas = generate_blob_sas(
        template.storage_account,
        source.container_name,
        source.blob_name,
        account_key=local_cloud.azurite.accounts[template.storage_account],
        permission=BlobSasPermissions(read=True),
        expiry=_expiry(),
    )
    target = archive.get_blob_client("copied.log")
    result = target.start_copy_from_url(f"{source.url}?{sas}")
    assert result["copy_status"] == "success"  # Azurite copies synchronously (Azure may say "pending")
    assert target.download_blob().readall() == data


def test_copy_blob_across_accounts_with_user_delegation_sas(local_cloud: LocalCloud, template, archive, credential):
    data = b"user delegation\n" * 1000
    _, source = _source(local_cloud, template, data)
    staging = BlobServiceClient(local_cloud.azurite.account_url(template.storage_account), credential=credential)
    key = staging.get_user_delegation_key(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5), _expiry())
    sas = generate_blob_sas(
        template.storage_account,
        source.container_name,
        source.blob_name,
        user_delegation_key=key,
        permission=BlobSasPermissions(read=True),
        expiry=_expiry(),
    )
    target = archive.get_blob_client("delegated.log")
    result = target.start_copy_from_url(f"{source.url}?{sas}")
    assert result["copy_status"] == "success"
    assert target.download_blob().readall() == data


def test_copy_without_sas_is_refused(local_cloud: LocalCloud, template, archive):
    _, source = _source(local_cloud, template, b"private\n")
    with pytest.raises(HttpResponseError) as info:
        archive.get_blob_client("nosas.log").start_copy_from_url(source.url)
    assert info.value.status_code in (401, 403, 404)


def test_put_block_from_url_works_but_put_blob_from_url_does_not(local_cloud: LocalCloud, template, archive):
    data = b"0123456789" * 100_000
    _, source = _source(local_cloud, template, data)
    sas = generate_blob_sas(
        template.storage_account,
        source.container_name,
        source.blob_name,
        account_key=local_cloud.azurite.accounts[template.storage_account],
        permission=BlobSasPermissions(read=True),
        expiry=_expiry(),
    )
    source_url = f"{source.url}?{sas}"

    target = archive.get_blob_client("blocks.log")
    ids = []
    for i, offset in enumerate(range(0, len(data), 400_000)):
        block_id = f"{i:08d}"
        target.stage_block_from_url(block_id, source_url, offset, min(400_000, len(data) - offset))
        ids.append(block_id)
    target.commit_block_list(ids)
    assert target.download_blob().readall() == data

    with pytest.raises(HttpResponseError) as info:  # Put Blob From URL: not implemented in Azurite 3.37
        archive.get_blob_client("frombloburl.log").upload_blob_from_url(source_url)
    assert info.value.status_code == 501


def test_storage_requests_are_counted_from_the_access_log(local_cloud: LocalCloud, template, credential):
    local_cloud.put_staging_blob(template.id, template.log_blob_path, b"counted\n")
    mark = local_cloud.storage_mark()
    service = BlobServiceClient(local_cloud.azurite.account_url(template.storage_account), credential=credential)
    blob = service.get_blob_client("packerlogs", template.log_blob_path.split("/", 1)[1])
    blob.get_blob_properties()
    blob.download_blob().readall()
    served = local_cloud.storage_requests(since=mark, account=template.storage_account)
    assert [(r.method, r.path, r.status) for r in served] == [
        ("HEAD", f"/{template.log_blob_path}", 200),
        ("GET", f"/{template.log_blob_path}", 206),  # the SDK reads with a Range header
    ]
    assert local_cloud.storage_requests(since=mark, account=local_cloud.archive_account) == []

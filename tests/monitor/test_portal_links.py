"""Alert buttons open the archived log in the Azure portal (Entra sign-in): the archive account takes no keys and
allows no public access, so its blob URL alone is a dead end for a person."""

from __future__ import annotations

import pytest

from monitor.alerts.content import build_content
from monitor.alerts.model import Alert
from monitor.archive.layout import portal_blob_url, portal_browser_url
from monitor.settings import Settings, SettingsError

ACCOUNT = "/subscriptions/0000/resourceGroups/rg-aibmon/providers/Microsoft.Storage/storageAccounts/staibmon"


def test_portal_urls_name_the_account_and_the_blob():
    url = portal_blob_url(ACCOUNT, "aib-logs", "sub/rg/tpl/20260101T000000Z/customization.log")
    assert url.startswith("https://portal.azure.com/#view/Microsoft_Azure_Storage/BlobPropertiesBladeV2/")
    assert "storageAccountId/%2Fsubscriptions%2F0000%2FresourceGroups%2Frg-aibmon%2F" in url
    assert "/path/aib-logs%2Fsub%2Frg%2Ftpl%2F20260101T000000Z%2Fcustomization.log/" in url
    assert portal_browser_url(ACCOUNT) == f"https://portal.azure.com/#@/resource{ACCOUNT}/storagebrowser"


def test_the_log_button_prefers_the_portal():
    alert = Alert(
        kind="build-failed",
        template_id="/subscriptions/0000/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/tpl",
        template_name="tpl",
        resource_group="rg",
        subscription_id="0000",
        log_url="https://staibmon.blob.core.windows.net/aib-logs/x/customization.log",
        log_portal_url=portal_blob_url(ACCOUNT, "aib-logs", "x/customization.log"),
    )
    urls = [link.url for link in build_content(alert).links]
    assert alert.log_portal_url in urls and alert.log_url not in urls


@pytest.mark.parametrize("value", ["staibmon", "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Web/sites/x"])
def test_archive_storage_account_id_must_be_a_storage_account(value):
    with pytest.raises(SettingsError, match="ARCHIVE_STORAGE_ACCOUNT_ID"):
        Settings.from_env({"ARCHIVE_STORAGE_ACCOUNT_ID": value})
    assert Settings.from_env({"ARCHIVE_STORAGE_ACCOUNT_ID": ACCOUNT}).archive_storage_account_id == ACCOUNT

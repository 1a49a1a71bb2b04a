"""The demo's subscription: four image templates in the local cloud, each telling one story (failed, stuck,
succeeded, submission failed) with realistic logs in their staging accounts (localazure.samplelogs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class DemoTemplate:
    resource_group: str
    name: str
    story: str  # what the subscription shows for it, in words
    template_id: str = ""



def populate(cloud: Any, now: datetime) -> list[DemoTemplate]:
    """Create the four templates of the demo with their run status and staging logs."""
    from localazure import samplelogs

    templates: list[DemoTemplate] = []

    # 1. A build that failed: a PowerShell customizer exited 1.
    rg = "rg-images-prod"
    failed_log = _ending_near(
        now - timedelta(minutes=12),
        lambda start: samplelogs.failed_customizer_log(
            "install-iis", "PowerShell", 1, os="windows", before=[], start=start, seed=11
        ),
    )
    t = cloud.add_template(rg, "win2022-iis", properties=_windows_properties("install-iis"))
    blob = f"packerlogs/{failed_log.folder}/customization.log"
    cloud.put_staging_blob(t.id, blob, bytes(failed_log))
    cloud.set_run_status(
        t.id,
        run_state="Failed",
        run_sub_state="Customizing",
        message=_failure_message(cloud, t, failed_log),
        start_time=_iso(failed_log.started),
        end_time=_iso(failed_log.ended),
    )
    templates.append(
        DemoTemplate(rg, "win2022-iis", "build failed: PowerShell customizer 'install-iis' exited 1", t.id)
    )

    # 2. A stuck build: running for 4 h 20 min with buildTimeoutInMinutes 240 (+15 min grace), its script
    #    waiting on an apt-get "[Y/n]" prompt for hours; Image Builder has not ended it.
    rg = "rg-images-dev"
    run_start = now - timedelta(hours=4, minutes=20)
    preamble = samplelogs.running_log("prompt", minutes=0, os="linux", start=run_start, seed=12)
    waiting = (now - run_start - (preamble.ended - preamble.started)).total_seconds() / 60 - 1
    stuck_log = samplelogs.running_log("prompt", minutes=waiting, os="linux", start=run_start, seed=12)
    t = cloud.add_template(rg, "ubuntu2204-base", properties=_linux_properties(), build_timeout_minutes=240)
    cloud.put_staging_blob(t.id, f"packerlogs/{stuck_log.folder}/customization.log", bytes(stuck_log))
    cloud.set_container_logs(t.id, stuck_log.decode("utf-8"))
    cloud.set_run_status(
        t.id, run_state="Running", run_sub_state="Customizing", message="", start_time=_iso(run_start)
    )
    templates.append(
        DemoTemplate(
            rg,
            "ubuntu2204-base",
            f"running for {_minutes(now - run_start)} min (timeout 240); its script has been waiting on "
            f"'Do you want to continue? [Y/n]' for {waiting:.0f} min",
            t.id,
        )
    )

    # 3. A build that succeeded (with the benign cleanup retries every real log has).
    rg = "rg-images-prod"
    good_log = _ending_near(
        now - timedelta(minutes=30),
        lambda start: samplelogs.success_log("windows", cleanup_retries=2, start=start, seed=13),
    )
    t = cloud.add_template(rg, "win2019-base", properties=_windows_properties("install-iis"))
    cloud.put_staging_blob(t.id, f"packerlogs/{good_log.folder}/customization.log", bytes(good_log))
    cloud.set_run_status(
        t.id,
        run_state="Succeeded",
        run_sub_state="Distributing",
        message="",
        start_time=_iso(good_log.started),
        end_time=_iso(good_log.ended),
    )
    templates.append(
        DemoTemplate(rg, "win2019-base", "build succeeded (2 harmless cleanup retries in its log)", t.id)
    )

    # 4. A submission that failed: the service could not use the template's identity.
    rg = "rg-images-prod"
    identity = (
        f"/subscriptions/{cloud.subscription_id}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity"
    )
    error = {
        "provisioningErrorCode": "Other",
        "message": (
            "Not authorized to access the resource: "
            f"/subscriptions/{cloud.subscription_id}/resourceGroups/rg-gallery/providers/Microsoft.Compute/"
            "galleries/contosoGallery/images/rhel9-hardened. Please check the user assigned identity has the "
            "correct permissions. For more details, go to https://aka.ms/azvmimagebuilderts."
        ),
    }
    t = cloud.add_template(
        rg,
        "rhel9-hardened",
        properties=_linux_properties(identity=f"{identity}/userAssignedIdentities/aib-builder"),
        provisioning_state="Failed",
        provisioning_error=error,
    )
    templates.append(DemoTemplate(rg, "rhel9-hardened", "submission failed: identity not authorized", t.id))
    return templates


def _ending_near(end: datetime, make: Any) -> Any:
    """A sample log regenerated so that its clock ends near ``end`` (the generators take a start time)."""
    probe = make(end)
    return make(end - (probe.ended - probe.started))


def _failure_message(cloud: Any, template: Any, log: Any) -> str:
    """``lastRunStatus.message`` as Image Builder writes it, naming the log in the template's staging account
    (the sample's message names a ``*.blob.core.windows.net`` account; here the account is in Azurite)."""
    local_url = cloud.staging_blob_url(template.id, f"packerlogs/{log.folder}/customization.log")
    return log.status_message.replace(log.log_url, local_url)


def _windows_properties(customizer: str) -> dict[str, Any]:
    return {
        "source": {
            "type": "PlatformImage",
            "publisher": "MicrosoftWindowsServer",
            "offer": "WindowsServer",
            "sku": "2022-datacenter-azure-edition",
            "version": "latest",
        },
        "customize": [
            {
                "type": "PowerShell",
                "name": customizer,
                "runElevated": True,
                "inline": ["Install-WindowsFeature -Name Web-Server -IncludeManagementTools"],
            },
            {"type": "WindowsRestart", "name": "restart", "restartTimeout": "10m"},
        ],
        "distribute": [
            {
                "type": "SharedImage",
                "galleryImageId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
                "rg-gallery"
                "/providers/Microsoft.Compute/galleries/contosoGallery/images/win2022-iis",
                "runOutputName": "win2022-iis",
                "replicationRegions": ["westeurope"],
            }
        ],
        "vmProfile": {"vmSize": "Standard_D2ds_v5", "osDiskSizeGB": 127},
    }


def _linux_properties(identity: str | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "source": {
            "type": "PlatformImage",
            "publisher": "Canonical",
            "offer": "0001-com-ubuntu-server-jammy",
            "sku": "22_04-lts-gen2",
            "version": "latest",
        },
        "customize": [
            {
                "type": "Shell",
                "name": "install-packages",
                "inline": ["sudo apt-get update", "sudo apt-get install jq"],
            }
        ],
        "distribute": [
            {
                "type": "ManagedImage",
                "imageId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-images"
                "/providers/Microsoft.Compute/images/ubuntu2204-base",
                "location": "westeurope",
                "runOutputName": "ubuntu2204-base",
            }
        ],
    }
    if identity:
        props["vmProfile"] = {"userAssignedIdentities": [identity]}
    return props


def _minutes(delta: timedelta) -> int:
    return round(delta.total_seconds() / 60)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")

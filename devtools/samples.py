"""Realistic sample alerts, one per kind, for `make preview`, the README and the channel tests.

``sample_alert`` builds them from ``diagnosis.model`` classes (as the diagnosis engine would produce them), not
from the engine itself, so previews do not depend on rule changes; every time in them is fixed, so each
alert's numbers agree with its own times. ``engine_alert`` is a build-failed alert made by the real engine from
a realistic customization.log (``localazure.samplelogs``), as the monitor would send it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from diagnosis.model import Diagnosis, Evidence, FailedCustomizer
from diagnosis.times import iso
from monitor.alerts.content import portal_url
from monitor.alerts.model import BUILD_FAILED, BUILD_STUCK, RECOVERED, STILL_STUCK, SUBMISSION_FAILED, Alert

SUBSCRIPTION = "3f2b8c1e-7d4a-4e59-9b21-6c0d5e8f1a23"
RESOURCE_GROUP = "rg-images-prod"
LOCATION = "westeurope"
ARCHIVE = "https://staibmonarchive.blob.core.windows.net/aib-logs"
GUIDE = "https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-troubleshoot"


def template_id(name: str, resource_group: str = RESOURCE_GROUP) -> str:
    return (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{resource_group}/providers/"
        f"Microsoft.VirtualMachineImages/imageTemplates/{name}"
    )


def powershell_failure() -> Diagnosis:
    lines = [
        (1184, "==> azure-arm: Provisioning with powershell script: C:/Windows/Temp/script-6571d2a4.ps1"),
        (1191, "    azure-arm: Downloading https://dot.net/v1/dotnet-install.ps1"),
        (
            1196,
            "    azure-arm: dotnet-install: Downloading link: https://dotnetcli.azureedge.net/dotnet/Sdk/8.0.404/"
            "dotnet-sdk-8.0.404-win-x64.zip",
        ),
        (1203, "    azure-arm: Invoke-WebRequest : The remote server returned an error: (403) Forbidden."),
        (1204, "    azure-arm: At C:\\Windows\\Temp\\script-6571d2a4.ps1:14 char:5"),
        (1205, "    azure-arm: +     Invoke-WebRequest -Uri $sdkUrl -OutFile $zip -UseBasicParsing"),
        (
            1206,
            "    azure-arm:     + CategoryInfo          : InvalidOperation: "
            "(System.Net.HttpWebRequest:HttpWebRequest) [Invoke-WebRequest], WebException",
        ),
        (
            1207,
            "    azure-arm:     + FullyQualifiedErrorId : WebCmdletWebResponseException,Microsoft.PowerShell."
            "Commands.InvokeWebRequestCommand",
        ),
        (1212, "==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]"),
        (1213, '==> azure-arm: Step "StepProvision" failed'),
        (1218, "    azure-arm: Deleting temporary resource group: IT_rg-images-prod_win2022-golden_7e3f..."),
        (
            1226,
            "Build 'azure-arm' errored after 41 minutes 12 seconds: Script exited with non-zero exit status: 1",
        ),
    ]
    return Diagnosis(
        category="customizer-failed",
        title="Customizer failed",
        summary='customizer "install-dotnet" (PowerShell) exited 1 after 12 min',
        cause=(
            "The PowerShell customizer's script ended with exit code 1: Invoke-WebRequest got HTTP 403 while "
            "downloading the .NET SDK, so the script stopped and Image Builder aborted the build."
        ),
        remediation=[
            "Open the archived customization.log at line 1203 and fix the failing command in the script.",
            "Check that the build VM can reach dotnetcli.azureedge.net (proxy, firewall, NSG or a private "
            "endpoint in the build VNet).",
            "Run the script on a VM from the same source image to reproduce it, then re-run the build "
            "(az image builder run).",
            "Add validExitCodes only if a non-zero exit is really expected.",
        ],
        phase="customize",
        failed_customizer=FailedCustomizer(
            name="powershell",
            type="PowerShell",
            position=3,
            exit_code=1,
            duration_seconds=733,
            customizer_name="install-dotnet",
        ),
        evidence=[Evidence(text=t, line=n, source="log") for n, t in lines],
        log_url=f"{ARCHIVE}/{SUBSCRIPTION}/{RESOURCE_GROUP}/win2022-golden/2026-11-27T09-12-04Z/customization.log",
        confidence=0.92,
        doc=f"{GUIDE}#customizer-failures",
        rule_id="script-non-zero-exit",
    )


def submission_diagnosis() -> Diagnosis:
    return Diagnosis(
        category="permissions",
        title="Image Builder identity lacks permissions",
        summary="The template's user-assigned identity may not read the source image in the gallery.",
        cause=(
            "Validation of the template failed: the identity 'id-aib-builder' has no "
            "'Microsoft.Compute/galleries/images/versions/read' permission on the source gallery."
        ),
        remediation=[
            "Grant the identity a role with Microsoft.Compute/galleries/images/versions/read on the source "
            "gallery (for example a custom 'Image Builder source reader' role).",
            "Wait for the role assignment to propagate (up to 10 minutes), delete the failed template and "
            "submit it again.",
        ],
        phase="submission",
        evidence=[
            Evidence(
                text="ProvisioningFailed: Validation failed: 'ImageTemplate.properties.source': the identity "
                "does not have permissions to read the image version. AuthorizationFailed.",
                source="provisioningError",
            )
        ],
        confidence=0.85,
        doc=f"{GUIDE}#authorization-errors",
        rule_id="authorization-failed",
    )


def stuck_diagnosis() -> Diagnosis:
    return Diagnosis(
        category="interactive-prompt",
        title="Script waits for interactive input",
        summary="The log stopped at a prompt: the script waits for input that will never come.",
        cause="A customizer ran a command that asks for confirmation; nothing answers, so the build "
        "waits until buildTimeoutInMinutes ends it.",
        remediation=[
            "Cancel the run (az image builder cancel) instead of waiting for the timeout.",
            "Make the command non-interactive (-Confirm:$false, -Force, apt-get -y, DEBIAN_FRONTEND=noninteractive).",
        ],
        phase="customize",
        failed_customizer=FailedCustomizer(name="shell", type="Shell", position=2, customizer_name="harden-os"),
        evidence=[
            Evidence(
                text="    azure-arm: After this operation, 2,048 kB of additional disk space will be used.",
                line=841,
                source="log",
            ),
            Evidence(text="    azure-arm: Do you want to continue? [Y/n]", line=842, source="log"),
        ],
        confidence=0.8,
        doc=f"{GUIDE}#build-hangs",
        rule_id="interactive-prompt",
    )


def sample_alert(kind: str) -> Alert:
    if kind == BUILD_FAILED:
        name = "win2022-golden"
        diag = powershell_failure()
        return Alert(
            kind=kind,
            template_id=template_id(name),
            template_name=name,
            resource_group=RESOURCE_GROUP,
            subscription_id=SUBSCRIPTION,
            location=LOCATION,
            created_at="2026-11-27T09:55:00+00:00",
            run_key=f"{template_id(name)}|2026-11-27T09:12:04Z",
            run_state="Failed",
            run_sub_state="Customizing",
            start_time="2026-11-27T09:12:04Z",
            end_time="2026-11-27T09:53:16Z",
            duration_minutes=41.2,
            status_message="Failed while waiting for packerizer: Microservice has failed: "
            "Failed while processing request: Error when executing packerizer: "
            "Packer build command has failed: exit status 1. "
            "During the image build, a failure has occurred, please review the build log.",
            diagnosis=diag.to_dict(),
            portal_url=portal_url(template_id(name)),
            log_url=diag.log_url,
            archive_url=diag.log_url.rsplit("/", 1)[0] if diag.log_url else None,
            doc_url=diag.doc,
        )
    if kind in (BUILD_STUCK, STILL_STUCK):
        name = "ubuntu2404-cis"
        diag = stuck_diagnosis()
        run = f"{template_id(name)}|2026-11-27T06:02:40Z"
        # The log last changed at 06:27:40; the first alert came 47 min later, the reminder 4 h after that.
        waiting_since = datetime(2026, 11, 27, 6, 27, 40, tzinfo=UTC)
        made = waiting_since + timedelta(minutes=47 if kind == BUILD_STUCK else 287)
        return Alert(
            kind=kind,
            template_id=template_id(name),
            template_name=name,
            resource_group=RESOURCE_GROUP,
            subscription_id=SUBSCRIPTION,
            location=LOCATION,
            run_key=run if kind == BUILD_STUCK else f"{run}|reminder-1",
            run_state="Running",
            run_sub_state="Customizing",
            start_time="2026-11-27T06:02:40Z",
            created_at=made.isoformat(timespec="seconds"),
            duration_minutes=72.0 if kind == BUILD_STUCK else 312.0,
            stuck_reason=f"no-growth: the build log has not grown for {47 if kind == BUILD_STUCK else 287} min",
            stuck_rule="no-growth",
            waiting_since=iso(waiting_since),
            build_timeout_minutes=240,
            diagnosis=diag.to_dict(),
            portal_url=portal_url(template_id(name)),
            log_url=f"{ARCHIVE}/{SUBSCRIPTION}/{RESOURCE_GROUP}/{name}/2026-11-27T06-02-40Z/customization.log",
            doc_url=diag.doc,
        )
    if kind == SUBMISSION_FAILED:
        name = "win11-avd-multisession"
        diag = submission_diagnosis()
        return Alert(
            kind=kind,
            template_id=template_id(name),
            template_name=name,
            resource_group=RESOURCE_GROUP,
            subscription_id=SUBSCRIPTION,
            location=LOCATION,
            created_at="2026-11-27T08:40:00+00:00",
            run_key=f"{template_id(name)}|submission-2026-11-27",
            run_state="Failed",
            status_message="Validation failed: the identity does not have permissions to read the image version.",
            diagnosis=diag.to_dict(),
            portal_url=portal_url(template_id(name)),
            doc_url=diag.doc,
        )
    if kind == RECOVERED:
        name = "win2022-golden"
        return Alert(
            kind=kind,
            template_id=template_id(name),
            template_name=name,
            resource_group=RESOURCE_GROUP,
            subscription_id=SUBSCRIPTION,
            location=LOCATION,
            created_at="2026-11-27T12:00:00+00:00",
            run_key=f"{template_id(name)}|2026-11-27T11:02:10Z",
            run_state="Succeeded",
            start_time="2026-11-27T11:02:10Z",
            end_time="2026-11-27T11:58:40Z",
            duration_minutes=56.5,
            diagnosis=powershell_failure().to_dict(),
            portal_url=portal_url(template_id(name)),
            log_url=f"{ARCHIVE}/{SUBSCRIPTION}/{RESOURCE_GROUP}/{name}/2026-11-27T11-02-10Z/customization.log",
        )
    raise ValueError(f"unknown alert kind {kind!r}")


def hostile_alert() -> Alert:
    """An alert whose log lines try to break out of every format: HTML, Markdown, JSON, non-ASCII, secrets."""
    alert = sample_alert(BUILD_FAILED)
    diag = Diagnosis.from_dict(alert.diagnosis or {})
    diag.evidence = [
        Evidence(
            text="<script>window.__pwned = 1; document.title = 'pwned'</script><img src=x onerror=alert(1)>",
            line=1,
            source="log",
        ),
        Evidence(text="**bold** _italic_ [click me](https://evil.example/) `code` # not a heading", line=2),
        Evidence(text="- not a list item\n1. not a numbered item\n> not a quote", line=3),
        Evidence(text='"},{"type":"Action.OpenUrl","url":"https://evil.example/"}]} \\u0022 ]]> --> </pre>', line=4),
        Evidence(text="Ошибка: не удалось загрузить файл — 下载失败 — ✓ ✗ 🚀 ‮reversed", line=5),
        Evidence(text="https://acct.blob.core.windows.net/c/x.ps1?sv=2022&sig=SuperSecretSig%2Bvalue123", line=6),
        Evidence(text="$password = 'P@ssw0rd-leak'; AccountKey=abcdEFGH1234==", line=7),
        Evidence(text="</td></tr></table><h1>injected</h1>&amp; &lt;", line=8),
    ]
    diag.cause = "<b>not bold</b> **not bold** & <i>x</i>"
    diag.summary = 'customizer "install *everything*" (PowerShell) exited 1 <script>x</script>'
    if diag.failed_customizer is not None:
        diag.failed_customizer = replace(
            diag.failed_customizer, customizer_name="install *everything* <script>x</script>"
        )
    diag.rule_id = None  # no knowledge-base entry: the diagnosis' own (hostile) cause and steps are shown
    diag.remediation = ["[click](https://evil.example/) <img src=x> **step**", *diag.remediation[1:]]
    alert.diagnosis = diag.to_dict()
    alert.template_name = "tmpl_**x**_[y](z)"
    return alert


def engine_alert() -> Alert:
    """A build-failed alert from the real diagnosis engine: a PowerShell customizer "install-iis" exits 1 in a
    realistic customization.log (the demo's failed build), diagnosed with the built-in knowledge base."""
    from diagnosis import diagnose
    from localazure import samplelogs

    start = datetime(2026, 11, 27, 9, 12, 4, tzinfo=UTC)
    log = samplelogs.failed_customizer_log(
        "install-iis", "PowerShell", 1, os="windows", before=[], start=start, seed=11
    )
    customizer = {"type": "PowerShell", "name": "install-iis", "inline": ["Install-WindowsFeature Web-Server"]}
    template = {"properties": {"source": {"type": "PlatformImage"}, "customize": [customizer]}}
    diag = diagnose(log.status_message, log=log.text, template=template)
    name = "win2022-iis"
    folder = f"{ARCHIVE}/{SUBSCRIPTION}/{RESOURCE_GROUP}/{name}/{start:%Y%m%dT%H%M%SZ}"
    return Alert(
        kind=BUILD_FAILED,
        template_id=template_id(name),
        template_name=name,
        resource_group=RESOURCE_GROUP,
        subscription_id=SUBSCRIPTION,
        location=LOCATION,
        created_at=iso(log.ended + timedelta(minutes=2)) or "",
        run_key=f"{template_id(name)}|{iso(log.started)}",
        run_state="Failed",
        run_sub_state="Customizing",
        start_time=iso(log.started),
        end_time=iso(log.ended),
        status_message=log.status_message,
        diagnosis=diag.to_dict(),
        portal_url=portal_url(template_id(name)),
        log_url=f"{folder}/customization.log",
        archive_url=folder,
        doc_url=diag.doc,
    )

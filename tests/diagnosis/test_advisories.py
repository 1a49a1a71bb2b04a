"""diagnosis.advisories.check_template: the guide's advice, checked on a template before it fails."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from diagnosis.advisories import ADVISORY_IDS, check_template
from diagnosis.model import Advisory

REST = Path(__file__).resolve().parents[3] / "shared" / "reference" / "imagebuilder-rest"

WINDOWS_SOURCE = {
    "type": "PlatformImage",
    "publisher": "MicrosoftWindowsServer",
    "offer": "WindowsServer",
    "sku": "2019-Datacenter",
    "version": "latest",
}
LINUX_SOURCE = {
    "type": "PlatformImage",
    "publisher": "Canonical",
    "offer": "0001-com-ubuntu-server-jammy",
    "sku": "22_04-lts-gen2",
    "version": "latest",
}


def template(customize: list[dict[str, Any]], *, source: dict[str, Any] | None = None, **props: Any) -> dict:
    """An ARM resource body with sensible defaults that raise no advisories by themselves."""
    properties: dict[str, Any] = {
        "source": source or LINUX_SOURCE,
        "customize": customize,
        "distribute": [
            {
                "type": "ManagedImage",
                "imageId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/img",
                "location": "westeurope",
                "runOutputName": "out",
            }
        ],
        "vmProfile": {"vmSize": "Standard_D4s_v5"},
        "errorHandling": {"onCustomizerError": "abort", "onValidationError": "cleanup"},
    }
    properties.update(props)
    return {"location": "westeurope", "properties": properties}


def ids(advisories: list[Advisory]) -> list[str]:
    return [a.id for a in advisories]


def by_id(advisories: list[Advisory], id_: str) -> list[Advisory]:
    return [a for a in advisories if a.id == id_]


def shell(*lines: str, name: str = "setup") -> dict[str, Any]:
    return {"type": "Shell", "name": name, "inline": list(lines)}


def ps(*lines: str, name: str = "setup") -> dict[str, Any]:
    return {"type": "PowerShell", "name": name, "inline": list(lines)}


def test_clean_template_has_no_advisories() -> None:
    t = template(
        [shell("sudo apt-get update", "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y nginx")]
    )
    assert check_template(t) == []


def test_every_advisory_has_stable_kebab_id_and_severity() -> None:
    t = template(
        [
            ps(
                "Set-NetFirewallProfile -Enabled True",
                "Install-Module Az",
                "Remove-Item c:\\DeprovisioningScript.ps1",
            ),
            {"type": "WindowsUpdate"},
            {
                "type": "File",
                "sourceUri": "https://x.blob.core.windows.net/c/big.iso",
                "destination": "c:\\big.iso",
            },
            ps(
                "choco install git",
                "Restart-Computer -Force",
                'winrm set winrm/config/service @{AllowUnencrypted="true"}',
            ),
        ],
        source=WINDOWS_SOURCE,
        vmProfile={},
        buildTimeoutInMinutes=3,
        errorHandling={"onCustomizerError": "cleanup"},
    )
    found = check_template(t)
    assert len(set(ids(found))) >= 9
    for a in found:
        assert a.id in ADVISORY_IDS
        assert a.severity in ("info", "warning")
        assert a.path.startswith("$.properties")
        assert a.message


# ------------------------------------------------------------------------------------------ prompts


@pytest.mark.parametrize(
    "line",
    [
        "sudo apt-get install nginx",
        "sudo apt-get update && sudo apt-get install nginx",
        "apt install -q jq",
        "sudo yum install httpd",
        "sudo dnf upgrade",
        "sudo apt-get dist-upgrade",
        "zypper install vim",
        "choco install git",
    ],
)
def test_install_without_yes(line: str) -> None:
    found = check_template(template([shell("echo start", line)]))
    hits = by_id(found, "install-without-yes")
    assert len(hits) == 1
    assert hits[0].path == "$.properties.customize[0].inline[1]"
    assert hits[0].severity == "warning"


@pytest.mark.parametrize(
    "line",
    [
        "sudo apt-get install -y nginx",
        "sudo apt-get -y install nginx",
        "sudo apt-get install -qqy nginx",
        "sudo apt-get install --assume-yes nginx",
        "sudo apt-get update",
        "yes | sudo apt-get install nginx",
        "sudo yum -y install httpd",
        "sudo zypper --non-interactive install vim",
        "sudo dnf install --assumeyes x -y",
        "choco install git -y",
        "echo 'apt-get is a tool'",
        "sudo apt-get -o APT::Get::Assume-Yes=true install nginx",
    ],
)
def test_non_interactive_installs_pass(line: str) -> None:
    assert "install-without-yes" not in ids(check_template(template([shell(line)])))


def test_install_module_without_force() -> None:
    t = template(
        [ps("Install-Module -Name Az -Scope AllUsers", "Install-Module PSWindowsUpdate -Force")],
        source=WINDOWS_SOURCE,
    )
    hits = by_id(check_template(t), "install-module-without-force")
    assert [h.path for h in hits] == ["$.properties.customize[0].inline[0]"]


def test_script_uri_is_noted_as_unchecked() -> None:
    t = template(
        [
            {
                "type": "Shell",
                "name": "remote",
                "scriptUri": "https://x.blob.core.windows.net/s/setup.sh?sv=1&sig=SECRET",
            }
        ]
    )
    hits = by_id(check_template(t), "script-uri-not-checked")
    assert len(hits) == 1 and hits[0].severity == "info"
    assert hits[0].path == "$.properties.customize[0].scriptUri"
    assert "SECRET" not in hits[0].message  # a SAS in the URL is redacted


# --------------------------------------------------------------------------------- firewall and access


@pytest.mark.parametrize(
    ("line", "id_"),
    [
        ("sudo ufw enable", "firewall-change"),
        ("sudo ufw default deny incoming", "firewall-change"),
        ("iptables -A INPUT -p tcp --dport 22 -j DROP", "firewall-change"),
        ("sudo firewall-cmd --permanent --remove-service=ssh", "firewall-change"),
        ("netsh advfirewall set allprofiles state on", "firewall-change"),
        (
            "New-NetFirewallRule -DisplayName block -Direction Inbound -LocalPort 5986 -Action Block",
            "firewall-change",
        ),
        ("Set-NetFirewallRule -DisplayGroup 'Windows Remote Management' -Enabled False", "firewall-change"),
        ("sudo sed -i 's/#Port 22/Port 2222/' /etc/ssh/sshd_config", "remote-access-change"),
        ("sudo systemctl stop sshd", "remote-access-change"),
        ("winrm delete winrm/config/Listener?Address=*+Transport=HTTPS", "remote-access-change"),
        ("Disable-PSRemoting -Force", "remote-access-change"),
        ("Stop-Service WinRM", "remote-access-change"),
        ("sudo reboot", "reboot-in-script"),
        ("Restart-Computer -Force", "reboot-in-script"),
        ("shutdown /r /t 0", "reboot-in-script"),
    ],
)
def test_scripts_touching_connectivity(line: str, id_: str) -> None:
    found = check_template(template([shell("echo hi", line)]))
    hits = by_id(found, id_)
    assert hits and hits[0].path == "$.properties.customize[0].inline[1]"


def test_firewall_message_names_the_port_of_the_os() -> None:
    linux = by_id(check_template(template([shell("sudo ufw enable")])), "firewall-change")[0]
    windows = by_id(
        check_template(template([ps("netsh advfirewall set allprofiles state on")], source=WINDOWS_SOURCE)),
        "firewall-change",
    )[0]
    assert "22" in linux.message and "5986" not in linux.message
    assert "5986" in windows.message


@pytest.mark.parametrize(
    "line",
    [
        "echo 'firewall check skipped'",
        "sudo apt-get install -y openssh-server",
        "Get-NetFirewallRule | Out-Null",
        "Write-Host 'reboot later'",
    ],
)
def test_harmless_lines_do_not_alarm(line: str) -> None:
    found = ids(check_template(template([shell(line)])))
    assert not {"firewall-change", "remote-access-change", "reboot-in-script"} & set(found)


# --------------------------------------------------------------------------------- Windows specifics


def test_windows_update_without_restart() -> None:
    t = template([ps("Write-Host hi"), {"type": "WindowsUpdate", "name": "updates"}], source=WINDOWS_SOURCE)
    found = check_template(t)
    hits = by_id(found, "windows-update-without-restart")
    assert [h.path for h in hits] == ["$.properties.customize[1]"]
    assert "windows-final-restart" not in ids(found)  # the same advice once


def test_windows_update_then_restart_with_short_timeout() -> None:
    t = template(
        [{"type": "WindowsUpdate"}, {"type": "WindowsRestart", "restartTimeout": "5m"}], source=WINDOWS_SOURCE
    )
    found = check_template(t)
    assert "windows-update-without-restart" not in ids(found)
    hits = by_id(found, "windows-restart-timeout-short")
    assert [h.path for h in hits] == ["$.properties.customize[1].restartTimeout"]
    default = check_template(
        template([{"type": "WindowsUpdate"}, {"type": "WindowsRestart"}], source=WINDOWS_SOURCE)
    )
    assert [h.path for h in by_id(default, "windows-restart-timeout-short")] == ["$.properties.customize[1]"]
    ok = check_template(
        template(
            [{"type": "WindowsUpdate"}, {"type": "WindowsRestart", "restartTimeout": "1h"}],
            source=WINDOWS_SOURCE,
        )
    )
    assert not by_id(ok, "windows-restart-timeout-short") and not by_id(ok, "windows-final-restart")


def test_windows_final_restart_is_informational() -> None:
    t = template(
        [
            {"type": "WindowsUpdate"},
            {"type": "WindowsRestart", "restartTimeout": "30m"},
            ps("choco install -y git"),
        ],
        source=WINDOWS_SOURCE,
    )
    hits = by_id(check_template(t), "windows-final-restart")
    assert len(hits) == 1 and hits[0].severity == "info" and hits[0].path == "$.properties.customize[2]"


def test_windows_on_default_vm_size() -> None:
    t = template(
        [{"type": "WindowsUpdate"}, {"type": "WindowsRestart", "restartTimeout": "30m"}],
        source=WINDOWS_SOURCE,
        vmProfile={"osDiskSizeGB": 127},
    )
    hits = by_id(check_template(t), "windows-default-vm-size")
    assert len(hits) == 1 and "Standard_D1_v2" in hits[0].message
    assert hits[0].path == "$.properties.vmProfile.vmSize"
    no_profile = template([ps("Write-Host hi")], source=WINDOWS_SOURCE)
    del no_profile["properties"]["vmProfile"]
    assert by_id(check_template(no_profile), "windows-default-vm-size")


def test_gen2_windows_default_size_is_fine_and_linux_is_not_checked() -> None:
    gen2 = dict(WINDOWS_SOURCE, sku="2022-datacenter-g2")
    assert not by_id(
        check_template(template([ps("Write-Host hi")], source=gen2, vmProfile={})), "windows-default-vm-size"
    )
    assert not by_id(check_template(template([shell("echo")], vmProfile={})), "windows-default-vm-size")


def test_windows_detected_from_image_id_and_customizers() -> None:
    managed = {
        "type": "SharedImageVersion",
        "imageVersionId": "/subscriptions/s/resourceGroups/rg/providers/"
        "Microsoft.Compute/galleries/g/images/win2022-base/versions/1.0.0",
    }
    assert by_id(
        check_template(template([shell("echo")], source=managed, vmProfile={})), "windows-default-vm-size"
    )
    unknown = {
        "type": "ManagedImage",
        "imageId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/base",
    }
    assert by_id(
        check_template(template([{"type": "WindowsRestart"}], source=unknown, vmProfile={})),
        "windows-default-vm-size",
    )


def test_windows_small_explicit_size() -> None:
    t = template([ps("Write-Host hi")], source=WINDOWS_SOURCE, vmProfile={"vmSize": "Standard_D1_v2"})
    hits = by_id(check_template(t), "windows-small-vm-size")
    assert hits and hits[0].path == "$.properties.vmProfile.vmSize"


def test_sysprep_timing_risk_for_short_windows_customization() -> None:
    t = template([ps("Write-Host hi")], source=WINDOWS_SOURCE, vmProfile={})
    hits = by_id(check_template(t), "sysprep-timing-risk")
    assert len(hits) == 1 and "Start-Sleep" in hits[0].message
    slept = template([ps("Write-Host hi", "Start-Sleep -Seconds 60")], source=WINDOWS_SOURCE, vmProfile={})
    assert not by_id(check_template(slept), "sysprep-timing-risk")
    big = template([ps("Write-Host hi")], source=WINDOWS_SOURCE, vmProfile={"vmSize": "Standard_D8s_v5"})
    assert not by_id(check_template(big), "sysprep-timing-risk")


# ------------------------------------------------------------------------------------------ timeouts


@pytest.mark.parametrize("minutes", [1, 3, 5])
def test_build_timeout_too_short(minutes: int) -> None:
    hits = by_id(
        check_template(template([shell("echo")], buildTimeoutInMinutes=minutes)), "build-timeout-too-short"
    )
    assert len(hits) == 1 and "client_jwt" in hits[0].message
    assert hits[0].path == "$.properties.buildTimeoutInMinutes"


@pytest.mark.parametrize("minutes", [0, 6, 120, None])
def test_build_timeout_not_too_short(minutes: int | None) -> None:
    t = (
        template([shell("echo")])
        if minutes is None
        else template([shell("echo")], buildTimeoutInMinutes=minutes)
    )
    assert not by_id(check_template(t), "build-timeout-too-short")


def test_build_timeout_low_for_customizers() -> None:
    t = template(
        [{"type": "WindowsUpdate"}, {"type": "WindowsRestart", "restartTimeout": "30m"}],
        source=WINDOWS_SOURCE,
        buildTimeoutInMinutes=60,
    )
    hits = by_id(check_template(t), "build-timeout-low")
    assert len(hits) == 1 and "Windows Update" in hits[0].message
    roomy = copy.deepcopy(t)
    roomy["properties"]["buildTimeoutInMinutes"] = 300
    assert not by_id(check_template(roomy), "build-timeout-low")
    default = copy.deepcopy(t)
    default["properties"]["buildTimeoutInMinutes"] = 0  # 240
    assert not by_id(check_template(default), "build-timeout-low")


# ------------------------------------------------------------------------------ deprovisioning, files


@pytest.mark.parametrize(
    "line",
    [
        "Remove-Item -Path C:\\DeprovisioningScript.ps1 -Force",
        "del c:\\DeprovisioningScript.ps1",
        "sudo rm -f /tmp/DeprovisioningScript.sh",
        "sudo rm -rf /tmp/*",
    ],
)
def test_deleting_the_deprovisioning_script(line: str) -> None:
    hits = by_id(check_template(template([shell(line)])), "deprovision-script-deleted")
    assert len(hits) == 1 and hits[0].path == "$.properties.customize[0].inline[0]"


def test_overriding_the_deprovisioning_script_is_info() -> None:
    line = "echo '/usr/sbin/waagent -force -deprovision+user && sync' > /tmp/DeprovisioningScript.sh"
    found = check_template(template([shell(line)]))
    assert ids(found) == ["deprovision-script-overridden"] and found[0].severity == "info"
    assert not by_id(check_template(template([shell("rm -rf /tmp/build")])), "deprovision-script-deleted")


@pytest.mark.parametrize(
    "uri",
    [
        "https://x.blob.core.windows.net/c/app.zip?sv=1&sig=abc",
        "https://x/y/installer.msi",
        "https://x/y/disk.vhd",
        "https://x/y/b.tar.gz",
        "https://x/y/windows.iso",
    ],
)
def test_file_customizer_large_artifacts(uri: str) -> None:
    t = template([{"type": "File", "name": "payload", "sourceUri": uri, "destination": "/tmp/payload"}])
    hits = by_id(check_template(t), "file-customizer-large")
    assert len(hits) == 1 and "20 MB" in hits[0].message
    assert hits[0].path == "$.properties.customize[0].sourceUri"
    assert "sig=abc" not in hits[0].message


def test_file_customizer_small_files_pass() -> None:
    t = template(
        [{"type": "File", "sourceUri": "https://x/y/appsettings.json", "destination": "/tmp/a.json"}]
    )
    assert not by_id(check_template(t), "file-customizer-large")


def test_error_handling_cleanup() -> None:
    t = template([shell("echo")])
    del t["properties"]["errorHandling"]
    hits = by_id(check_template(t), "error-handling-cleanup")
    assert len(hits) == 1 and hits[0].severity == "info" and "abort" in hits[0].message
    t["properties"]["errorHandling"] = {"onCustomizerError": "cleanup"}
    assert [h.path for h in by_id(check_template(t), "error-handling-cleanup")] == [
        "$.properties.errorHandling.onCustomizerError"
    ]


# ------------------------------------------------------------------------------------------ shapes


def _rest(name: str) -> dict[str, Any]:
    path = REST / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return json.loads(path.read_text())


def test_az_cli_output_at_top_level() -> None:
    az = {
        "name": "t",
        "customize": [shell("sudo apt-get install nginx")],
        "source": LINUX_SOURCE,
        "buildTimeoutInMinutes": 4,
        "provisioningState": "Succeeded",
        "lastRunStatus": {"runState": "Failed"},
    }
    found = check_template(az)
    assert by_id(found, "install-without-yes")[0].path == "$.customize[0].inline[0]"
    assert by_id(found, "build-timeout-too-short")[0].path == "$.buildTimeoutInMinutes"


def test_sdk_snake_case_dict() -> None:
    d = {
        "customize": [{"type": "Shell", "inline": ["sudo apt-get install nginx"]}],
        "source": LINUX_SOURCE,
        "build_timeout_in_minutes": 2,
        "vm_profile": {"vm_size": ""},
    }
    found = check_template(d)
    assert by_id(found, "build-timeout-too-short")[0].path == "$.build_timeout_in_minutes"
    assert by_id(found, "install-without-yes")


def test_arm_deployment_template_with_several_templates() -> None:
    res = template([shell("sudo ufw enable")])
    arm = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "resources": [
            {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "name": "id"},
            dict(res, type="Microsoft.VirtualMachineImages/imageTemplates", name="a"),
            dict(template([shell("sudo reboot")]), type="Microsoft.VirtualMachineImages/imageTemplates"),
        ],
    }
    found = check_template(arm)
    assert by_id(found, "firewall-change")[0].path == "$.resources[1].properties.customize[0].inline[0]"
    assert by_id(found, "reboot-in-script")[0].path == "$.resources[2].properties.customize[0].inline[0]"


def test_rest_samples() -> None:
    windows = _rest("CreateImageTemplateWindows.json")
    found = check_template(windows)
    assert (
        by_id(found, "windows-update-without-restart")[0].path
        == "$.parameters.parameters.properties.customize[7]"
    )
    body = check_template(windows["responses"]["200"]["body"])
    assert by_id(body, "windows-update-without-restart")[0].path == "$.properties.customize[7]"
    linux = check_template(_rest("CreateImageTemplateLinux.json")["responses"]["200"]["body"])
    assert set(ids(linux)) == {"script-uri-not-checked", "error-handling-cleanup"}


def test_not_a_dict_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="JSON object"):
        check_template(["not", "a", "template"])  # type: ignore[arg-type]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "properties",
                    "customize",
                    "type",
                    "inline",
                    "source",
                    "vmProfile",
                    "vmSize",
                    "buildTimeoutInMinutes",
                    "errorHandling",
                    "onCustomizerError",
                    "scriptUri",
                    "sourceUri",
                    "destination",
                    "restartTimeout",
                    "publisher",
                    "resources",
                    "distribute",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@example({"properties": {"buildTimeoutInMinutes": float("inf")}})
@example({"buildTimeoutInMinutes": float("nan")})
@given(
    st.dictionaries(
        st.sampled_from(["properties", "customize", "source", "resources", "parameters", "y"]),
        JSONISH,
        max_size=4,
    )
)
def test_arbitrary_json_never_raises(doc: dict[str, Any]) -> None:
    for a in check_template(doc):
        assert a.id in ADVISORY_IDS and a.path.startswith("$")

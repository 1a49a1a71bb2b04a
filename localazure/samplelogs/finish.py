"""The end of a build: AIB's deprovisioning customizer, the capture, the cleanup and Packer's last lines."""

from __future__ import annotations

from .writer import _Log

_DEPROV_PS1 = (
    "Write-Output '>>> Waiting for GA Service (RdAgent) to start ...'",
    "while ((Get-Service RdAgent) -and ((Get-Service RdAgent).Status -ne 'Running')) { Start-Sleep -s 5 }",
    "Write-Output '>>> Waiting for GA Service (WindowsAzureTelemetryService) to start ...'",
    "while ((Get-Service WindowsAzureTelemetryService) -and ((Get-Service WindowsAzureTelemetryService).Status "
    "-ne 'Running')) { Start-Sleep -s 5 }",
    "Write-Output '>>> Waiting for GA Service (WindowsAzureGuestAgent) to start ...'",
    "while ((Get-Service WindowsAzureGuestAgent) -and ((Get-Service WindowsAzureGuestAgent).Status -ne "
    "'Running')) { Start-Sleep -s 5 }",
    "Write-Output '>>> Sysprepping VM ...'",
    "if( Test-Path $Env:SystemRoot\\system32\\Sysprep\\unattend.xml ) {",
    "  Remove-Item $Env:SystemRoot\\system32\\Sysprep\\unattend.xml -Force",
    "}",
    "& $Env:SystemRoot\\System32\\Sysprep\\Sysprep.exe /oobe /generalize /quiet /quit",
    "while($true) {",
    "  $imageState = (Get-ItemProperty HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State).ImageState",
    "  Write-Output $imageState",
    "  if ($imageState -eq 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') { break }",
    "  Start-Sleep -s 5",
    "}",
    "Write-Output '>>> Sysprep complete ...'",
)


def _deprovision(w: _Log, *, loop: int | None = None) -> None:
    """AIB's hidden last customizer. ``loop``: number of IMAGE_STATE_UNDEPLOYABLE lines of a sysprep loop."""
    w.tick(3)
    if w.os == "windows":
        w.err("[INFO] (telemetry) Starting provisioner powershell")
        w.ui("Provisioning with powershell script: C:/Windows/Temp/script-deprovision.ps1")
        w.err(
            "Found command: if( TEST-PATH c:\\DeprovisioningScript.ps1 ){cat c:\\DeprovisioningScript.ps1} else "
            '{echo "Deprovisioning script [c:\\DeprovisioningScript.ps1] could not be found. Image build may fail '
            "or the VM created from the Image may not boot. Please make sure the deprovisioning script is not "
            'accidentally deleted by a Customizer in the Template."}',
            "packer",
        )
        for line in _DEPROV_PS1:
            w.say(line)
        w.say(">>> Waiting for GA Service (RdAgent) to start ...")
        w.say(">>> Waiting for GA Service (WindowsAzureTelemetryService) to start ...")
        w.say(">>> Waiting for GA Service (WindowsAzureGuestAgent) to start ...")
        w.say(">>> Sysprepping VM ...")
        w.say("IMAGE_STATE_COMPLETE")
        if loop is not None:
            w.ui("Get-Service : Cannot find any service with service name 'WindowsAzureGuestAgent'.")
            w.ui("At C:\\DeprovisioningScript.ps1:6 char:9")
            w.ui("+ while ((Get-Service WindowsAzureGuestAgent) -and ((Get-Service Window ...")
            w.ui("+         ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~")
            w.ui(
                "    + CategoryInfo          : ObjectNotFound: (WindowsAzureGuestAgent:String) [Get-Service], "
                "ServiceCommandException"
            )
            w.ui(
                "    + FullyQualifiedErrorId : NoServiceFoundForGivenName,Microsoft.PowerShell.Commands."
                "GetServiceCommand"
            )
            w.ui("")
            for _ in range(loop):
                w.tick(5)
                w.say("IMAGE_STATE_UNDEPLOYABLE")
            return
        for _ in range(w.rng.randint(4, 9)):  # a normal sysprep also passes through UNDEPLOYABLE for a while
            w.tick(5)
            w.say("IMAGE_STATE_UNDEPLOYABLE")
        w.say("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE")
        w.say(">>> Sysprep complete ...")
        w.rpc_end(0, "powershell", stdout=1650)
        w.err("[INFO] (telemetry) ending powershell")
    else:
        w.err("[INFO] (telemetry) Starting provisioner shell")
        w.ui("Provisioning with shell script: /tmp/packer-shell187355302")
        w.err(
            "[INFO] starting remote command: chmod 0755 /tmp/script_4071.sh",
            "packer-provisioner-shell plugin",
        )
        w.err("[INFO] starting remote command: sudo /tmp/DeprovisioningScript.sh", "packer")
        w.say("WARNING! The waagent service will be stopped.")
        w.say("WARNING! Cached DHCP leases will be deleted.")
        w.say("WARNING! root password will be disabled. You will not be able to login as root.")
        w.say("WARNING! /etc/resolv.conf will be deleted.")
        w.say("WARNING! packer account and entire home directory will be deleted.")
        w.tick(4)
        w.rpc_end(0, "shell", stdout=312)
        w.err("[INFO] (telemetry) ending shell")


def _capture(w: _Log, *, distribute: str = "SharedImage", finish: bool = True) -> None:
    w.tick(5)
    w.ui("Querying the machine's properties ...")
    w.ui(f" -> ResourceGroupName : '{w.staging}'")
    w.ui("Querying the machine's additional properties ...")
    w.ui("Powering off machine ...")
    w.tick(40)
    w.ui("Generalizing machine ...")
    w.ui("Capturing image ...")
    w.ui(" -> Compute ResourceGroupName : 'rg-images'")
    w.ui(" -> Compute Name              : 'img-" + w.os + "-2024'")
    w.tick(70)
    if distribute == "SharedImage":
        w.ui(
            " -> SIG publication   : 'gal_images/" + w.os + "-base/1.0." + str(w.rng.randint(100, 999)) + "'"
        )
        w.ui("Publishing to Shared Image Gallery ...")
        w.ui(" -> SIG image name    : '" + w.os + "-base'")
        w.ui(" -> SIG replicated regions    : [westeurope northeurope]")
        if not finish:
            for _ in range(4):
                w.tick(60)
                w.err("packer-builder-azure-arm plugin: Waiting for SIG replication to complete ...")
            return
        w.tick(600)


def _cleanup(w: _Log, *, retries: int = 2) -> None:
    w.ui("Deleting individual resources ...")
    for kind, name in (
        ("Microsoft.Compute/virtualMachines", "pkrvm"),
        ("Microsoft.Network/networkInterfaces", "pkrni"),
        ("Microsoft.Network/publicIPAddresses", "pkrip"),
        ("Microsoft.Network/networkSecurityGroups", "pkrsg"),
        ("Microsoft.Network/virtualNetworks", "pkrvn"),
    ):
        w.ui(f"Adding to deletion queue -> {kind} : '{name}{w.hexid()}'")
    w.ui("Waiting for deletion of all resources...")
    w.tick(30)
    for i in range(retries):
        if i % 2 == 0:
            w.ui("Error deleting resource. Will retry.")
            w.ui(f"Name: pkrip{w.hexid()}")
            w.ui(
                "Error: network.PublicIPAddressesClient#Delete: Failure sending request: StatusCode=400 -- Original "
                'Error: Code="PublicIPAddressCannotBeDeleted" Message="Public IP address /subscriptions/'
                f"{w.sub}/resourceGroups/{w.staging}/providers/Microsoft.Network/publicIPAddresses/pkrip{w.hexid()} "
                "can not be deleted since it is still allocated to resource /subscriptions/"
                f"{w.sub}/resourceGroups/{w.staging}/providers/Microsoft.Network/networkInterfaces/pkrni"
                f'{w.hexid()}/ipConfigurations/ipconfig."'
            )
        else:
            w.ui("Error deleting resource. Will retry.")
            w.ui(f"Name: pkrsg{w.hexid()}")
            w.ui(
                "Error: network.SecurityGroupsClient#Delete: Failure sending request: StatusCode=400 -- Original "
                'Error: Code="InUseNetworkSecurityGroupCannotBeDeleted" Message="Network security group '
                f"pkrsg{w.hexid()} cannot be deleted because it is in use by the following resources: "
                f'pkrni{w.hexid()}."'
            )
        w.tick(10)
        w.ui("")
    w.azure_request("DELETE", f"/providers/Microsoft.Network/networkInterfaces/pkrni{w.hexid()}")
    w.ui(f"Removing the created Deployment object: 'pkrdp{w.hexid()}'")
    w.tick(5)


def _duration(w: _Log) -> str:
    """The build's duration so far, as Packer's last lines write it."""
    mins, secs = divmod(int((w.t - w.start).total_seconds()), 60)
    return f"{mins} minutes {secs} seconds"


def _finish_success(w: _Log) -> None:
    w.err("[INFO] (telemetry) ending azure-arm")
    duration = _duration(w)
    w.out(f"Build 'azure-arm' finished after {duration}.")
    w.out("")
    w.out(f"==> Wait completed after {duration}")
    w.out("")
    w.out("==> Builds finished. The artifacts of successful builds are:")
    w.out("--> azure-arm: Azure.ResourceManagement.VMImage:")
    w.out("")
    w.out("OSType: " + ("Windows" if w.os == "windows" else "Linux"))
    w.out("ManagedImageResourceGroupName: rg-images")
    w.out(f"ManagedImageName: img-{w.os}-2024")
    w.out(
        f"ManagedImageId: /subscriptions/{w.sub}/resourceGroups/rg-images/providers/Microsoft.Compute/images/"
        f"img-{w.os}-2024"
    )
    w.out("ManagedImageLocation: westeurope")
    w.out("")
    w.err("[INFO] (telemetry) Finalizing.")
    w.err("waiting for all plugin processes to complete...")
    w.err("/usr/bin/packer: plugin process exited")
    _done(w)


def _finish_error(w: _Log, error: str) -> None:
    w.err("[INFO] (telemetry) ending azure-arm")
    duration = _duration(w)
    w.out(f"Build 'azure-arm' errored after {duration}: {error}")
    w.out("")
    w.out(f"==> Wait completed after {duration}")
    w.out("")
    w.out("==> Some builds didn't complete successfully and had errors:")
    w.out(f"--> azure-arm: {error}")
    w.out("")
    w.out("==> Builds finished but no artifacts were created.")
    w.err(f'machine readable: azure-arm,error []string{{"{error}"}}')
    w.err("[INFO] (telemetry) Finalizing.")
    w.err("waiting for all plugin processes to complete...")
    w.err("/usr/bin/packer: plugin process exited")
    _done(w)


def _done(w: _Log) -> None:
    w.bare(f"Done exporting Packer logs to Azure for Packer prefix: [{w.op}] PACKER OUT")

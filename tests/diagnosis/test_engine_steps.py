"""diagnose() on Packer output: which step a line belongs to, whose output it is (the build VM's, Packer's, the
reporter's), and which customizer an error blames."""

from __future__ import annotations

import pytest

from diagnosis import diagnose, load_knowledge_base


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(use_env=False)


def log(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_a_scripts_error_output_inside_a_provisioner_is_customizer_failed(kb):
    excerpt = log(
        "==> azure-arm: Provisioning with powershell script: C:/tmp/update.ps1",
        "    azure-arm: ERROR: Exception from HRESULT: 0x8024ABCD",
    )
    d = diagnose(log=excerpt, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "failed-customizer")
    assert "0x8024ABCD" in d.evidence[0].text
    # the same words from the client (no build ran): no customizer to blame
    d = diagnose("ERROR: Exception from HRESULT: 0x8024ABCD", rules=kb)
    assert d.category == "unknown"


def test_a_guest_entry_in_packer_output_decides_only_on_a_line_from_inside_the_build(kb):
    """In Packer's output, a script's error record decides only under the build's prefix; Packer's own summary
    line quoting a client-side PowerShell error does not, nor a bare line beside Packer's; a tool's output alone still
    decides."""
    inside = "==> azure-arm: Provisioning with powershell script: C:/tmp/a.ps1\n" + (
        "    azure-arm: Start-Service : Failed to start service 'Docker Engine (docker)'."
    )
    assert diagnose(inside, rules=kb).category == "customizer-failed"
    client = "Build 'azure' errored: Error Creating Temporary Azure VM: New-AzureVM : BadRequest: the request failed."
    assert diagnose(client, rules=kb).category == "unknown"
    apt = "E: Unable to locate package contoso-agent"
    assert diagnose(apt, rules=kb).category == "customizer-failed"  # the tool's own output alone
    assert diagnose(f"Build 'azure-arm' errored: x\n{apt}", rules=kb).category == "unknown"  # beside Packer's


def test_an_error_record_above_packers_summary_alone_is_the_builds_output(kb):
    """A reporter who pastes a script's error record without Packer's prefixes, then the build's summary line, shows
    the build's output: the record blames the customizer. The same record in the error the summary repeats is the
    builder's own, and beside prefixed Packer lines an unprefixed record stays the reporter's."""
    record = (
        "Remove-Item : Cannot find path 'C:\\Program Files\\dotnet\\sdk-manifests\\x' because it does not exist.\n"
        "At C:\\Windows\\Temp\\script-1.ps1:128 char:5\n"
        "    + CategoryInfo          : ObjectNotFound: (C:\\Program Files\\dotnet\\sdk-manifests\\x:String) "
        "[Remove-Item], ItemNotFoundException\n"
        "    + FullyQualifiedErrorId : PathNotFound,Microsoft.PowerShell.Commands.RemoveItemCommand\n"
    )
    summary = "Build 'amazon-ebs.build_ebs' errored after 1 hour 26 minutes"
    d = diagnose(record + summary, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "failed-customizer"), d.rule_id
    assert "Cannot find path" in d.evidence[0].text
    assert diagnose(f"{summary}: Error uploading ps script: {record}", rules=kb).category == "unknown"
    prefixed = record + "==> amazon-ebs: Stopping the source instance...\n" + summary
    assert diagnose(prefixed, rules=kb).category == "unknown"


def test_a_scripts_own_error_line_in_a_failed_build_blames_its_customizer(kb):
    """An error-looking line a script printed (Packer's remote-output prefix) is the failed customizer's own
    report, though no exit line was pasted; the same line before the next provisioner started is not."""
    failed = (
        "==> azure-arm.image: Provisioning with powershell script: C:/images/Install-VisualStudio.ps1\n"
        "    azure-arm.image: Downloading Bootstrapper ...\n"
        "    azure-arm.image: Bootstrapper check failed: the publisher is not the expected one."
    )
    d = diagnose(failed, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "failed-customizer")
    assert "Bootstrapper check failed" in d.evidence[0].text
    got_past = failed + "\n==> azure-arm.image: Provisioning with powershell script: C:/images/Next.ps1"
    assert diagnose(got_past, rules=kb).category == "none"


def test_an_error_before_packers_steps_after_the_last_provisioner_is_a_step_that_went_on(kb):
    """A disk filled on purpose (dd zeroing free space) before the builder's shutdown step is no failure; in a build
    that stopped there the script failed on dd's status, not for want of disk."""
    zeroed = (
        "==> virtualbox-iso: Provisioning with shell script: scripts/zerodisk.sh\n"
        "    virtualbox-iso: dd: error writing '/EMPTY': No space left on device\n"
    )
    assert diagnose(zeroed + "==> virtualbox-iso: Gracefully halting virtual machine...\n", rules=kb).category == "none"
    stopped = zeroed + "Build 'virtualbox-iso' errored: Script exited with non-zero exit status: 1\n"
    assert diagnose(stopped, rules=kb).category == "customizer-failed"


def test_a_reporters_title_above_pasted_packer_output_is_not_a_step_the_build_got_past(kb):
    """The error a reporter writes above the log they paste is their summary of the failure; the same line under
    Packer's prefix before the next provisioner started is a step that went on."""
    log = (
        "==> vhd: Provisioning with powershell script: C:/images/Install-WindowsUpdates.ps1\n"
        "    vhd: Run windows updates\n"
        "==> vhd: Restarting Machine\n"
    )
    d = diagnose("Timeout waiting for machine to restart\n\n" + log, rules=kb)
    assert d.category == "windows-restart-failed", (d.category, d.rule_id)
    assert diagnose("==> vhd: Timeout waiting for machine to restart\n" + log, rules=kb).category != d.category


def test_a_reporters_quote_of_a_script_error_counts_unless_the_pasted_output_fails_before_any_provisioner(kb):
    """An entry that counts only inside the failed customizer takes the reporter's quoted line above pasted Packer
    output when that output shows a provisioner running, or no failure of its own (the paste stops before it); not
    when the output fails before any provisioner ran: the quote is then not that build's failure."""
    quote = "The install fails with:\nE: Unable to locate package azure-cli\n\n"
    running = "==> azure-arm: Provisioning with shell script: scripts/install-azure-cli.sh\n"
    output = "==> azure-arm: Hit:2 http://azure.archive.ubuntu.com/ubuntu resolute InRelease\n"
    d = diagnose(quote + running + output, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "linux-package-not-found"), (d.category, d.rule_id)
    assert diagnose(quote + output, rules=kb).rule_id == "linux-package-not-found"
    connecting = "==> azure-arm: Waiting for SSH to become available...\n"
    failed = (
        connecting + "==> azure-arm: Timeout waiting for SSH.\n"
        "Build 'azure-arm' errored after 20 minutes: Timeout waiting for SSH.\n"
    )
    assert diagnose(quote + failed, rules=kb).rule_id != "linux-package-not-found"
    below = connecting + "E: Unable to locate package azure-cli\n"
    assert diagnose(below, rules=kb).rule_id != "linux-package-not-found"


def test_a_custom_script_extensions_script_exit_is_its_script_failing_but_aks_node_provisioning_is_not(kb):
    """The Custom Script Extension's 'command terminated with exit status=N' is the script's own failure; AKS's
    vmssCSE runs AKS's bootstrap, whose exit status is one of AKS's error codes: no script of the user's failed."""
    linux = (
        "VM has reported a failure when processing extension '{name}'. Error message: 'Enable failed: failed to"
        " execute command: command terminated with exit status=2\\n[stdout]\\n\\n[stderr]\\nls: cannot access x'"
    )
    d = diagnose(linux.format(name="install-tools"), rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "custom-script-extension-nonzero-exit"), d.rule_id
    windows = (
        "VM has reported a failure when processing extension 'CustomScriptExtension'. Error message: \"Command"
        " execution finished, but failed because it returned a non-zero exit code of: '1'.\""
    )
    assert diagnose(windows, rules=kb).rule_id == "custom-script-extension-nonzero-exit"
    aks = diagnose(linux.format(name="vmssCSE"), rules=kb)
    assert (aks.category, aks.rule_id) == ("unknown", "aks-node-provisioning-script-failed"), aks.rule_id


def test_an_ansible_task_on_the_control_node_is_no_build_step(kb):
    """A task failing on 'localhost' is a playbook managing Azure from the control node; on the build VM (Packer's
    'default' host) it is the customizer's failure."""
    task = 'fatal: [{host}]: FAILED! => {{"changed": false, "msg": "Error creating image myimage - Azure Error: X"}}'
    assert diagnose(task.format(host="localhost"), rules=kb).category == "unknown"
    d = diagnose("    azure-arm: " + task.format(host="default"), rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "ansible-task-failed")


def test_error_lines_after_the_deprovisioning_command_are_a_deprovisioning_failure(kb):
    """waagent -deprovision ran, then an error: the deprovisioning failed; an error only before it is not its own."""
    ran = "    azure-arm: WARNING! The waagent service will be stopped.\n"
    ran += "    azure-arm: /usr/sbin/waagent -force -deprovision+user"
    error = "    azure-arm: userdel: cannot remove entry '/home/azureuser': Device or resource busy"
    d = diagnose(f"{ran}\n{error}\nBuild 'azure-arm' errored: x", rules=kb)
    assert (d.category, d.rule_id) == ("deprovision-failed", "failed-deprovisioning")
    assert "userdel" in d.evidence[0].text, [e.text for e in d.evidence]
    assert diagnose(f"{error}\n{ran}", rules=kb).category != "deprovision-failed"


def test_a_script_error_on_standard_error_inside_a_provisioner_says_the_customizer_failed():
    """Packer prints a remote command's standard error as '==> <name>: <line>': inside a provisioner, such an error
    line that is none of Packer's own messages is the script's, as its standard output's would be."""
    text = (
        "==> azure-arm: Connected to SSH!\n"
        "==> azure-arm: Provisioning with shell script: /tmp/packer-shell513573702\n"
        "==> azure-arm: clean.sh failed: Not a directory\n"
        "==> azure-arm: Provisioning step had errors: Running the cleanup provisioner, if present...\n"
    )
    assert diagnose(text).category == "customizer-failed"
    before = text.replace("==> azure-arm: Provisioning with shell script: /tmp/packer-shell513573702\n", "")
    assert diagnose(before).category == "unknown"  # no provisioner ran: not a script's line
    own = text.replace("clean.sh failed: Not a directory", "Timeout waiting for SSH.")
    assert diagnose(own).rule_id != "failed-customizer"  # Packer's own message is no script error


def test_the_error_line_right_above_provisioning_step_had_errors_is_the_failed_steps():
    """Packer says "Provisioning step had errors" once a step from provisioning on failed: the error line right above
    it is what the failed step printed last; a builder step's own error (under the arrow, repeated by the build's
    summary) is not a script's."""
    text = (
        "+/tmp/script_314.sh:367> uv tool install tool --python 3.11\n"
        'error: Permission denied (os error 13) at path "/var/folders/sk/T/.tmpjKWSI5"\n'
        "==> amazon-ebs: Provisioning step had errors: Running the cleanup provisioner, if present...\n"
    )
    assert diagnose(text).category == "customizer-failed"
    farther = text.replace("\n==>", "\nDone.\nok\n==>")
    assert diagnose(farther).category == "unknown"  # not the step's last output
    builder = (
        "==> proxmox: Converting VM to template\n"
        "==> proxmox: cloud_init is set to true, but cloud_init_storage_pool is empty\n"
        "==> proxmox: Provisioning step had errors: Running the cleanup provisioner, if present...\n"
        "Build 'proxmox' errored after 12 minutes 7 seconds: cloud_init is set to true, but cloud_init_storage_pool"
        " is empty\n"
    )
    assert diagnose(builder).category != "customizer-failed"


@pytest.mark.parametrize("stamp", ["", "15:49:00  "])
def test_a_vagrant_provisioner_reads_as_a_step(stamp):
    """Vagrant's "Running provisioner: <type>..." starts a provisioner as Packer's "Provisioning with" does: the
    package manager's error under the machine's prefix after it is the failed step's."""
    text = (
        f"{stamp}==> centos6: Running provisioner: shell...\n"
        f"{stamp}    centos6: Running: inline script\n"
        f"{stamp}    centos6: Error: Cannot find a valid baseurl for repo: base\n"
    )
    d = diagnose(text)
    assert (d.category, d.rule_id) == ("customizer-failed", "linux-repository-download-failed")
    if stamp:  # behind a time, only the provisioner's start shows the line came from inside the machine
        before = text.replace("Running provisioner: shell...", "Booting VM...")
        assert diagnose(before).rule_id != "linux-repository-download-failed"


@pytest.mark.parametrize("builder", ["azure-arm", "ubuntu.azure-arm.image", "amazon-ebs", "vsphere-clone.updates"])
def test_provisioner_output_reads_the_same_under_any_builder(builder):
    """A provisioner prints the same lines whichever builder runs it: Packer's '    <builder>: ' prefix marks them."""
    text = (
        f"    {builder}: Downloading binaries from: s3://amazon-eks\n"
        f"    {builder}: /tmp/script_8807.sh: line 251: aws: command not found\n"
    )
    assert diagnose(text).category == "customizer-failed"


def test_a_provisioner_start_without_the_build_prefix_still_opens_the_step():
    """A reporter's copy may cut Packer's '<build>: ' prefix off: 'Provisioning with ...' at a line's start still
    says the error record after it came from the customizer's script."""
    text = (
        "Provisioning with powershell script: C:/images/scripts/Install-Emulator.ps1\n"
        "Checksum verification failed: expected 1EF6, got 5E4F\n"
        "At C:\\Program Files\\WindowsPowerShell\\Modules\\ImageHelpers\\InstallHelpers.ps1:919 char:9\n"
        '+         throw "Checksum verification failed: expected $expectedHash,  ...\n'
        "    + CategoryInfo          : OperationStopped: (Checksum verifi...:String) [], RuntimeException\n"
        "    + FullyQualifiedErrorId : Checksum verification failed: expected 1EF6, got 5E4F\n"
        "Provisioning step had errors: Running the cleanup provisioner, if present...\n"
    )
    assert diagnose(text).category == "customizer-failed"


def test_a_named_builds_remote_output_is_from_inside_the_build(kb):
    """'    centos-7: ...' is the output of the build the text names in '==> centos-7: ...' lines (a build named in
    the template instead of by its builder type); under a name no '==>' line gives it is not known to be."""
    text = (
        "==> centos-7: Running goss tests...\n"
        "    centos-7: kubeadm init phase preflight: exit-status: Error: Command execution timed out (10s)\n"
        "    centos-7: Count: 13, Failed: 1, Skipped: 0\n"
    )
    d = diagnose(text, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "image-test-run-failed"), d.summary
    assert diagnose(text.replace("==> centos-7:", "==> centos-8:"), rules=kb).category == "unknown"


def test_a_powershell_error_record_blames_a_customizer_only_under_a_builders_prefix(kb):
    """Packer prints a provisioner's output under the builder's prefix: there a cmdlet's error record is the
    customizer's; the same record after a reporter's 'Powershell:' or from a client's deployment cmdlet is not."""
    record = "New-VMSwitch : Hyper-V encountered an error trying to access an object on computer 'x'"
    d = diagnose(f"==> azure-arm: Provisioning with powershell script: setup.ps1\n    azure-arm: {record}", rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "customizer-powershell-error"), d.rule_id
    for pasted in (f"Also seeing this when I run it from Powershell: {record}", f"Error: {record}"):
        assert diagnose(pasted, rules=kb).rule_id != "customizer-powershell-error", pasted


def test_a_guest_commands_output_in_vagrants_failure_report_is_from_inside_the_build(kb):
    """Vagrant reports a guest command that failed with the command, then the guest's stdout and stderr: those lines
    are the machine's output, so an entry scoped to the failed step decides on them; the same line above Vagrant's
    report, in a step the run got past, does not."""
    report = [
        "==> default: Installing rsync to the VM...",
        "The following SSH command responded with a non-zero exit status.",
        "Vagrant assumes that this means the command failed!",
        "",
        "tce-load -wi rsync",
        "",
        "Stderr from the command:",
        "",
        "Connecting to repo.tinycorelinux.net (89.22.99.37:80)",
        "wget: download timed out",
    ]
    d = diagnose("\n".join(report), rules=kb)
    assert (d.category, d.rule_id) == ("unknown", "guest-outbound-connection-failed")
    earlier = ["==> default: Running provisioner: shell...", "    default: wget: download timed out", *report[:7]]
    assert diagnose("\n".join(earlier), rules=kb).rule_id != "guest-outbound-connection-failed"


def test_set_u_stops_a_customizer_but_not_a_pipeline_script_around_the_build(kb):
    """bash's 'unbound variable' under a builder's prefix is the customizer's script stopping; the same line alone
    is as likely a pipeline's own script around the build, which says nothing about the image."""
    inside = (
        "==> azure-arm: Provisioning with shell script: /tmp/packer-shell123\n"
        "    azure-arm: /tmp/script_4417.sh: line 29: HOME: unbound variable\n"
    )
    d = diagnose(inside, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "shell-unbound-variable")
    d = diagnose("./vhdbuilder/packer/test/run-test.sh: line 78: ENABLE_TRUSTED_LAUNCH: unbound variable", rules=kb)
    assert d.rule_id != "shell-unbound-variable"

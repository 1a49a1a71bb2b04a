"""diagnose() on what shows a failure and what does not: Packer's failure and ask lines, test summaries, reporters'
sentences, harmless retries and on-purpose errors, cancelled builds."""

from __future__ import annotations

import pytest

from diagnosis import diagnose, load_knowledge_base
from diagnosis.cli import diagnose_input


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(use_env=False)


def test_harmless_cleanup_retries_are_warnings_not_evidence():
    from localazure import samplelogs

    log = bytes(samplelogs.failed_customizer_log("install-iis", "PowerShell", 1, os="windows", before=[], seed=11))
    assert b"Error deleting resource. Will retry." in log
    d = diagnose(log=[log])
    assert d.category == "customizer-failed"
    assert not any("Will retry" in e.text or "CannotBeDeleted" in e.text for e in d.evidence), d.evidence
    assert any("harmless" in w for w in d.warnings), d.warnings


@pytest.mark.parametrize(
    ("text", "not_category"),
    [
        # "Redistributable" holds "distribut", "reSOURCE IMAGEvm" holds "source image": words match whole
        (
            "    azure-arm: Microsoft Visual C++ Redistributable 2015 x64 install failed with exit code 1638",
            "distribution-failed",
        ),
        ("Resource imagevm_OsDisk_1_161aeed85886415e8dc2132e97b0c93a is not found.", "source-image-not-found"),
    ],
)
def test_entry_words_match_whole_words(kb, text, not_category):
    assert diagnose(text, rules=kb).category != not_category


def test_progress_lines_alone_show_no_failure_but_explain_one(kb):
    """The deprovisioning commands run in every healthy build: alone they are no failure; after a lost
    connection they say where the build was."""
    ran = "sudo waagent -deprovision+user -force\nWARNING! The waagent service will be stopped.\n"
    assert diagnose(ran, rules=kb).category == "none"
    lost = ran + "Build 'azure-arm' errored after 12 minutes: Remote command exited without exit status or exit signal"
    assert diagnose(lost, rules=kb).category == "deprovision-failed"


@pytest.mark.parametrize("communicator", ["SSH", "WinRM"])
@pytest.mark.parametrize("end", ["Build 'amazon-ebs' finished.\n", ""])
def test_a_connect_step_that_gave_up_is_a_failure_even_when_packer_says_finished(communicator, end):
    """Packer's connect step halts the build after "Error waiting for <communicator>: "; old Packer still printed the
    build as finished."""
    text = (
        f"==> amazon-ebs: Waiting for {communicator} to become available...\n"
        f"==> amazon-ebs: Error waiting for {communicator}: ssh: handshake failed: ssh: unable to authenticate\n"
        "==> amazon-ebs: Terminating the source AWS instance...\n" + end
    )
    assert diagnose(text).category not in ("none", "customizer-failed")
    connected = text.replace(
        f"Error waiting for {communicator}: ssh: handshake failed: ssh: unable to authenticate",
        f"Connected to {communicator}!",
    )
    assert diagnose(connected).category == "none"


def test_a_timeout_flag_of_a_command_is_no_error_line():
    text = (
        "$ TF_ACC=1 go test -v ./internal/services/compute -run=TestAccSharedImage_ -timeout 60m\n"
        "=== RUN   TestAccSharedImage_basic\n"
        "--- PASS: TestAccSharedImage_basic (116.65s)\n"
        "PASS\n"
    )
    assert diagnose(text).category == "none"


@pytest.mark.parametrize(
    ("summary", "failed"),
    [
        ("Total Test Cases      : 3 (3 Passed, 0 Failed, 0 Aborted, 0 Skipped)", False),
        ("Total Test Cases      : 3 (2 Passed, 1 Failed, 0 Aborted, 0 Skipped)", True),
        ("    azure-arm: Tests Passed: 12, Failed: 0, Skipped: 0 NotRun: 0", False),
        ("    azure-arm: Count: 13, Failed: 0, Skipped: 0", False),
        ("    azure-arm: Count: 13, Failed: 1, Skipped: 0", True),
        ("15:20:17.016 INFO LISA.RootRunner     FAILED   : 0", False),
        ("15:20:17.016 INFO LISA.RootRunner     FAILED   : 2", True),
        ("Tests Passed: 42, Failed: 0, Skipped: 0, Inconclusive: 0, NotRun: 0", False),
        ("Tests Passed: 40, Failed: 2, Skipped: 0, Inconclusive: 0, NotRun: 0", True),
        ("Failed: 0, Skipped: 4", False),
        ("Profile Summary: 12 successful controls, 0 control failures, 0 controls have error", False),
        ("Profile Summary: 10 successful controls, 2 control failures, 0 controls have error", True),
        ("12 examples, 0 failures, 2 pending", False),
        ("12 examples, 1 failure, 2 pending", True),
        ("local:\n    ----------\n    failed:\n        0\n    success:\n        1\n    total:\n        1", False),
        ("local:\n    ----------\n    failed:\n        2\n    success:\n        0\n    total:\n        2", True),
    ],
)
def test_a_test_runners_summary_counting_no_failure_is_no_failure(kb, summary, failed):
    """A summary line of a test run (LISA's table, Pester, goss, InSpec, RSpec) or Salt's nested result names 'Failed'
    with its count: zero is no failure, pasted alone or under a builder's prefix."""
    assert (diagnose(summary, rules=kb).category != "none") == failed


@pytest.mark.parametrize(
    "sentence",
    [
        "When running from Azure DevOps the following error is produced:",
        "An exception was thrown during the image build:",
        "I get the following error:",
        "The build fails at the install step:",
        "Using Packer build, the image version is not created.",
        "The windows-restart provisioner loses the connection after the update is done.",
    ],
)
def test_a_reporters_sentence_that_an_error_came_is_a_failure(kb, sentence):
    """A reporter's sentence that the build or a part of it failed, or that an error came, makes the text a failure
    (``unknown`` without a known cause) even where the output line below it alone looks harmless."""
    d = diagnose(f"{sentence}\n\n    azure-arm: Expected PyPy 2.7.* folder is not present\n", rules=kb)
    assert d.category != "none", d.summary
    assert diagnose("    azure-arm: Expected PyPy 2.7.* folder is not present\n", rules=kb).category == "none"


def test_a_programs_warning_is_not_read_as_a_reporters_sentence(kb):
    """A tool's line at a log level ('WARN:') is output, not the reporter saying the build failed: a warning that a
    feature is not available, in a run that went on, is no failure; without the level the line reads as a sentence."""
    warning = (
        "  * windows_feature_dism[ActiveDirectory-Powershell] action install[2017-08-08T18:35:57+00:00] WARN: Requested"
        " feature ActiveDirectory-Powershell is not available on this system.\n    (up to date)\n"
    )
    assert diagnose(warning, rules=kb).category == "none"
    assert diagnose(warning.replace(" WARN:", ""), rules=kb).category != "none"


@pytest.mark.parametrize(
    "line",
    [
        '==> azure-arm: Step "StepDeployTemplate" failed',
        "==> azure-arm: [c] Clean up and exit, [a] abort without cleanup, or [r] retry step (build may fail even if"
        " retry succeeds)?",
    ],
)
@pytest.mark.parametrize("backend", ["stdlib", "hyperscan"])
def test_packers_on_error_ask_lines_are_a_failure(kb, monkeypatch, line, backend):
    """With -on-error=ask (or -debug) Packer says which step failed and asks what to do: the build failed there."""
    monkeypatch.setenv("DIAGNOSIS_SCAN_BACKEND", backend)
    ran = "==> azure-arm: Provisioning with shell script: setup.sh\n    azure-arm: configuring\n"
    assert diagnose(ran + line + "\n", rules=kb).category == "unknown"
    assert diagnose(ran, rules=kb).category == "none"


PREFIX_NOT_RECOGNIZED = [
    # the term on the record's first line
    "    vmware-iso: :PACKER_BUILDER_TYPE=vmware-iso : The term ':PACKER_BUILDER_TYPE=vmware-iso'\n"
    "    vmware-iso: is not recognized as the name of a cmdlet, function, script file, or operable\n"
    "    vmware-iso: At line:1 char:5\n"
    '    vmware-iso: + & { :PACKER_BUILDER_TYPE="vmware-iso"; :PACKER_BUILD_NAME="vmware-iso";\n'
    "    vmware-iso:     + CategoryInfo          : ObjectNotFound: (:PACKER_BUILDER_TYPE=vmware-iso:String) [], C\n"
    "    vmware-iso:    ommandNotFoundException\n"
    "    vmware-iso:     + FullyQualifiedErrorId : CommandNotFoundException\n",
    # the env-vars file's path wrapped onto its own line
    "==> googlecompute.vm: . : The term\n"
    "==> googlecompute.vm: 'c:/Windows/Temp/packer-ps-env-vars-62f10fbc-5827-c4b2-8272-3b1793e96a67.ps1'\n"
    "==> googlecompute.vm: is not recognized as the name of a cmdlet, function, script file, or operable\n"
    "==> googlecompute.vm: At line:1 char:138\n"
    "==> googlecompute.vm:     + CategoryInfo          : ObjectNotFound: (c:/Windows/Temp...b1793e96a67.p\n"
    "==> googlecompute.vm:     + FullyQualifiedErrorId : CommandNotFoundException\n",
    # cut short before CategoryInfo
    "    virtualbox-iso: =SilentlyContinue : The term '=SilentlyContinue' is not recognized as the name\n"
    "    virtualbox-iso: At line:1 char:55\n"
    "    virtualbox-iso: + ... -Path variable:global:ProgressPreference){='SilentlyContinue'};:PACKE ...\n",
]


@pytest.mark.parametrize("record", PREFIX_NOT_RECOGNIZED)
def test_packers_own_prefix_not_recognized_is_no_failure_but_a_later_record_is(kb, record):
    """PowerShell's record for Packer's own command prefix (its $-variables stripped, its env-vars file gone) reports
    nothing wrong: the script still runs. A record the script prints after it still decides."""
    start = "==> azure-arm: Provisioning with powershell script: C:/scripts/setup.ps1\n"
    d = diagnose(start + record + "    azure-arm: installed\n", rules=kb)
    assert d.category == "none", d.summary
    assert any("Packer wraps each script" in w for w in d.warnings), d.warnings
    real = (
        "    azure-arm: Install-Package : No match was found for the specified search criteria for 'contoso-agent'\n"
        "    azure-arm:     + CategoryInfo          : ObjectNotFound: (Microsoft.Power....InstallPackage:InstallPackag"
        "e)"
        " [Install-Package], Exception\n"
        "    azure-arm:     + FullyQualifiedErrorId : NoMatchFoundForCriteria,Microsoft.PowerShell.PackageManagement"
        ".Cmdlets.InstallPackage\n"
        "==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]\n"
    )
    d = diagnose(start + record + real, rules=kb)
    assert d.category == "customizer-failed", d.summary
    assert "contoso-agent" in d.evidence[0].text


_PLUGIN_PANICS = [
    # behind Packer's "<plugin> plugin: " prefix
    (
        "2019/12/23 00:01:11 [INFO] (telemetry) Starting post-processor vagrant\n"
        "==> qemu: Running post-processor: vagrant\n"
        "==> qemu (vagrant): Creating Vagrant box for 'libvirt' provider\n"
        "2019/12/23 00:02:23 packer-post-processor-vagrant plugin: panic: interface conversion: interface {} is"
        " string, not uint64\n"
        "2019/12/23 00:02:23 packer-post-processor-vagrant plugin: goroutine 219 [running]:\n",
        "panic: interface conversion",
    ),
    # behind the plugin binary's name alone, as Packer before 0.8 logged a plugin's output
    (
        "2015/02/06 16:02:11 ui: ==> vmware: Downloading /var/log/messages => vm-messages\n"
        "2015/02/06 16:02:11 packer-builder-vmware-iso.exe: panic: not implemented yet\n"
        "2015/02/06 16:02:11 packer-builder-vmware-iso.exe: goroutine 88 [running]:\n",
        "panic: not implemented yet",
    ),
]


@pytest.mark.parametrize(("log", "panic"), _PLUGIN_PANICS, ids=["plugin-prefix", "binary-name"])
def test_a_plugin_panic_in_packers_debug_log_is_a_failure(kb, log, panic):
    """A Go panic in a plugin's output ends the plugin: a debug log that stops there failed."""
    d = diagnose_input(log.encode(), kb)
    assert d.category == "unknown", d.summary
    assert panic in d.evidence[0].text


def test_a_repeat_of_packers_prefix_record_cut_short_is_no_failure_either(kb):
    """Packer prints the prefix's record before every script: a paste that ends inside the next copy (its message
    line only, no position line to recognize it by) still shows no failure; another record's message does."""
    record = (
        "    vmware-iso: vmware-iso : The term 'vmware-iso' is not recognized as the name of a cmdlet,\n"
        "    vmware-iso: function, script file, or operable program. Check the spelling of the name, or\n"
        "    vmware-iso: At line:1 char:30\n"
        "    vmware-iso: + & { $env:PACKER_BUILDER_TYPE=vmware-iso; $env:PACKER_BUILD_NAME=vmwar ...\n"
        "    vmware-iso: + CategoryInfo          : ObjectNotFound: (vmware-iso:String) [], CommandN\n"
        "    vmware-iso: + FullyQualifiedErrorId : CommandNotFoundException\n"
    )
    start = "==> vmware-iso: Provisioning with shell script: scripts/setup.ps1\n"
    repeat = "    vmware-iso: vmware-iso : The term 'vmware-iso' is not recognized as the name of a cmdlet,\n"
    assert diagnose(start + record + repeat, rules=kb).category == "none"
    other = "    vmware-iso: choco : The term 'choco' is not recognized as the name of a cmdlet,\n"
    assert diagnose(start + record + other, rules=kb).category != "none"


def test_the_deprovisioning_scripts_guarded_wait_for_a_missing_telemetry_service_is_harmless(kb):
    """The current deprovisioning script guards its wait ('(Get-Service X) -and ...'): a missing
    WindowsAzureTelemetryService ends it. The older unguarded wait loops for ever on it: Sysprep never runs."""
    op = "[1e333e01-b8d7-45d3-9295-1f49870c39e1] PACKER OUT"

    def record(guard: str) -> str:
        return (
            f"{op} ==> azure-arm: Get-Service : Cannot find any service with service name"
            " 'WindowsAzureTelemetryService'.\n"
            f"{op} ==> azure-arm: At C:\\DeprovisioningScript.ps1:4 char:9\n"
            f"{op} ==> azure-arm: + while ((Get-Service WindowsAzureTelemetryService){guard} ...\n"
            f"{op} ==> azure-arm:     + CategoryInfo          : ObjectNotFound: (WindowsAzureTelemetryService:String)"
            " [Get-Service], ServiceCommandException\n"
            f"{op} ==> azure-arm:     + FullyQualifiedErrorId : NoServiceFoundForGivenName,Microsoft.PowerShell"
            ".Commands.GetServiceCommand\n"
        )

    done = f"{op}     azure-arm: >>> Sysprepping VM ...\n{op}     azure-arm: IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE\n"
    d = diagnose(record(" -and ((Get-Service ") + done, rules=kb)
    assert d.category == "none", d.summary
    assert any("WindowsAzureTelemetryService" in w for w in d.warnings), d.warnings
    timed_out = f"{op} ==> azure-arm: Build 'azure-arm' errored: context deadline exceeded\n"
    d = diagnose(record(".Status -ne 'Runni") + timed_out, rules=kb)
    assert d.category == "sysprep-timing", (d.category, d.rule_id)


@pytest.mark.parametrize(
    "dd_line",
    [
        "dd: error writing '/EMPTY': No space left on device",
        "dd: error writing \u2018/ZEROFILL\u2019: No space left on device",
        "dd: writing to '/dev/sda3': No space left on device",
    ],
)
def test_zero_filling_the_disk_on_purpose_is_no_resource_failure(kb, dd_line):
    """Templates zero the free space with dd until the disk is full before the capture: dd's 'No space left on
    device' is the goal. A script that stops on dd's status fails as a customizer; a disk that fills elsewhere is
    still a full disk."""
    step = "==> azure-arm: Provisioning with shell script: scripts/cleanup.sh\n"
    dd = f"    azure-arm: {dd_line}\n    azure-arm: 5647+0 records in\n    azure-arm: 5646+0 records out\n"
    d = diagnose(step + dd + "==> azure-arm: Deleting resource group ...\n", rules=kb)
    assert d.category == "none", d.summary
    assert any("zeroing" in w or "zeros" in w for w in d.warnings), d.warnings
    failed = step + dd + "==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]\n"
    assert diagnose(failed, rules=kb).category == "customizer-failed"
    full = failed.replace(dd_line, "dd: error writing '/var/lib/docker/overlay2/layer.tar': No space left on device")
    assert diagnose(full, rules=kb).category == "vm-resources-exhausted"


@pytest.mark.parametrize(
    "cancelled",
    [
        "Build was cancelled.",
        "Cleanly cancelled builds after being interrupted.",
        "==> azure-arm: Cancelling provisioner after a timeout...",
    ],
)
def test_a_cancelled_build_is_a_failure(kb, cancelled):
    """Packer's lines for a build it cancelled (an interrupt, a provisioner's own timeout) are failures."""
    assert diagnose(cancelled, rules=kb).category != "none"


def test_packers_refusal_of_the_template_is_a_failure_even_after_it_finalized(kb):
    """packer validate's and build's refusal of the template ends with its telemetry finalized and no build errored:
    the refusal itself is the failure, and the setting it names decides."""
    log = (
        "2019/02/16 15:37:05 Preparing build: amazon-ebs\n"
        "2019/02/16 15:37:05 Build 'amazon-ebs' prepare failure: 1 error(s) occurred:\n\n"
        "* An instance_type must be specified\n"
        "2019/02/16 15:37:05 ui error: Template validation failed. Errors are shown below.\n"
        "2019/02/16 15:37:05 ui error: Errors validating build 'amazon-ebs'. 1 error(s) occurred:\n\n"
        "* An instance_type must be specified\n"
        "2019/02/16 15:37:05 [INFO] (telemetry) Finalizing.\n"
        "Template validation failed. Errors are shown below.\n\n"
        "Errors validating build 'amazon-ebs'. 1 error(s) occurred:\n\n"
        "* An instance_type must be specified\n"
    )
    assert diagnose_input(log.encode(), kb, name="pasted").category == "template-invalid"


def test_a_command_xargs_saw_killed_by_a_signal_is_a_failure(kb):
    """findutils xargs reports a command killed by a signal ('terminated by signal 11'): the text shows a failure, so
    the answer is never none."""
    text = (
        "dracut: *** Resolving executable dependencies ***\n"
        "xargs: /usr/lib/dracut/dracut-install: terminated by signal 11\n"
    )
    assert diagnose_input(text.encode(), kb, name="pasted").category != "none"

"""Properties of which lines may decide a category (``diagnosis.admissible``) and of failure detection.

- A known cause's line decides the category when it is in the failed provisioner, and never when it is in
  another provisioner that completed, before the first provisioner, in the cleanup after the failure, in a
  quoted command (``set -x`` trace, a PowerShell error record's source line) or in a warning.
- Every shape of "this failed" (``diagnosis.failure_text``: ``FAILURE_STATEMENT`` and ``FAILURE_SIGNAL``) gives a
  category or ``unknown``, never ``none``; a how-to question with a template, a successful log and a log with only
  warnings give ``none``.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from diagnosis import diagnose, load_knowledge_base
from diagnosis.cli import diagnose_input

KB = load_knowledge_base(use_env=False)
OP = "[8f0f2a3c-1d2e-4b5a-9c8d-7e6f5a4b3c2d] PACKER"

# a line that alone decides its category (entry precedence above a script's exit), and that category
CAUSES = [
    ("write error: No space left on device", "vm-resources-exhausted"),
    (
        "(AuthorizationFailed) The client 'c1' with object id 'o1' does not have authorization to perform action "
        "'Microsoft.Compute/galleries/read' over scope '/subscriptions/s1/resourceGroups/rg1'",
        "permissions",
    ),
    ("Code: RequestDisallowedByPolicy", "policy-violation"),
    (
        "(QuotaExceeded) Operation could not be completed as it results in exceeding approved Total Regional "
        "Cores quota.",
        "quota-or-capacity",
    ),
    ("The specified blob does not exist.", "customizer-download-failed"),
    ("Timeout waiting for machine to restart.", "windows-restart-failed"),
]
OUTPUT = [
    "Reading package lists...",
    "Setting up curl (7.81.0-1ubuntu1.15) ...",
    "Installed feature Web-Server component 3 : Success",
    "Done.",
    "Downloading https://example.com/agent.msi",
]
PROVISIONERS = ["shell", "powershell"]


def _out(text: str) -> str:
    return f"{OP} OUT     azure-arm: {text}"


def _step(name: str, body: list[str], exit_code: int | None) -> list[str]:
    lines = [f"{OP} ERR 2024/03/01 10:00:00 [INFO] (telemetry) Starting provisioner {name}"]
    lines.append(f"{OP} OUT ==> azure-arm: Provisioning with {name} script: /tmp/script.sh")
    lines.extend(_out(b) for b in body)
    if exit_code:
        lines.append(
            f"{OP} OUT ==> azure-arm: Script exited with non-zero exit status: {exit_code}. Allowed exit codes are: [0]"
        )
    lines.append(f"{OP} ERR 2024/03/01 10:05:00 [INFO] (telemetry) ending {name}")
    return lines


def _head() -> list[str]:
    return [
        f"{OP} OUT ==> azure-arm: Deploying deployment template ...",
        f"{OP} OUT ==> azure-arm: Waiting for SSH to become available...",
        f"{OP} OUT ==> azure-arm: Connected to SSH!",
    ]


def _failed_tail(exit_code: int) -> list[str]:
    return [
        f"{OP} OUT Build 'azure-arm' errored after 5 minutes: Script exited with non-zero exit status: "
        f"{exit_code}. Allowed exit codes are: [0]",
        f"{OP} ERR ==> Some builds didn't complete successfully and had errors:",
    ]


def _log(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


OUTPUTS = st.lists(st.sampled_from(OUTPUT), max_size=4)
EXIT_CODES = st.integers(min_value=1, max_value=255)


@settings(max_examples=60, deadline=None)
@given(
    cause=st.sampled_from(CAUSES), before=OUTPUTS, after=OUTPUTS, code=EXIT_CODES, name=st.sampled_from(PROVISIONERS)
)
def test_a_cause_in_the_failed_step_decides(cause, before, after, code, name):
    line, category = cause
    log = _log([*_head(), *_step(name, [*before, line, *after], code), *_failed_tail(code)])
    d = diagnose(log=log, rules=KB)
    assert d.category == category, (d.category, d.rule_id, d.summary)


@settings(max_examples=60, deadline=None)
@given(
    cause=st.sampled_from(CAUSES), before=OUTPUTS, after=OUTPUTS, code=EXIT_CODES, name=st.sampled_from(PROVISIONERS)
)
def test_a_cause_in_a_step_that_completed_does_not_decide(cause, before, after, code, name):
    line, _category = cause
    completed = _step(name, [*before, line, *after], None)
    failed = _step("shell", ["Done."], code)
    d = diagnose(log=_log([*_head(), *completed, *failed, *_failed_tail(code)]), rules=KB)
    assert d.category == "customizer-failed", (d.category, d.rule_id, d.summary)


@settings(max_examples=60, deadline=None)
@given(cause=st.sampled_from(CAUSES), code=EXIT_CODES, name=st.sampled_from(PROVISIONERS))
def test_a_cause_before_the_first_step_does_not_decide(cause, code, name):
    line, _category = cause
    head = [_head()[0], f"{OP} OUT ==> azure-arm: {line}", *_head()[1:]]
    d = diagnose(log=_log([*head, *_step(name, ["Done."], code), *_failed_tail(code)]), rules=KB)
    assert d.category == "customizer-failed", (d.category, d.rule_id, d.summary)


# the first line packer-plugin-azure prints when it cleans up the build's resources, by version and setting
CLEANUP_STARTS = [
    "Deleting resource group ...",
    "Cleanup requested, deleting resource group ...",
    "Deleting Virtual Machine deployment and its attached resources...",
    "Removing the created Deployment object",
    "Adding to deletion queue -> Microsoft.Compute/virtualMachines : 'pkrvm1x2y3z'",
    "Attempting deletion -> Microsoft.Network/networkInterfaces : 'pkrni1x2y3z'",
]


@settings(max_examples=60, deadline=None)
@given(
    cause=st.sampled_from(CAUSES),
    code=EXIT_CODES,
    name=st.sampled_from(PROVISIONERS),
    start=st.sampled_from(CLEANUP_STARTS),
)
def test_a_cause_in_the_cleanup_after_the_failure_does_not_decide(cause, code, name, start):
    line, _category = cause
    cleanup = [f"{OP} OUT ==> azure-arm: {start}", f"{OP} OUT ==> azure-arm: {line}"]
    d = diagnose(log=_log([*_head(), *_step(name, ["Done."], code), *cleanup, *_failed_tail(code)]), rules=KB)
    assert d.category == "customizer-failed", (d.category, d.rule_id, d.summary)


QUOTES = [
    lambda line: f"+ echo '{line}'",  # bash set -x
    lambda line: f"++ grep -q '{line}' /var/log/syslog",
    lambda line: f"+ if ($err -match '{line}') {{ exit 1 }}",  # a PowerShell error record's source line
    lambda line: f"WARNING: {line}",  # az CLI
    lambda line: f"2024/03/01 10:00:00 [WARN] {line}",  # packer
    lambda line: f"[preflight] WARNING: {line}",  # kubeadm before 1.8
    lambda line: f"[WARNING SystemVerification]: {line}",  # kubeadm
]
PASTED_NOISE = ["==> azure-arm: Provisioning with shell script: /tmp/a.sh", "    azure-arm: Done.", "It fails:"]


@settings(max_examples=80, deadline=None)
@given(
    cause=st.sampled_from(CAUSES),
    quote=st.sampled_from(QUOTES),
    failed=st.booleans(),
    noise=st.lists(st.sampled_from(PASTED_NOISE), max_size=3),
    code=EXIT_CODES,
)
def test_a_quoted_command_or_a_warning_does_not_decide(cause, quote, failed, noise, code):
    line, category = cause
    lines = [*noise, f"    azure-arm: {quote(line)}"]
    if failed:
        lines.append(f"==> azure-arm: Script exited with non-zero exit status: {code}. Allowed exit codes are: [0]")
    d = diagnose("\n".join(lines), rules=KB)
    assert d.category != category, (d.category, d.rule_id, d.summary)
    said_failed = "It fails:" in noise  # the reporter's own words state a failure: unknown, not none
    expected = "customizer-failed" if failed else ("unknown" if said_failed else "none")
    assert d.category == expected, (d.category, d.rule_id, d.summary)


# ------------------------------------------------------------------------------------ failure / no failure

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=3, max_size=50).map(str.strip).filter(bool)
STATUS = st.sampled_from([400, 404, 409, 412, 429, 500, 503])
STATEMENTS = [
    lambda w, s: f"Build (Managed Image) step failed for image version {w}",
    lambda w, s: f"Deployment failed. Correlation ID: 5bb0a03a-21e1-4b59-96a4-5930d165ceed. {w}",
    lambda w, s: f"BadRequest: {w}",
    lambda w, s: f"StatusCode: {s}",
    lambda w, s: f'{{"status": "Failed", "error": "{w}"}}',
    lambda w, s: f"Error: {w}",
    lambda w, s: f"ERROR: {w}",
    lambda w, s: f"Fehler: {w}",
    lambda w, s: f"> “错误：{w}",
    lambda w, s: f"Ошибка: {w}",
    lambda w, s: f'Exception calling "Invoke" with "1" argument(s): "{w}"',
    lambda w, s: f"##[error]{w}",
    lambda w, s: (
        f"The term '{w.replace(' ', '-')}' is not recognized as the name of a cmdlet, function, script "
        "file, or operable program."
    ),
    lambda w, s: "==> azure-arm: Deployment failed with a status of 'Failed'.",
    lambda w, s: f"runState: Failed {w}",
    lambda w, s: f'"runState": "PartiallySucceeded", "runSubState": "Distributing", "message": "{w}"',
    lambda w, s: "LastRunStatusRunState    : PartiallySucceeded",
    lambda w, s: f'"provisioningState": "Failed", "message": "{w}"',
    lambda w, s: f'Status={s} Message="{w}"',
    lambda w, s: f"{w.title().replace(' ', '')}Error: {w}",
    lambda w, s: "Killed",
    lambda w, s: f"./build.sh: line {s}: {s}1 Aborted                 (core dumped) ./{w.replace(' ', '_')}",
    lambda w, s: "Segmentation fault (core dumped)",
    lambda w, s: f"Connection to 10.0.{s % 250}.4 closed by remote host.",
    lambda w, s: "kex_exchange_identification: read: Connection reset by peer",
    lambda w, s: f"Unhandled exception. System.OutOfMemoryException: {w}",
    lambda w, s: "Stack overflow.",
    lambda w, s: "Zugriff verweigert",
    lambda w, s: f"google.api_core.exceptions.ServiceUnavailable: {s} {w}",
    lambda w, s: f"    + CategoryInfo          : OperationStopped: ({w}:String) [], RuntimeException",
    lambda w, s: f"./install.sh: line {s}:  {s}2 Terminated              {w.replace(' ', '_')}",
    lambda w, s: f"npm ERR! errno {s % 254 + 1}",
    lambda w, s: f"Process exited with code -{s}",
    lambda w, s: "Отказано в доступе.",
    lambda w, s: f'Get "https://10.0.{s % 250}.4:5986/wsman": http: server gave HTTP response to HTTPS client',
    lambda w, s: f"sudo: {s % 9 + 1} incorrect password attempts",
    lambda w, s: f"Something went wrong while {w}.",
    lambda w, s: f'The command "./{w.replace(" ", "_")}.sh" exited with {s % 254 + 1}.',
    lambda w, s: f"/tmp/script_{s}.sh: line {s}: {w.replace(' ', '_')}: command not found",
    lambda w, s: f"    qemu: /tmp/script_{s}.sh: 12: {w.replace(' ', '_').upper()}: parameter not set",
    lambda w, s: "    amazon-ebs: sudo: /usr/bin/sudo must be owned by uid 0 and have the setuid bit set",
    lambda w, s: f'fatal: [{w.replace(" ", "-")}]: FAILED! => {{"changed": false, "msg": "{w}"}}',
    lambda w, s: f"The command '/bin/sh -c {w}' returned a non-zero code: {s}",
    lambda w, s: f"make: *** [Makefile:{s}: {w.replace(' ', '-')}] Error 2",
    lambda w, s: f"make: *** No rule to make target '{w.replace(' ', '-')}'.  Stop.",
    lambda w, s: f"make[{s % 9}]: *** No rule to make target '{w.replace(' ', '-')}'. Stop.",
    lambda w, s: f"make[{s % 9}]: *** [Makefile:{s}: {w.replace(' ', '-')}.o] Killed",
    lambda w, s: f"The packer build hangs right after {w}.",
    lambda w, s: f"Our image build has been failing since {w}.",
    lambda w, s: f"It fails when the {w} script runs and times out after {s} minutes.",
    lambda w, s: f"Looks like the installation of {w} is hanging:",
    lambda w, s: f"The restart after {w} was cancelled.",
    lambda w, s: f"The build stops at {w} every time.",
    lambda w, s: f"The provisioner is still waiting for {w} after {s} hours.",
    lambda w, s: f"The image test of {w} fails: {s}",
    lambda w, s: f"The virtual machine keeps hanging at {w}.",
    lambda w, s: f"The script stalls while installing {w}.",
    lambda w, s: f"When I run {w} it tells me disk space not enough.",
    lambda w, s: f"Out of 10 builds of {w} only 4 were successful.",
    lambda w, s: f"An error occurred while {w}.",
    lambda w, s: f"The {w} tools are just stuck in an install loop.",
    lambda w, s: f"For me the setup stops at {w} and nothing happens.",
    lambda w, s: f"The provisioner does not respond while running {w}.",
    lambda w, s: f"It will never assign an IP to {w}.",
    lambda w, s: f"Behind the proxy I can't get updates for {w}.",
    lambda w, s: f"Packer does not seem to be able to reach {w} at all.",
    lambda w, s: f"The VM from {w} has never been created.",
    lambda w, s: f"Resource Template deployment reached end state of 'Canceled'.\nIP Address is: 10.0.0.{s}",
    lambda w, s: f"thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/{w[:1]}.rs:{s}:21",
    lambda w, s: f"2019/12/23 00:02:23 packer-post-processor-{w.split()[0]} plugin: panic: runtime error: index out of"
    f" range [{s}] with length {s}",
    lambda w, s: "sshd: no hostkeys available -- exiting.",
    lambda w, s: f"The value of parameter {w.replace(' ', '.')} is required.",
    lambda w, s: f"Property '{w}' must be one of: PlatformImage, ManagedImage.",
    lambda w, s: f"Only one of '{w}' and 'publisher' can be specified.",
    lambda w, s: f"Parameter 'osDisk.diskSizeGB' should be greater than or equal to {s}.",
    lambda w, s: f"/etc/ssh/sshd_config line {s}: Bad configuration option: {w.replace(' ', '')}",
    lambda w, s: f"Permissions for 'C:\\ProgramData\\ssh\\ssh_host_{w.replace(' ', '_')}_key' are too open.",
    lambda w, s: f"    azure-arm: Creating {w} staging directory...\n"
    "    azure-arm: The syntax of the command is incorrect.",
    lambda w, s: "The password does not meet the password policy requirements. Check the minimum password length, "
    "password complexity and password history requirements.",
]
CALM = ["Hello,", "I run the build from a pipeline.", "Thanks for any help", "    azure-arm: Done."]


@settings(max_examples=150, deadline=None)
@given(
    statement=st.sampled_from(STATEMENTS),
    words=WORDS,
    status=STATUS,
    before=st.lists(st.sampled_from(CALM), max_size=3),
    after=st.lists(st.sampled_from(CALM), max_size=3),
)
def test_a_stated_failure_is_never_none(statement, words, status, before, after):
    text = "\n".join([*before, statement(words, status), *after])
    d = diagnose_input(text.encode(), KB)
    assert d.category != "none", (text, d.summary)


@pytest.mark.parametrize(
    "line",
    [
        "InvalidJsonReferenceFormat: Reference Id /subscriptions/x/subnets//subscriptions/x/subnets/a is not formatted "
        "correctly.",
        "  InvalidResourceGroup: The provided resource group name 'rg-a' has a length of '91' (too long).",
        '> nginx: [emerg] "ssl_protocols" directive is duplicate in /etc/nginx/conf.d/tls.conf:14',
        "npm ERR! If you're sure you want to delete the entire cache, rerun this command with --force.",
        "npm error Missing script: \"build\"",
        "umount: /mnt/image: target is busy.",
        "Chef::Mixin::Template::TemplateError\n------------------------------------\nundefined method `each'",
        "Generated at 2013-12-13 10:34:19 +0400\nChef::Mixin::Template::TemplateError:\n",
        # mixlib-shellout's last line when Chef did not allow a command's exit status
        "    ---- End output of wusa.exe c:\\chef\\cache\\kb.msu /quiet ----\n"
        "    Ran wusa.exe c:\\chef\\cache\\kb.msu /quiet returned -2145124329",
        # GNU make's "***" in another language, and a command refusing its own option
        "make[1]: *** Keine Regel vorhanden, um das Ziel \u201ebuild/wl.o\u201c zu erstellen.  Schluss.",
        "make: *** [Makefile:1503: _module_/var/lib/dkms/wl/build] Fehler 2",
        "virt-sysprep: unknown option `--no-logfile'.",
        "tar: unrecognized option '--zstd'",
        "usage: pro enable <service> [<service>] [flags]\n        the following arguments are required: service",
        "usage: cloud-init [-h] [--version]\ncloud-init: error: unrecognized arguments: --wait-for-network",
        'unknown builder type: "upcloud"',
        # a tool's JSON result of a failure with its error code (teamsbootstrapper -p)
        '{\n  "success": false,\n  "errorCode": "0x80004004"\n}',
    ],
)
def test_a_failure_stated_by_a_code_a_level_or_a_status_without_an_error_word_is_no_none(line):
    assert diagnose_input(line.encode(), KB).category != "none"


TEMPLATE = """{
  "type": "Microsoft.VirtualMachineImages/imageTemplates",
  "properties": {
    "buildTimeoutInMinutes": 120,
    "customize": [
      {"type": "PowerShell", "name": "%s", "inline": ["Write-Host 'installing'", "exit 0"]}
    ]
  }
}"""
SUCCESS_LOG = [
    f"{OP} OUT ==> azure-arm: Connected to WinRM!",
    f"{OP} OUT     azure-arm: Installed feature Web-Server component 3 : Success",
    f"{OP} OUT Build 'azure-arm' finished after 21 minutes 4 seconds.",
    f"{OP} OUT ==> Builds finished. The artifacts of successful builds are:",
    f"{OP} OUT --> azure-arm: Azure.ResourceManagement.VMImage:",
]
WARNINGS = [
    "WARNING: Command group 'image builder' is in preview and under development.",
    "WARNING: The command requires the extension image-builder. It will be installed first.",
    "2024/03/01 10:00:00 [WARN] Deprecated setting: communicator timeout",
    "    azure-arm: WARNING: apt does not have a stable CLI interface. Use with caution in scripts.",
]


@settings(max_examples=60, deadline=None)
@given(
    name=st.from_regex(r"[a-z]{3,12}", fullmatch=True),
    question=st.sampled_from(
        [
            "How do I add a PowerShell customizer to this template?",
            "Can I reuse this template for several regions?",
            "What is the right buildTimeoutInMinutes for a Windows image?",
        ]
    ),
)
def test_a_how_to_question_with_a_template_is_none(name, question):
    d = diagnose_input(f"{question}\n{TEMPLATE % name}\n".encode(), KB)
    assert d.category == "none", (d.category, d.rule_id, d.summary)


@settings(max_examples=40, deadline=None)
@example(  # words above a log excerpt of a build that finished are no status message of a failed run
    words="timeout", calm=["The build succeeded and the image version was replicated to two regions."]
)
@given(
    words=WORDS,
    calm=st.lists(
        st.sampled_from(
            [
                "The build succeeded and the image version was replicated to two regions.",
                "Is there a way to speed up the Windows build?",
                "==> azure-arm: Error deleting resource group.  Please delete it manually.",
                "    azure-arm: 0 upgraded, 3 newly installed, 0 to remove and 12 not upgraded.",
                "I'm stuck on how to name the image versions.",
                "How can I get the build to use a proxy?",
            ]
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_a_healthy_report_in_prose_is_none(words, calm):
    text = "\n".join([f"I build images with {words}.", *calm, *SUCCESS_LOG]) + "\n"
    d = diagnose_input(text.encode(), KB)
    assert d.category == "none", (text, d.category, d.rule_id, d.summary)


@settings(max_examples=40, deadline=None)
@given(warnings=st.lists(st.sampled_from(WARNINGS), min_size=1, max_size=4), finished=st.booleans())
def test_a_log_with_only_warnings_is_none(warnings, finished):
    text = "\n".join([*warnings, *(SUCCESS_LOG if finished else [])]) + "\n"
    d = diagnose_input(text.encode(), KB)
    assert d.category == "none", (d.category, d.rule_id, d.summary)


PASTED_FINISHED = [
    "==> vsphere-iso: Running post-processor:  (type manifest)",
    "Build 'vsphere-iso' finished after 7 minutes 33 seconds.",
    "==> Builds finished. The artifacts of successful builds are:",
    "--> vsphere-iso: linux-ubuntu-server",
]


@settings(max_examples=30, deadline=None)
@given(cause=st.sampled_from(CAUSES), command=st.sampled_from(["$ vagrant up", "PS C:\\box> .\\publish.ps1", ""]))
def test_a_failure_pasted_after_packer_finished_is_no_none(cause, command):
    """A paste that goes on after Packer's last 'finished' line with the next command's failure shows a failure."""
    line, category = cause
    text = "\n".join([*PASTED_FINISHED, command, line]) + "\n"
    d = diagnose_input(text.encode(), KB)
    assert d.category == category, (text, d.category, d.rule_id, d.summary)


@pytest.mark.parametrize("prompt", ["Press Enter to continue.", "Press any key to continue . . ."])
def test_a_wrapper_prompt_after_packer_finished_is_none(prompt):
    text = "\n".join([*PASTED_FINISHED, "Done.", prompt]) + "\n"
    d = diagnose_input(text.encode(), KB)
    assert d.category == "none", (d.category, d.rule_id, d.summary)


# ------------------------------------------------------------------ pasted Packer output and pending restarts


def _pasted_provisioner(kind: str, body: list[str]) -> list[str]:
    header = (
        "==> azure-arm: Provisioning with shell script: /tmp/a.sh"
        if kind == "shell"
        else ("==> azure-arm: Provisioning with Powershell...")
    )
    return [header, *(f"    azure-arm: {b}" for b in body)]


@settings(max_examples=60, deadline=None)
@given(
    cause=st.sampled_from(CAUSES),
    kinds=st.lists(st.sampled_from(["shell", "powershell"]), min_size=2, max_size=3),
    before=OUTPUTS,
    code=EXIT_CODES,
    failed=st.booleans(),
)
def test_a_cause_before_packer_starts_the_next_provisioner_does_not_decide(cause, kinds, before, code, failed):
    line, _category = cause
    lines = _pasted_provisioner(kinds[0], [*before, line])
    for kind in kinds[1:]:
        lines += _pasted_provisioner(kind, ["Done."])
    if failed:
        lines.append(f"==> azure-arm: Script exited with non-zero exit status: {code}. Allowed exit codes are: [0]")
    d = diagnose_input(("\n".join(lines) + "\n").encode(), KB)
    assert d.category == ("customizer-failed" if failed else "none"), (d.category, d.rule_id, d.summary)


@settings(max_examples=60, deadline=None)
@given(cause=st.sampled_from(CAUSES), kind=st.sampled_from(["shell", "powershell"]), code=EXIT_CODES)
def test_a_cause_after_the_last_provisioner_started_still_decides(cause, kind, code):
    line, category = cause
    lines = [*_pasted_provisioner("shell", ["Done."]), *_pasted_provisioner(kind, [line])]
    lines.append(f"==> azure-arm: Script exited with non-zero exit status: {code}. Allowed exit codes are: [0]")
    d = diagnose_input(("\n".join(lines) + "\n").encode(), KB)
    assert d.category == category, (d.category, d.rule_id, d.summary)


PENDING = [
    "RestartNeeded : True",
    "Restart is suppressed because NoRestart is specified.",
    "WARNING: Restart is suppressed because NoRestart is specified.",
    "WARNING: A restart is required to enable the containers feature. Please restart your machine.",
    "WARNING: You must restart this server to finish the installation process.",
    "Success        True          SuccessRestartRequired Yes            {Hyper-V}",
]


@settings(max_examples=40, deadline=None)
@given(pending=st.sampled_from(PENDING), code=EXIT_CODES, before=OUTPUTS)
def test_a_pending_restart_left_by_an_earlier_step_still_decides(pending, code, before):
    completed = _step("powershell", [*before, pending], None)
    failed = _step("powershell", ["Running sysprep"], code)
    d = diagnose(log=_log([*_head(), *completed, *failed, *_failed_tail(code)]), rules=KB)
    assert d.category == "pending-restart", (d.category, d.rule_id, d.summary)


HARMLESS = [
    "dpkg-preconfigure: unable to re-open stdin: No such file or directory",
    "sudo: unable to resolve host pkrvmx1y2z3: Name or service not known",
    "W: Some index files failed to download. They have been ignored, or old ones used instead.",
    "perl: warning: Setting locale failed.",
    "update-alternatives: warning: skip creation of /usr/share/man/man1/x.1.gz because associated file "
    "/usr/share/man/man1/y.1.gz (of link group x) doesn't exist",
    "Do you want to continue? [Y/n] Y",
    "Ignore the mismatch and continue? [y/N]: y",
    ":: Proceed with installation? [Y/n]",
    ':: Import PGP key 9B7A287D9A2EC608, "David Runge <dvzrv@archlinux.org>"? [Y/n]',
]


@settings(max_examples=60, deadline=None)
@given(harmless=st.lists(st.sampled_from(HARMLESS), min_size=1, max_size=4), output=OUTPUTS)
def test_harmless_package_manager_and_sudo_lines_show_no_failure(harmless, output):
    text = "\n".join(f"    azure-arm: {line}" for line in [*output, *harmless, *output]) + "\n"
    d = diagnose_input(text.encode(), KB)
    assert d.category == "none", (d.category, d.rule_id, d.summary)


@settings(max_examples=40, deadline=None)
@given(harmless=st.lists(st.sampled_from(HARMLESS), min_size=1, max_size=3), code=EXIT_CODES)
def test_harmless_lines_never_lead_the_evidence_of_a_failed_step(harmless, code):
    body = [*harmless, "E: Unable to locate package contoso-agent"]
    d = diagnose(log=_log([*_head(), *_step("shell", body, code), *_failed_tail(code)]), rules=KB)
    assert d.category == "customizer-failed", (d.category, d.rule_id, d.summary)
    assert "Unable to locate package" in d.evidence[0].text, [e.text for e in d.evidence]


INLINE_TEMPLATE = """{
  "type": "Microsoft.VirtualMachineImages/imageTemplates",
  "properties": {
    "customize": [
      {
        "type": "Shell",
        "name": "%s",
        "inline": [
          "set -e",
          "if grep -q '%s' /var/log/build.log; then exit 3; fi"
        ]
      },
      {"type": "PowerShell", "name": "one-line", "inline": ["Write-Host '%s'"]}
    ]
  }
}"""


@settings(max_examples=60, deadline=None)
@given(
    cause=st.sampled_from(CAUSES),
    name=st.from_regex(r"[a-z]{3,12}", fullmatch=True),
    failed=st.booleans(),
    code=EXIT_CODES,
)
def test_a_cause_quoted_in_a_template_inline_script_does_not_decide(cause, name, failed, code):
    line, _category = cause
    quoted = line.replace("'", "")
    text = "How do I make this template work?\n" + INLINE_TEMPLATE % (name, quoted, quoted) + "\n"
    if failed:
        text += f"==> azure-arm: Script exited with non-zero exit status: {code}. Allowed exit codes are: [0]\n"
    d = diagnose(text, rules=KB)
    assert d.category == ("customizer-failed" if failed else "none"), (d.category, d.rule_id, d.summary)


BUILDER_STEP_ERRORS = [
    # packer-plugin-azure chroot and arm steps: the step Packer announced, then its own error, which Packer's summary
    # repeats
    (
        "Creating disk from source image ...",
        'StepCreateNewDiskset.Run: error: could not parse source image id "gallery/image/1.0.4": Expected even number'
        " of segments",
    ),
    (
        "Capturing image ...",
        "failed to capture OS Disk with err : failed to grant access with err : retrieving result from output:"
        " accessSAS was nil",
    ),
    (
        "Deleting the temporary OS disk ...",
        "Failed to find temporary OS disk on VM.  Please delete manually.\n\nVM Name: pkrvmk3j9x2m1qa\nError:"
        " unexpected status 404 (404 Not Found) with error: ResourceNotFound: The Resource"
        " 'Microsoft.Compute/virtualMachines/pkrvm' was not found.",
    ),
]


@settings(max_examples=40, deadline=None)
@given(step=st.sampled_from(BUILDER_STEP_ERRORS), builder=st.sampled_from(["azure-arm", "azure-chroot", "qemu"]))
def test_a_builders_own_step_error_is_no_customizers_failure(step, builder):
    """Packer prints a failed step's error as "==> <builder>: <line>" lines and repeats it in "Build '<builder>'
    errored": those lines are the builder's, not a customizer's error output, as pasted text and as a log."""
    lead, error = step
    first, *rest = error.split("\n")
    text = "\n".join(
        [
            f"==> {builder}: {lead}",
            *(f"==> {builder}: {line}" for line in error.split("\n")),
            f"Build '{builder}' errored after 2 minutes 3 seconds: {first}",
            *rest,
            "==> Builds finished but no artifacts were created.",
        ]
    )
    for d in (diagnose(text, rules=KB), diagnose_input(text.encode(), KB)):
        assert d.category != "none", d.summary
        assert d.rule_id not in ("failed-customizer", "customizer-powershell-error"), (d.rule_id, d.summary)


def test_a_customizers_error_output_still_decides_when_the_summary_names_the_script():
    """The control: a customizer's stderr line is not what the errored summary repeats, so it still decides."""
    text = "\n".join(
        [
            "==> azure-arm: Provisioning with shell script: /tmp/setup.sh",
            "==> azure-arm: E: Unable to locate package contoso-agent",
            "==> azure-arm: Script exited with non-zero exit status: 100. Allowed exit codes are: [0]",
            "Build 'azure-arm' errored after 2 minutes 3 seconds: Script exited with non-zero exit status: 100."
            " Allowed exit codes are: [0]",
        ]
    )
    for d in (diagnose(text, rules=KB), diagnose_input(text.encode(), KB)):
        assert d.category == "customizer-failed", (d.rule_id, d.summary)


@pytest.mark.parametrize(
    "status",
    [
        '"lastRunStatus": {"message": "", "runState": "PartiallySucceeded", "runSubState": "Distributing"}',
        "LastRunStatusRunState    : PartiallySucceeded",
        "make: *** No targets specified and no makefile found.  Stop.\n    azure-arm: Done.",
        "==> win7: Command ['\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoProfile']"
        " exited with '-2147023895'",
        "[DEBUG] - Exit code returned from Start-VSChocolateyProcessAsAdmin: '5003'",
        "==> win7: Process is terminated due to StackOverflowException.",
        "remote: cp: option '--update' doesn't allow an argument",
    ],
)
def test_a_failure_without_an_error_word_is_no_none(status):
    assert diagnose_input(status.encode(), KB).category == "unknown"


@pytest.mark.parametrize(
    "line",
    [
        "    default: Command ['\"C:\\Windows\\System32\\shutdown.exe\" /a'] exited with '1116'",
        "    default: Command ['\"C:\\Windows\\System32\\msiexec.exe\" /i pdk.msi /qn'] exited with '0'.",
        "[DEBUG] - Exit code returned from Start-VSChocolateyProcessAsAdmin: '3010'",
    ],
)
def test_a_quoted_exit_code_that_is_no_failure_is_none(line):
    assert diagnose_input(line.encode(), KB).category == "none"


def test_robocopys_summary_header_is_no_failure():
    summary = (
        "               Total    Copied   Skipped  Mismatch    FAILED    Extras\n"
        "    Dirs :         3         3         0         0         0         0\n"
        "   Files :        12        12         0         0         0         0\n"
    )
    assert diagnose_input(summary.encode(), KB).category == "none"

"""Properties of diagnose() on pasted text, in both directions.

- A text that shows a failure (a non-zero exit, Packer's ``errored``/``had errors`` lines, an ARM error object,
  a ``Failed`` state) gets a category or ``unknown``, never ``none``, whatever surrounds it.
- A problem that recovers later in the same text (a restart in progress that then restarted, sysprep polling
  that reaches OOBE, a connection retry that connects, needrestart restarting services, a Windows Update retry)
  gets no category.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnosis import diagnose, load_knowledge_base

KB = load_knowledge_base(use_env=False)

NOISE = [
    "    azure-arm: Reading package lists...",
    "    azure-arm: Setting up curl (7.81.0-1ubuntu1.15) ...",
    "==> azure-arm: Provisioning with shell script: /tmp/packer-shell123",
    "    azure-arm: Installed feature Web-Server component 3 : Success",
    "    azure-arm: Done.",
    "==> azure-arm: Waiting for WinRM to become available...",
    "==> azure-arm: Connected to WinRM!",
    "    azure-arm: Downloading https://example.com/agent.msi",
    "==> azure-arm: Uploading ./app.zip => C:\\BuildArtifacts\\app.zip",
]
SUCCESS_TAIL = [
    "Build 'azure-arm' finished after 21 minutes 4 seconds.",
    "==> Builds finished. The artifacts of successful builds are:",
    "--> azure-arm: Azure.ResourceManagement.VMImage:",
]
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=3, max_size=60).map(str.strip).filter(bool)
CODES = st.from_regex(r"[A-Z][a-z]{3,10}[A-Z][a-z]{3,10}", fullmatch=True)


@st.composite
def failure_lines(draw) -> list[str]:
    code = draw(st.integers(min_value=1, max_value=255))
    words = draw(WORDS)
    arm = draw(CODES)
    kind = draw(st.sampled_from(range(9)))
    return [
        [f"==> azure-arm: Script exited with non-zero exit status: {code}. Allowed exit codes are: [0]"],
        [f"Build 'azure-arm' errored after 3 minutes 2 seconds: {words}"],
        ["==> Some builds didn't complete successfully and had errors:", f"--> azure-arm: {words}"],
        ["==> azure-arm: Provisioning step had errors: Running the cleanup provisioner, if present..."],
        [f"2024/03/01 10:00:00 packer-provisioner-powershell plugin: [INFO] command 'x.ps1' exited with code: {code}"],
        [json.dumps({"error": {"code": arm, "message": words}})],
        [f"Code=\"{arm}\" Message=\"{words}\""],
        [f"ERROR: ({arm}) {words}", f"Code: {arm}", f"Message: {words}"],
        [json.dumps({"properties": {"lastRunStatus": {"runState": "Failed", "message": words}}})],
    ][kind]


RECOVERIES = [
    [
        "==> azure-arm: Waiting for machine to restart...",
        "==> azure-arm: A system shutdown is in progress.(1115)",
        "    azure-arm: pkrvm1234 restarted.",
        "==> azure-arm: Machine successfully restarted, moving on",
    ],
    [
        "    azure-arm: IMAGE_STATE_COMPLETE",
        "    azure-arm: IMAGE_STATE_UNDEPLOYABLE",
        "    azure-arm: IMAGE_STATE_UNDEPLOYABLE",
        "    azure-arm: IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE",
    ],
    [
        "packer-builder-azure-arm plugin: [DEBUG] TCP connection to SSH failed: dial tcp 10.1.2.4:22: i/o timeout",
        "==> azure-arm: Connected to SSH!",
    ],
    [
        "    azure-arm: Restarting services...",
        "    azure-arm:  systemctl restart cron.service ssh.service",
    ],
    [
        "    azure-arm: Search for Windows updates failed with 'orcFailed'. Retrying...",
        "    azure-arm: Found Windows update (2024-03 Cumulative Update)",
    ],
    [
        "==> azure-arm: A system shutdown has already been scheduled.(1190)",
        "    azure-arm: pkrvm1234 restarted.",
    ],
    [  # a restart the shell provisioner expected (expect_disconnect): the next session reconnects
        "packer-builder-azure-arm plugin: Remote command exited without exit status or exit signal.",
        "packer-builder-azure-arm plugin: [INFO] RPC endpoint: Communicator ended with: 2300218",
        "packer-builder-azure-arm plugin: opening new ssh session",
        "packer-builder-azure-arm plugin: ssh session open error: 'EOF', attempting reconnect",
        "packer-builder-azure-arm plugin: reconnecting to TCP connection for SSH",
        "packer-builder-azure-arm plugin: handshake complete!",
    ],
    [  # Vagrant's SSH wait while the guest boots: more retries than an entry keeps as samples
        "==> default: Waiting for machine to boot. This may take a few minutes...",
        "    default: Warning: Connection refused. Retrying...",
        *["    default: Warning: Remote connection disconnect. Retrying..."] * 10,
        "==> default: Machine booted and ready!",
    ],
]


def _text(before: list[str], middle: list[str], after: list[str], tail: list[str]) -> str:
    return "\n".join([*before, *middle, *after, *tail]) + "\n"


@settings(max_examples=150, deadline=None)
@given(
    before=st.lists(st.sampled_from(NOISE), max_size=6),
    failure=failure_lines(),
    after=st.lists(st.sampled_from(NOISE), max_size=4),
)
def test_a_text_that_shows_a_failure_is_never_none(before, failure, after):
    d = diagnose(_text(before, failure, after, []), rules=KB)
    assert d.category != "none", (failure, d.summary)


@settings(max_examples=150, deadline=None)
@given(
    before=st.lists(st.sampled_from(NOISE), max_size=6),
    recovery=st.sampled_from(RECOVERIES),
    after=st.lists(st.sampled_from(NOISE), max_size=4),
    finished=st.booleans(),
)
def test_a_problem_that_recovers_gives_no_category(before, recovery, after, finished):
    text = _text(before, recovery, after, SUCCESS_TAIL if finished else [])
    d = diagnose(text, rules=KB)
    assert d.category == "none", (recovery, d.category, d.rule_id, d.summary)
    d_log = diagnose(log=text.encode(), rules=KB)
    assert d_log.category == "none", (recovery, d_log.category, d_log.rule_id, d_log.summary)


@settings(max_examples=60, deadline=None)
@given(
    before=st.lists(st.sampled_from(NOISE), max_size=6),
    recovery=st.sampled_from(RECOVERIES),
    failure=failure_lines(),
)
def test_a_recovered_retry_does_not_hide_a_later_failure(before, recovery, failure):
    d = diagnose(_text(before, recovery, failure, []), rules=KB)
    assert d.category != "none", (recovery, failure, d.summary)


@pytest.mark.parametrize(
    "retries",
    [
        ["    default: Warning: Connection timeout. Retrying..."] * 12,
        ["packer-builder-azure-arm plugin: ssh session open error: 'EOF', attempting reconnect"],
    ],
)
def test_a_retry_that_never_recovers_is_unknown_not_none(retries):
    d = diagnose("\n".join(retries) + "\n", rules=KB)
    assert d.category == "unknown", (d.category, d.rule_id)


def test_an_allowed_non_zero_exit_in_a_finished_build_is_no_failure():
    op = "[00000000-0000-0000-0000-000000000001] PACKER"
    log = "\n".join(
        [
            f"{op} ERR 2024/03/01 10:00:00 [INFO] (telemetry) Starting provisioner powershell",
            f"{op} ERR 2024/03/01 10:05:00 packer-provisioner-powershell plugin: [INFO] command 'c:/x.ps1' "
            "exited with code: 3010",
            f"{op} ERR 2024/03/01 10:05:00 [INFO] (telemetry) ending powershell",
            f"{op} OUT Build 'azure-arm' finished after 20 minutes.",
            f"{op} OUT ==> Builds finished. The artifacts of successful builds are:",
        ]
    )
    d = diagnose(log=log.encode() + b"\n", rules=KB)
    assert d.category == "none", (d.rule_id, d.summary)


def test_a_pasted_finished_build_with_an_allowed_exit_code_is_no_failure():
    text = (
        "2024/03/01 10:05:00 packer-provisioner-powershell plugin: [INFO] command 'c:/x.ps1' exited with code: 3010\n"
        "Build 'azure-arm' finished after 20 minutes.\n"
        "==> Builds finished. The artifacts of successful builds are:\n"
    )
    d = diagnose(text, rules=KB)
    assert d.category == "none", (d.rule_id, d.summary)

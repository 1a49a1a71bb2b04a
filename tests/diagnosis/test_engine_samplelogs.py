"""diagnose() on the realistic generated logs of localazure.samplelogs (whole builds, both line styles)."""

from __future__ import annotations

import pytest

from diagnosis import diagnose, load_knowledge_base
from localazure import samplelogs

KB = load_knowledge_base(use_env=False)


@pytest.mark.parametrize("style", ["classic", "modern"])
@pytest.mark.parametrize("os_", ["linux", "windows"])
@pytest.mark.parametrize("failure", samplelogs.FAILURES)
def test_generated_failure_logs(failure, os_, style):
    if failure in ("sysprep", "resources", "restart"):
        os_ = "windows"  # Windows-only failures (Sysprep, Windows Update on D1_v2, WindowsRestart)
    log = samplelogs.failure_log(failure, os=os_, style=style)
    expected = log.expected_category
    for message in (None, log.status_message):
        d = diagnose(message, log=bytes(log), rules=KB)
        assert d.category == expected, (message is not None, d.rule_id, d.summary)
        if expected == "none":
            assert not d.evidence
        else:
            assert d.evidence and d.evidence[0].line is not None


@pytest.mark.parametrize("style", ["classic", "modern"])
@pytest.mark.parametrize("kind", ["Shell", "PowerShell", "File", "WindowsRestart", "WindowsUpdate"])
def test_generated_failed_customizer_is_found(kind, style):
    first = "PowerShell" if kind in ("PowerShell", "WindowsUpdate", "WindowsRestart") else "Shell"
    before = [
        {"type": first, "name": "prepare", "inline": ["echo one"]},
        {"type": first, "name": "configure", "inline": ["echo two"]},
    ]
    log = samplelogs.failed_customizer_log(
        name=f"my-{kind.lower()}", type=kind, exit_code=5, style=style, before=before
    )
    template = {"properties": {"customize": [*before, {"type": kind, "name": f"my-{kind.lower()}"}]}}
    d = diagnose(log.status_message, log=bytes(log), rules=KB)
    assert d.category == log.expected_category
    fc = d.failed_customizer
    assert fc is not None and fc.name == log.failed_customizer
    assert fc.position == log.info["position"]
    if log.exit_code is not None:
        assert fc.exit_code == log.exit_code
        assert f"exited with code {log.exit_code}" in d.summary
    assert d.operation_id == log.operation_id
    named = diagnose(log.status_message, log=bytes(log), template=template, rules=KB)
    assert named.failed_customizer.customizer_name == f"my-{kind.lower()}"
    assert named.failed_customizer.type == kind
    if log.exit_code is not None:
        assert named.summary.startswith(f'Customizer "my-{kind.lower()}" ({kind}, #3) exited with code 5')


def test_successful_build_is_none_with_cleanup_warnings():
    d = diagnose(log=bytes(samplelogs.success_log()), rules=KB)
    assert d.category == "none"
    assert any("Will retry" in w for w in d.warnings)
    # the SSH connection retries before "Connected to SSH!" are not a network problem
    assert not any("VNet" in w for w in d.warnings)


def test_normal_sysprep_passes_through_undeployable_without_alarm():
    d = diagnose(log=bytes(samplelogs.failure_log("none", os="windows")), rules=KB)
    assert d.category == "none"
    assert diagnose(log=bytes(samplelogs.sysprep_loop_log()), rules=KB).category == "sysprep-timing"

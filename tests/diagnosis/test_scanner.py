"""The streaming scanner: line shapes, phases, telemetry, encodings, odd bytes, over-long lines."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnosis import diagnose, failure_text, load_knowledge_base, scanner
from diagnosis.literals import AnyOf
from diagnosis.scanner import CHUNK, MAX_CARRY, scan, scan_text, sniff_is_log

KB = load_knowledge_base(use_env=False)
OP = "922bdf36-b53c-4e78-9cd8-6b70b9674685"
P = f"[{OP}] PACKER"

FAILING = (
    "\n".join(
        [
            f"{P} OUT ==> azure-arm: Deploying deployment template ...",  # 1
            f"{P} OUT ==> azure-arm: Waiting for SSH to become available...",  # 2
            f"{P} OUT ==> azure-arm: Connected to SSH!",  # 3
            f"{P} 2024/12/23 16:20:01 [INFO] (telemetry) Starting provisioner shell",  # 4
            f"{P} 2024/12/23 16:21:01 [INFO] (telemetry) ending shell",  # 5
            f"{P} 2024/12/23 16:21:02 [INFO] (telemetry) Starting provisioner file",  # 6
            f"{P} 2024/12/23 16:21:03 [INFO] (telemetry) ending file",  # 7
            f"{P} ERR 2024/12/23 16:21:04 [INFO] (telemetry) Starting provisioner shell",  # 8
            f"{P} 2024/12/23 16:27:00 ui:     azure-arm: tar: No space left on device",  # 9
            f"{P} 2024/12/23 16:33:04 ui error: ==> azure-arm: Script exited with non-zero exit status: 2. Allowed exit codes are: [0]",  # 10  # noqa: E501
            f"{P} OUT Build 'azure-arm' errored after 13 minutes: Script exited with non-zero exit status: 2",  # 11
            "Done exporting Packer logs to Azure for Packer prefix: [x] PACKER OUT",  # 12
        ]
    )
    + "\n"
)


def test_line_shapes_phases_and_telemetry():
    r = scan(FAILING.encode(), KB)
    assert r.lines == 12
    assert r.operation_id == OP
    assert [(s.name, s.position, s.ended) for s in r.steps] == [
        ("shell", 1, True),
        ("file", 2, True),
        ("shell", 3, False),
    ]
    step = r.failed_step
    assert step is not None and step.position == 3 and step.exit_code == 2 and step.exit_line == 10
    assert (step.start_time.minute, r.last_time.minute) == (21, 33)
    assert r.hits["vm-resources-exhausted"].first[0].line == 9
    assert r.hits["vm-resources-exhausted"].first[0].step == 3
    assert [h.line for h in r.failure_lines] == [11]
    assert r.exported and not r.success
    assert r.phase == "customize"


def test_crlf_nul_bytes_and_utf16_bom_give_the_same_result():
    base = scan(FAILING.encode(), KB)
    expected = diagnose(log=FAILING.encode(), rules=KB)
    assert expected.category == "vm-resources-exhausted"
    variants = {
        "crlf": FAILING.replace("\n", "\r\n").encode(),
        "nul": FAILING.encode().replace(b"PACKER", b"PAC\x00KER").replace(b"\n", b"\x00\n"),
        "utf16-bom": codecs.BOM_UTF16_LE + FAILING.encode("utf-16-le"),
        "utf16-be-bom": codecs.BOM_UTF16_BE + FAILING.encode("utf-16-be"),
        "utf16-no-bom": FAILING.encode("utf-16-le"),
        "utf8-bom": codecs.BOM_UTF8 + FAILING.encode(),
    }
    for name, data in variants.items():
        r = scan(data, KB)
        assert r.lines == base.lines, name
        assert {k: v.count for k, v in r.hits.items()} == {k: v.count for k, v in base.hits.items()}, name
        assert r.failed_step.exit_code == 2, name
        assert (
            r.hits["vm-resources-exhausted"].first[0].text.rstrip("\r").endswith("No space left on device")
        ), name
        d = diagnose(log=data, rules=KB)
        assert (d.category, d.failed_customizer, [e.line for e in d.evidence]) == (
            expected.category,
            expected.failed_customizer,
            [e.line for e in expected.evidence],
        ), name


def test_invalid_utf8_is_replaced_not_fatal():
    data = FAILING.encode().replace(b"tar:", b"t\xff\xfe\xc3r:")
    r = scan(data, KB)
    assert "\ufffd" in r.hits["vm-resources-exhausted"].first[0].text


def test_five_megabyte_single_line_is_truncated_for_evidence():
    junk = b"x" * (5 << 20)
    line = (
        junk[: 3 << 20] + b" IMAGE_STATE_UNDEPLOYABLE azure-arm: IMAGE_STATE_UNDEPLOYABLE " + junk[: 2 << 20]
    )
    data = FAILING.encode() + line + b"\n" + f"{P} OUT after the long line\n".encode()
    r = scan(data, KB)
    assert r.lines == 14
    assert r.truncated_lines >= 1
    hit = r.hits["sysprep-image-state-loop"].first[0]
    assert hit.line == 13
    assert len(hit.text) <= 400
    d = diagnose(log=data, rules=KB)
    assert d.category == "sysprep-timing"
    assert all(len(e.text) <= 400 for e in d.evidence)


def test_line_without_newline_longer_than_carry_limit():
    data = b"a" * (MAX_CARRY + 10) + b" Timeout waiting for WinRM " + b"b" * (CHUNK + 5)
    r = scan(iter([data[i : i + 65536] for i in range(0, len(data), 65536)]), KB)
    assert "communicator-timeout" in r.hits
    assert r.lines == 1


def test_line_numbers_across_chunk_boundaries():
    filler = f"{P} OUT     azure-arm: Setting up something ...\n".encode()
    n = (CHUNK // len(filler)) * 2 + 17
    data = filler * n + f"{P} OUT ==> azure-arm: RequestDisallowedByPolicy: denied\n".encode() + filler * 3
    r = scan(iter([data[i : i + 1_000_003] for i in range(0, len(data), 1_000_003)]), KB)
    assert r.hits["policy-violation"].first[0].line == n + 1
    assert r.lines == n + 4


def test_scan_text_matches_across_lines():
    r = scan_text(
        '{\n "code": "ResourceDeploymentFailure",\n "details": [{"code": "InternalOperationError"}]\n}', KB
    )
    assert "resource-deployment-internal-error" in r.hits


def test_scan_text_matches_a_message_wrapped_by_a_console():
    """A message pattern broken over lines (with the indentation a console adds) matches on the joined lines."""
    wrapped = (
        "LastRunStatusMessage         : Deployment failed. Update/Upgrade of image\n"
        "                               templates is currently not supported"
    )
    r = scan_text(wrapped, KB)
    hit = r.hits["template-update-not-supported"].first[0]
    assert hit.line == 1 and "Update/Upgrade of image" in hit.text
    assert "template-update-not-supported" not in scan_text("Update/Upgrade of image\n\nnothing else", KB).hits


def test_sniff():
    assert sniff_is_log(FAILING.encode())
    assert sniff_is_log(codecs.BOM_UTF16_LE + FAILING.encode("utf-16-le"))
    assert not sniff_is_log(b"ERROR: (AuthorizationFailed) The client does not have authorization")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096), st.lists(st.integers(min_value=1, max_value=97), max_size=5))
def test_arbitrary_bytes_never_raise(data, cuts):
    chunks, pos = [], 0
    for c in cuts:
        chunks.append(data[pos : pos + c])
        pos += c
    chunks.append(data[pos:])
    d = diagnose(log=iter(chunks), rules=KB)
    assert d.category
    d = diagnose(data.decode("utf-8", "replace"), log=data, validation_log=data, rules=KB)
    assert d.to_dict()["category"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                f"{P} ERR 2024/01/01 10:00:00 [INFO] (telemetry) Starting provisioner shell",
                f"{P} ERR 2024/01/01 10:00:01 [INFO] (telemetry) ending shell",
                f"{P} OUT Build 'azure-arm' errored: boom",
                f"{P} OUT     azure-arm: IMAGE_STATE_UNDEPLOYABLE",
                "\x00\xff garbage \r",
                f"{P} ERR 2024/13/45 99:99:99 [INFO] command 'x' exited with code: 99999999999999999999",
                "Script exited with non-zero exit status: -1",
            ]
        ),
        max_size=30,
    )
)
def test_arbitrary_log_line_sequences_never_raise(lines):
    data = "\n".join(lines).encode("utf-8", "surrogateescape")
    d = diagnose(log=data, rules=KB)
    assert d.category


def test_many_provisioners_keep_bounded_state_and_positions():
    lines = []
    for i in range(5000):
        lines.append(f"{P} ERR 2024/01/01 10:00:00 [INFO] (telemetry) Starting provisioner shell")
        if i < 4999:
            lines.append(f"{P} ERR 2024/01/01 10:00:01 [INFO] (telemetry) ending shell")
    lines.append(f"{P} OUT ==> azure-arm: Script exited with non-zero exit status: 9. Allowed exit codes are: [0]")
    r = scan(("\n".join(lines) + "\n").encode(), KB)
    assert len(r.steps) <= 2000
    assert r.failed_step.position == 5000 and r.failed_step.exit_code == 9


def test_a_timeout_setting_is_no_error_line_and_a_timeout_is_one():
    setting = "Creating source snapshot\nGetting sas url for the source snapshot with timeout: 3600 seconds"
    assert scan_text(setting, KB).tail_errors == []
    assert diagnose(setting, rules=KB).category == "none"
    timed_out = "Getting sas url for the source snapshot timed out after 3600 seconds"
    assert [h.line for h in scan_text(timed_out, KB).tail_errors] == [1]


def test_go_test_and_ci_table_failures_are_failures_and_a_zero_count_is_none():
    for failed in (
        "=== RUN   TestAccImage_basic\n--- FAIL: TestAccImage_basic (428.57s)\nFAIL\tgithub.com/x/compute\t430.1s",
        "| \u2705 PASS | TestAccImage_basic | 280.1s |\n| \u274c FAIL | TestAccImage_latest | 1045.6s |",
    ):
        assert diagnose(failed, rules=KB).category == "unknown", failed
    passed = "=== RUN   TestAccImage_basic\n--- PASS: TestAccImage_basic (12.0s)\nPASS\nFAIL: 0"
    assert diagnose(passed, rules=KB).category == "none"


def test_a_count_of_no_failures_is_no_error_line_and_a_count_of_some_is_one():
    none_failed = (
        "default : ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0\n"
        "Total Test Cases      : 3 (3 Passed, 0 Failed, 0 Aborted, 0 Skipped)\n"
        "Profile Summary: 12 successful controls, 0 control failures, 0 controls have error\n"
        "12 examples, 0 failures, 2 pending\n"
    )
    assert scan_text(none_failed, KB).tail_errors == []
    some_failed = (
        "default : ok=3 changed=1 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0\n"
        "Tests Passed: 3, Failed: 2, Errors: 0\n"
        "/Stage[main]/App/Exec[setup]/returns: change from notrun to 0 failed: /usr/local/bin/setup\n"  # a value
    )
    assert [h.line for h in scan_text(some_failed, KB).tail_errors] == [1, 2, 3]


# ------------------------------------------------------------------ line regexes searched alternative by alternative

_REAL = Path(__file__).parent / "cases" / "real"
_ERROR_WORDS = ["Error", "FAILED", "denied", "Traceback (most recent call last)", "Fehler:", "错误：", "[-] t"]
_SENTENCE_WORDS = ["the build ", "failed", " is stuck", "cannot ", "connect", "I get the ", "timeout", "errors: 0"]
_BY_ALTERNATIVE = {"error line": scanner._ERRORISH, "failure sentence": failure_text._FAILURE_SENTENCE}


@pytest.mark.parametrize("name", sorted(_BY_ALTERNATIVE))
def test_searching_alternative_by_alternative_finds_what_the_alternation_finds_on_real_lines(name):
    """Each alternative runs only on lines with one of its literals: the answer is the whole alternation's."""
    matcher = _BY_ALTERNATIVE[name]
    matched = 0
    for path in sorted(_REAL.glob("*.txt"))[::13]:
        for line in path.read_text("utf-8", "replace").split("\n"):
            expected = matcher.regex.search(line) is not None
            assert matcher.search(line) == expected, line
            matched += expected
    assert matched > 100


_WORDS = st.sampled_from(_ERROR_WORDS + _SENTENCE_WORDS)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(max_size=30), _WORDS), max_size=8).map("".join))
def test_searching_alternative_by_alternative_finds_what_the_alternation_finds_on_any_line(line):
    for matcher in _BY_ALTERNATIVE.values():
        assert matcher.search(line) == (matcher.regex.search(line) is not None), line


def test_a_literal_found_also_runs_the_alternatives_of_the_literals_it_starts_with():
    """Where "errors ahead!" starts, "error" starts too: the alternative keyed on "error" runs."""
    matcher = AnyOf([r"error\w", r"errors ahead!\d"], re.IGNORECASE)
    assert matcher.search("Errors ahead!")
    assert matcher.search("ERRORS ahead!7")
    assert not matcher.search("error ahead!")
    assert AnyOf([r"\d{3}", r"pears"]).search("123")  # an alternative without literals runs on every text

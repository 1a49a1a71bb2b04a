"""python -m diagnosis: input detection, human and JSON output, exit codes, usage errors."""

from __future__ import annotations

import codecs
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from diagnosis.cli import run

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).with_name("cases")
OP = "45f485cf-5a8c-4379-9937-8d85493bc791"
LOG = (
    "\n".join(
        [
            f"[{OP}] PACKER ERR 2024/05/01 10:06:01 [INFO] (telemetry) Starting provisioner powershell",
            f"[{OP}] PACKER OUT ==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
            f"[{OP}] PACKER ERR 2024/05/01 10:18:01 [INFO] command 'powershell i.ps1' exited with code: 1",
            f"[{OP}] PACKER OUT Build 'azure-arm' errored after 12 minutes: Script exited with non-zero exit status: 1",
        ]
    )
    + "\n"
)
SUCCESS = (
    f"[{OP}] PACKER OUT ==> azure-arm: Error deleting resource. Will retry.\n"
    f"[{OP}] PACKER OUT ==> Builds finished. The artifacts of successful builds are:\n"
)


def cli(*args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(args), stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_log_file_human_output(tmp_path):
    path = tmp_path / "customization.log"
    path.write_text(LOG)
    code, out, err = cli(str(path))
    assert code == 1 and err == ""
    assert "Category:    customizer-failed" in out
    assert 'Customizer "powershell" (PowerShell, #1) exited with code 1 after 12 min' in out
    assert "log:2" in out  # evidence with line numbers
    assert "Remediation:" in out and "1. " in out


def test_json_prints_exactly_one_object(tmp_path):
    path = tmp_path / "customization.log"
    path.write_text(LOG)
    code, out, _ = cli("--json", str(path))
    assert code == 1
    obj = json.loads(out)  # raises if there is anything but one JSON document
    assert out.count("\n") == 1
    assert obj["category"] == "customizer-failed"
    assert obj["failed_customizer"]["exit_code"] == 1
    assert obj["evidence"][0]["line"] == 2


def test_success_exits_zero_and_lists_warnings(tmp_path):
    path = tmp_path / "customization.log"
    path.write_text(SUCCESS)
    code, out, _ = cli(str(path))
    assert code == 0
    assert "Category:    none" in out and "Will retry" in out


def test_stdin_message_and_pasted_az_error():
    code, out, _ = cli(
        "--json",
        "-",
        stdin=b"ERROR: (QuotaExceeded) Operation could not be completed as it results "
        b"in exceeding approved standardDSv3Family Cores quota.",
    )
    assert code == 1 and json.loads(out)["category"] == "quota-or-capacity"


def test_stdin_log_is_streamed_and_detected_as_log():
    code, out, _ = cli("--json", "-", stdin=LOG.encode())
    assert code == 1 and json.loads(out)["failed_customizer"]["name"] == "powershell"


def test_saved_status_json_and_template(tmp_path):
    status = tmp_path / "show.json"
    status.write_text(
        json.dumps(
            {
                "name": "tpl",
                "provisioningState": "Succeeded",
                "customize": [{"type": "PowerShell", "name": "install-dotnet", "inline": ["x"]}],
                "lastRunStatus": {
                    "runState": "Failed",
                    "message": "Packer build command has failed: exit status 1. "
                    f"Image Build log location: https://a.blob.core.windows.net/packerlogs/f/customization.log. "
                    f"OperationId: {OP}. Use this operationId to search packer logs.",
                },
            }
        )
    )
    log = tmp_path / "customization.log"
    log.write_text(LOG)
    code, out, _ = cli("--json", "--template", str(status), str(log))
    obj = json.loads(out)
    assert code == 1
    assert obj["failed_customizer"]["customizer_name"] == "install-dotnet"
    assert obj["summary"].startswith('Customizer "install-dotnet" (PowerShell, #1) exited with code 1')
    assert obj["operation_id"] == OP
    assert obj["log_url"] == "https://a.blob.core.windows.net/packerlogs/f/customization.log"
    assert obj["advisories"], "--template runs the template advisories"
    assert all({"id", "message", "path"} <= set(a) for a in obj["advisories"])
    # the same status given as an INPUT (not --template) is recognised as well
    code, out, _ = cli("--json", str(status))
    assert code == 1 and json.loads(out)["category"] == "customizer-failed"


def test_arm_error_json_input(tmp_path):
    path = tmp_path / "error.json"
    path.write_text(
        json.dumps(
            {
                "error": {
                    "code": "MissingSubscriptionRegistration",
                    "message": "The subscription is not registered to use namespace "
                    "'Microsoft.VirtualMachineImages'.",
                }
            }
        )
    )
    code, out, _ = cli("--json", str(path))
    assert json.loads(out)["category"] == "provider-not-registered" and code == 1


def test_utf16_powershell_output_file(tmp_path):
    path = tmp_path / "ps-error.txt"
    text = "New-AzImageBuilderTemplate: The assigned managed identity cannot be used. Please remove the existing one.\r\n"  # noqa: E501
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    code, out, _ = cli("--json", str(path))
    assert json.loads(out)["category"] == "managed-identity-invalid" and code == 1


def test_rules_option_overrides(tmp_path):
    rules = tmp_path / "mine.json"
    rules.write_text(
        json.dumps(
            {
                "rules": [
                    {
                        "id": "flux",
                        "category": "service-error",
                        "title": "Flux capacitor",
                        "message_patterns": ["flux capacitor"],
                        "remediation": ["Replace it."],
                        "precedence": 500,
                    }
                ]
            }
        )
    )
    msg = tmp_path / "msg.txt"
    msg.write_text("Build failed: flux capacitor error\n")
    assert json.loads(cli("--json", str(msg))[1])["category"] == "unknown"
    code, out, _ = cli("--json", "--rules", str(rules), str(msg))
    assert json.loads(out)["rule_id"] == "flux" and code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/customization.log"], "/nonexistent/customization.log: no such file"),
        (["--template", "/nonexistent/t.json", "-"], "--template /nonexistent/t.json: no such file"),
        (["--rules", "/nonexistent/r.json", "-"], "--rules /nonexistent/r.json: no such file"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_2(args, message, capsys):
    code, _out, err = cli(*args)
    captured = capsys.readouterr()
    assert code == 2
    assert message in err + captured.err


def test_invalid_rules_and_template_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"rules": [{"id": "x"}]}')
    code, _, err = cli("--rules", str(bad), "-", stdin=b"x")
    assert code == 2 and "entry #0 (x)" in err
    notjson = tmp_path / "t.json"
    notjson.write_text("not json")
    code, _, err = cli("--template", str(notjson), "-", stdin=b"x")
    assert code == 2 and "not a JSON document" in err


def test_module_entry_point_subprocess(tmp_path):
    path = tmp_path / "customization.log"
    path.write_text(LOG)
    proc = subprocess.run(
        [sys.executable, "-m", "diagnosis", "--json", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["category"] == "customizer-failed"
    proc = subprocess.run(
        [sys.executable, "-m", "diagnosis", str(tmp_path / "missing.log")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "no such file" in proc.stderr and proc.stdout == ""
    proc = subprocess.run(
        [sys.executable, "-m", "diagnosis", "-"],
        cwd=ROOT,
        input=SUCCESS,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "none" in proc.stdout


def test_guide_cases_through_the_cli():
    expected = json.loads((CASES / "guide" / "expected.json").read_text())
    for name, category in expected.items():
        code, out, _ = cli("--json", str(CASES / "guide" / name))
        assert json.loads(out)["category"] == category, name
        assert code == 1

"""python -m diagnosis on hostile and unusual inputs: every one ends in a documented exit status and a one-line
message, never a traceback or an unbounded read; pipes, FIFOs and process substitution work like files."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import diagnosis.inputs
from diagnosis import cli as cli_module
from diagnosis.cli import EXIT_INTERNAL, EXIT_USAGE, exit_status, run
from diagnosis.inputs import InputError
from diagnosis.rules import KnowledgeBaseError

from .test_cli import LOG
from .test_status import JSON_SHAPES

ROOT = Path(__file__).resolve().parents[2]
SHOW = ROOT / "tests/diagnosis/cases/templates/install-agent.show.json"
DEEP_ARRAY = b"[" * 100_000
DEEP_VALID = b'{"a":' * 5_000 + b"1" + b"}" * 5_000


def cli(*args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(args), stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == EXIT_USAGE, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def test_directory_is_named_as_a_directory(tmp_path):
    code, _, err = cli(str(tmp_path))
    assert_one_line_error(code, err, str(tmp_path), "is a directory")
    code, _, err = cli("--template", str(tmp_path), "-")
    assert_one_line_error(code, err, "--template", "is a directory")


def test_missing_file_is_named(tmp_path):
    code, _, err = cli(str(tmp_path / "nope.log"))
    assert_one_line_error(code, err, "nope.log: no such file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_read_like_a_file(tmp_path):
    fifo = tmp_path / "customization.log"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as fh:
            fh.write(LOG.encode())

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    code, out, err = cli(str(fifo))
    writer.join(5)
    assert code == 1 and err == ""
    assert "Category:    customizer-failed" in out


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash for process substitution")
def test_process_substitution_for_input_and_template(tmp_path):
    log = tmp_path / "x.log"
    log.write_text(LOG)
    script = f'"{sys.executable}" -m diagnosis --json --template <(cat "{SHOW}") <(cat "{log}")'
    proc = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["category"] == "customizer-failed"
    assert "install-agent" in proc.stdout  # the template named the customizer


def test_dev_null_is_an_empty_input():
    code, out, err = cli("/dev/null")
    assert code == 0 and err == "" and "Category:    none" in out
    code, _, err = cli("--template", "/dev/null", "-")
    assert_one_line_error(code, err, "--template /dev/null: not a JSON document")


def test_template_from_dev_zero_is_refused_after_a_bounded_read():
    code, _, err = cli("--template", "/dev/zero", "-", stdin=LOG.encode())
    assert_one_line_error(code, err, "--template /dev/zero", "larger than 16 MiB")


def test_stream_reads_stop_at_the_limit(monkeypatch):
    monkeypatch.setattr(diagnosis.inputs, "MAX_STREAM_BYTES", 1 << 20)
    code, _, err = cli("-", stdin=LOG.encode() * ((2 << 20) // len(LOG)))
    assert_one_line_error(code, err, "stdin: more than 1 MiB read from standard input")


@pytest.mark.parametrize("document", [DEEP_ARRAY, DEEP_VALID], ids=["unterminated", "valid"])
def test_deeply_nested_json_input(tmp_path, document):
    code, _, err = cli("-", stdin=document)
    assert_one_line_error(code, err, "nested deeper than 200 levels")
    path = tmp_path / "deep.json"
    path.write_bytes(document)
    code, _, err = cli("--template", str(path), "-", stdin=LOG.encode())
    assert code == EXIT_USAGE and "Traceback" not in err


def test_deeply_nested_rules_file_and_setting(tmp_path, monkeypatch):
    path = tmp_path / "rules.json"
    path.write_bytes(DEEP_VALID)
    code, _, err = cli("--rules", str(path), "-", stdin=LOG.encode())
    assert_one_line_error(code, err, f"--rules {path}: JSON nested deeper than 200 levels")
    monkeypatch.setenv("DIAGNOSIS_RULES", str(path))
    code, _, err = cli("-", stdin=LOG.encode())
    assert_one_line_error(code, err, f"DIAGNOSIS_RULES {path}")


def test_rules_directory_and_fifo_are_named(tmp_path):
    code, _, err = cli("--rules", str(tmp_path), "-", stdin=LOG.encode())
    assert_one_line_error(code, err, "is a directory")
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "rules.fifo"
        os.mkfifo(fifo)
        code, _, err = cli("--rules", str(fifo), "-", stdin=LOG.encode())
        assert_one_line_error(code, err, "is a pipe (FIFO); a rules file must be a regular file")


def test_status_json_with_a_number_where_a_string_belongs():
    code, out, err = cli("-", stdin=b'{"properties":{"provisioningState":5}}')
    assert code in (0, 1) and err == ""
    assert "properties.provisioningState should be a string, got a number; ignored" in out


def test_exit_status_map():
    assert exit_status(InputError("x: too big")) == (EXIT_USAGE, "x: too big")
    assert exit_status(KnowledgeBaseError("r.json: bad")) == (EXIT_USAGE, "invalid rules: r.json: bad")
    assert exit_status(RecursionError())[0] == EXIT_USAGE
    assert exit_status(MemoryError())[0] == EXIT_USAGE
    assert exit_status(PermissionError(13, "Permission denied"))[0] == EXIT_USAGE
    assert exit_status(BrokenPipeError()) == (141, "")
    assert exit_status(KeyboardInterrupt())[0] == 130
    assert exit_status(ValueError("bug"))[0] == EXIT_INTERNAL


def test_internal_error_is_one_line_unless_debugging(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("password=hunter2x in a bug report")

    monkeypatch.setattr(cli_module, "diagnose", broken)
    code, _, err = cli("-", stdin=LOG.encode())
    assert code == EXIT_INTERNAL and err.count("\n") == 1 and "Traceback" not in err
    assert "ValueError" in err and "hunter2x" not in err
    monkeypatch.setenv("DIAGNOSIS_DEBUG", "1")
    code, _, err = cli("-", stdin=LOG.encode())
    assert code == EXIT_INTERNAL and "Traceback" in err


def test_closed_output_pipe_exits_quietly():
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    err = io.StringIO()
    code = run(["-"], stdin=io.BytesIO(LOG.encode()), stdout=ClosedPipe(), stderr=err)
    assert code == 141 and err.getvalue() == ""


def test_real_process_on_nested_json_prints_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "diagnosis", "-"], input=DEEP_ARRAY, cwd=ROOT, capture_output=True, timeout=120
    )
    assert proc.returncode == EXIT_USAGE
    assert b"Traceback" not in proc.stderr and b"nested deeper" in proc.stderr


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_SHAPES)
def test_any_status_or_template_json_ends_in_a_documented_exit_status(document):
    data = json.dumps(document).encode()
    code, out, err = cli("--json", "-", stdin=data)
    assert code in (0, 1, EXIT_USAGE), err
    assert "Traceback" not in err
    if code == EXIT_USAGE:
        assert err.startswith("error: ")
    else:
        json.loads(out)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_endless_binary_devices_are_refused_at_once(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    code, _, err = cli(device)
    assert_one_line_error(code, err, f"{device}: binary data")


def test_binary_file_and_stdin_are_refused_but_utf16_logs_are_read(tmp_path):
    import gzip

    packed = tmp_path / "customization.log.gz"
    packed.write_bytes(gzip.compress(os.urandom(4096)))
    code, _, err = cli(str(packed))
    assert_one_line_error(code, err, "binary data")
    code, _, err = cli("-", stdin=b"\x00" * 100_000)
    assert_one_line_error(code, err, "stdin: binary data")
    utf16 = tmp_path / "utf16.log"
    utf16.write_bytes(b"\xff\xfe" + (LOG * 20).encode("utf-16-le"))
    code, out, err = cli(str(utf16))
    assert code == 1 and err == "" and "customizer-failed" in out


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r\r\n", b"\r"])
def test_windows_and_old_mac_line_ends_read_as_line_feeds(line_end):
    report = LOG.encode().replace(b"\n", line_end)
    plain = cli("-", stdin=LOG.encode())
    assert cli("-", stdin=report) == plain


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.lists(st.sampled_from(["{", "[", "}", "]", '"', ":", ",", "1", "null", LOG[:120], "\n"]), max_size=60).map(
            lambda parts: "".join(parts).encode()
        ),
    )
)
def test_any_bytes_on_stdin_end_in_a_documented_exit_status(data):
    code, _, err = cli("-", stdin=data)
    assert code in (0, 1, EXIT_USAGE), err
    assert "Traceback" not in err


@pytest.mark.parametrize("first", [b"{ not json, ", b"plain text, "])
def test_input_larger_than_the_text_limit_is_read_whole(monkeypatch, first):
    """A long input that is neither JSON nor a log is streamed like a log from its first byte to its last."""
    monkeypatch.setattr(cli_module, "MAX_TEXT", 1000)
    data = first + b"x" * (cli_module.HEAD + 5000) + b"\nError: the build failed at the very end\n"
    kind, value = cli_module._classify("input", io.BytesIO(data))
    assert kind == "log"
    assert b"".join(value) == data


def test_pasted_output_with_web_page_spaces_reads_as_printed():
    """A short input copied from a web page (no-break spaces, HTML entities) reads as the program printed it."""
    printed = LOG
    pasted = printed.replace(" ", "\u00a0").replace('"', "&quot;").replace(">", "&gt;")
    kind, value = cli_module._classify("input", io.BytesIO(pasted.encode()))
    assert kind == "log"
    assert b"".join(value).decode() == printed


STATUS_ABOVE_EXCERPT = (
    "Failed while waiting for packerizer: Timeout waiting for microservice to complete: 'context deadline exceeded'\n"
    "[7c3e9a12-4b5d-4e8f-9a61-2f0d3c5b8e71] PACKER OUT ==> azure-arm: Provisioning with powershell script: "
    "/tmp/powershell-provisioner1\n"
    "[7c3e9a12-4b5d-4e8f-9a61-2f0d3c5b8e71] PACKER OUT     azure-arm: Installing Visual Studio ...\n"
)


def test_status_message_pasted_above_a_log_excerpt_is_read_as_the_message():
    """A run's status message pasted above customization.log lines states the failure; the excerpt after it has
    no end of its own, and the message's line is no log line the build got past."""
    kind, value = cli_module._classify("input", io.BytesIO(STATUS_ABOVE_EXCERPT.encode()))
    assert kind == "text+log"
    assert value[0].startswith("Failed while waiting for packerizer")
    code, out, _ = cli("--json", "-", stdin=STATUS_ABOVE_EXCERPT.encode())
    assert code == 1
    assert json.loads(out)["category"] == "build-timeout"


@pytest.mark.parametrize(
    "first",
    [
        "2017/11/02 14:30:17 packer: 2017/11/02 14:30:17 starting remote command: rm -f /tmp/script_8023.sh\n",
        "==> azure-arm: Provisioning with shell script: /tmp/script.sh\n",
        "    amazon-ebs: Installing packages\n",
    ],
)
def test_a_paste_that_starts_with_log_lines_has_no_preamble(first):
    """Packer's own log lines above the first customization.log-shaped line stay in the log."""
    kind, _ = cli_module._classify("input", io.BytesIO((first + LOG).encode()))
    assert kind == "log"


@pytest.mark.parametrize(
    "data",
    [
        STATUS_ABOVE_EXCERPT.encode(),  # a message above a log excerpt
        LOG.encode(),  # a customization.log
        SHOW.read_bytes(),  # az image builder show JSON
        b'{"error": {"code": "AuthorizationFailed", "message": "The client does not have authorization"}}',
        b"E: Unable to locate package contoso-agent\n",  # pasted error output
        b"  \n\n",  # blank
    ],
    ids=["text+log", "log", "template", "arm-error", "text", "blank"],
)
def test_one_input_is_read_alike_by_the_command_line_and_diagnose_input(data):
    """diagnose_input (what the accuracy benchmark calls) reads an input as `python -m diagnosis -` does."""
    from diagnosis import load_knowledge_base

    by_api = cli_module.diagnose_input(data, load_knowledge_base(use_env=False)).to_dict()
    _code, out, err = cli("--json", "-", stdin=data)
    assert not err
    by_cli = json.loads(out)
    for key in ("category", "rule_id", "phase", "summary"):
        assert by_api[key] == by_cli[key], key


@pytest.mark.parametrize(
    "wrap",
    [
        lambda text: {"message": text},  # a webhook's payload
        lambda text: [{"code": "ComponentStatus/StdOut/succeeded", "message": text}],  # az vm run-command invoke
        lambda text: text,  # the text as one JSON string
    ],
)
def test_a_text_of_several_lines_inside_json_reads_as_the_text_itself(wrap):
    """A multi-line string in JSON that is no template or status (a payload's message, a command's output) is read
    as if pasted alone: a customization.log excerpt in it is scanned as a log."""
    code, plain, _ = cli("--json", "-", stdin=LOG.encode())
    code_json, wrapped, err = cli("--json", "-", stdin=json.dumps(wrap(LOG)).encode())
    assert err == "" and code_json == code
    assert json.loads(wrapped)["category"] == json.loads(plain)["category"] != "none"
    assert json.loads(wrapped)["evidence"] == json.loads(plain)["evidence"]

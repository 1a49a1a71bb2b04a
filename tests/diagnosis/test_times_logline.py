"""The one time parser, the one duration formatter and the Packer log-line grammar."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from diagnosis.logline import message, parse_line
from diagnosis.times import find_time, format_duration, format_utc, iso, parse_time, seconds_between


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-30T23:28:50Z", datetime(2024, 4, 30, 23, 28, 50, tzinfo=UTC)),
        ("2024-04-30T23:28:50.1234567Z", datetime(2024, 4, 30, 23, 28, 50, 123456, tzinfo=UTC)),
        ("2024-04-30T23:28:50+02:00", datetime(2024, 4, 30, 21, 28, 50, tzinfo=UTC)),
        ("2024-04-30 23:28:50", datetime(2024, 4, 30, 23, 28, 50, tzinfo=UTC)),
        ("2024/04/30 23:28:50", datetime(2024, 4, 30, 23, 28, 50, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("2024-13-01T00:00:00Z", None),
        ("yesterday", None),
        ("", None),
        (5, None),
        (None, None),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_naive_datetime_is_utc_and_aware_is_converted():
    assert parse_time(datetime(2024, 1, 1, 10)) == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert iso(parse_time("2024-01-01T12:00:00+02:00")) == "2024-01-01T10:00:00Z"


def test_find_time_in_a_log_line():
    line = "[0f0e] PACKER ERR 2024/04/30 23:28:50 ui error: ==> azure-arm: failed"
    assert find_time(line) == datetime(2024, 4, 30, 23, 28, 50, tzinfo=UTC)
    assert find_time("no time here") is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (12, "12 s"), (89, "89 s"), (420, "7 min"), (15600, "4 h 20 min"), (14400, "4 h"),
     (3 * 86400 + 3 * 3600, "3 d 3 h"), (None, "")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_format_utc_and_seconds_between():
    assert format_utc("2024-04-30T23:28:50Z") == "2024-04-30 23:28 UTC"
    assert format_utc("garbage") == "garbage"
    assert seconds_between("2024-01-01T10:00:00Z", "2024-01-01T14:20:00Z") == 15600
    assert seconds_between("2024-01-01T10:00:00Z", None) is None


OP = "[5e819c65-767c-4722-96c5-15db701d34b1]"


def test_packer_line_shapes():
    line = parse_line(f"{OP} PACKER ERR 2024/12/23 16:27:00 ui error: ==> azure-arm: Script exited: 127")
    assert (line.operation_id, line.stream, line.ui, line.builder) == (OP[1:-1], "ERR", "ui error", "azure-arm")
    assert line.message == "Script exited: 127" and line.step_output and line.is_ui_error
    assert line.time == datetime(2024, 12, 23, 16, 27, tzinfo=UTC)

    plugin = parse_line(
        f"{OP} PACKER ERR 2024/04/30 23:28:50 packer-provisioner-shell plugin: 2024/04/30 23:28:51 [INFO] RPC x"
    )
    assert plugin.plugin == "packer-provisioner-shell plugin" and plugin.level == "INFO"
    assert plugin.time == datetime(2024, 4, 30, 23, 28, 51, tzinfo=UTC) and plugin.message == "RPC x"

    out = parse_line(f"{OP} PACKER OUT     azure-arm: IMAGE_STATE_UNDEPLOYABLE")
    assert out.message == "IMAGE_STATE_UNDEPLOYABLE" and not out.step_output and out.packer

    # a build's name: "vhd" (runner-images' azure-arm build) with or without the arrow, any name after the arrow
    vhd = parse_line("    vhd: Error 0x8013153b: Failed install")
    assert (vhd.builder, vhd.step_output, vhd.message) == ("vhd", False, "Error 0x8013153b: Failed install")
    named = parse_line("==> windows-2019: Script exited with non-zero exit status: 1")
    assert (named.builder, named.step_output) == ("windows-2019", True)
    for text in ("    Error: bad request", "==> Some builds didn't complete successfully and had errors:"):
        assert parse_line(text).builder is None, text

    # a CI system's stamp before Packer's line (Jenkins' timestamper)
    for text in ("11:01:17     azure-arm: [Errno 14] HTTPS Error 404", "[2022-09-09T10:25:14.366Z] azure-arm: x"):
        assert parse_line(text).builder == "azure-arm", text

    machine = parse_line(f"{OP} PACKER ERR 2019/11/26 06:54:32 machine readable: azure-arm,error []string{{}}")
    assert machine.ui == "machine readable" and machine.message.startswith("azure-arm,error")


def test_bare_lines_keep_their_text():
    assert message("==> azure-arm: Deleting resource group ...") == "Deleting resource group ..."
    assert message("Install-Package : No match was found") == "Install-Package : No match was found"
    assert not parse_line("plain").packer


def test_a_huge_line_parses_in_linear_time():
    start = time.process_time()
    parse_line(f"{OP} PACKER ERR " + "a" * 5_000_000)
    parse_line("[" * 2_000_000)
    assert time.process_time() - start < 1.0

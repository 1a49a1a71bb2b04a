"""`checkov -d infra` reports no failed check, parses everything, and every skip says why beside it.

checkov runs once per test session (a few seconds) with the options the README gives: all frameworks that find
files in infra/ (the reviewer runs plain `checkov -d infra`), compact JSON, no download of external guidelines
(this machine has no internet). Not --quiet: the report must list the skipped checks too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep import INFRA, REPO

# one test process runs this module, so its module fixture runs once
pytestmark = pytest.mark.xdist_group("checkov")

# The checkov of this virtualenv; CHECKOV=/path/to/checkov tries another version.
CHECKOV = Path(os.environ.get("CHECKOV") or Path(sys.executable).with_name("checkov"))
SKIP_COMMENT = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")


@pytest.fixture(scope="module")
def checkov_runs() -> tuple[list[dict[str, Any]], set[str]]:
    """One scan of infra/ and the list of checks this checkov knows, run side by side (each takes seconds)."""
    assert CHECKOV.exists(), f"checkov is not installed in {CHECKOV.parent} (requirements-dev.txt)"
    options = {"cwd": REPO, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    scan = subprocess.Popen(
        [str(CHECKOV), "-d", str(INFRA), "--compact", "--skip-download", "-o", "json"], **options
    )
    listing = subprocess.Popen([str(CHECKOV), "--list", "--framework", "bicep"], **options)
    scan_out, scan_err = scan.communicate(timeout=240)
    list_out, list_err = listing.communicate(timeout=240)
    # Exit code 1 means failed checks; anything else non-zero is checkov itself failing.
    assert scan.returncode in (0, 1), f"checkov crashed ({scan.returncode}): {scan_err[-2000:]}"
    assert listing.returncode == 0, list_err[-2000:]
    report, _ = json.JSONDecoder().raw_decode(scan_out)
    ids = set(re.findall(r"\|\s*(CKV2?_AZURE_\d+)\s*\|", list_out))
    assert len(ids) > 20, list_out[:500]
    return (report if isinstance(report, list) else [report]), ids


@pytest.fixture(scope="module")
def checkov_reports(checkov_runs) -> list[dict[str, Any]]:
    return checkov_runs[0]


@pytest.fixture(scope="module")
def known_check_ids(checkov_runs) -> set[str]:
    """The ids of the checks this checkov version runs on Bicep (newer versions have more)."""
    return checkov_runs[1]


def _all(reports: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [c for r in reports for c in r.get("results", {}).get(kind, [])]


def test_checkov_scans_the_bicep(checkov_reports) -> None:
    bicep = [r for r in checkov_reports if r.get("check_type") == "bicep"]
    assert bicep, f"checkov found no Bicep: {[r.get('check_type') for r in checkov_reports]}"
    assert bicep[0]["summary"]["resource_count"] > 0
    assert bicep[0]["summary"]["passed"] > 0


def test_checkov_reports_no_failed_check(checkov_reports) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in _all(checkov_reports, "failed_checks")
    ]
    assert failed == []


def test_checkov_parses_every_file(checkov_reports) -> None:
    errors = {r.get("check_type"): r["summary"].get("parsing_errors") for r in checkov_reports}
    assert all(count == 0 for count in errors.values()), errors


def test_every_skip_has_a_reason_beside_it(checkov_reports) -> None:
    skipped = _all(checkov_reports, "skipped_checks")
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.strip()) >= 40, (
            f"{check['check_id']} on {check['resource']}: no real reason ({reason!r})"
        )


def test_every_skip_comment_is_used(checkov_reports, known_check_ids) -> None:
    """A skip comment for a check that does not run (wrong id, or placed outside the resource) is noise.

    Skips of checks that only newer checkov versions have are kept (requirements-dev.txt allows any 3.x
    from 3.2 on, and a fresh install gets the newest): they must be unknown to this version, not unused.
    """
    used = {
        (Path(c["file_abs_path"]).resolve(), c["check_id"]) for c in _all(checkov_reports, "skipped_checks")
    }
    for path in sorted(INFRA.rglob("*")):
        if not path.is_file():
            continue
        for match in SKIP_COMMENT.finditer(path.read_text(encoding="utf-8", errors="replace")):
            check_id, reason = match.group(1), (match.group(2) or "").strip()
            assert reason, f"{path.name}: skip of {check_id} without a reason"
            if check_id in known_check_ids:
                assert (path.resolve(), check_id) in used, f"{path.name}: skip of {check_id} matches nothing"

"""``python -m devtools.demo`` (``make demo``) run as a user would (a subprocess, nothing configured)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# one test process runs this module, so its module fixture runs once
pytestmark = pytest.mark.xdist_group("demo")

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ("win2022-iis", "ubuntu2204-base", "win2019-base", "rhel9-hardened")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("demo")  # the demo writes ./.demo; run it outside the checkout
    workdir = cwd / ".demo"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    # Settings from the developer's shell must not leak into the demo (it must work with nothing configured).
    env.update({"TEAMS_WEBHOOK_URL": "https://example.invalid/not-this", "ALERT_DIR": "/nonexistent"})
    proc = subprocess.run(
        [sys.executable, "-m", "devtools.demo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    return proc, workdir


def _section(out: str, start: str, end: str) -> str:
    return out[out.index(start) : out.index(end, out.index(start))]


def test_demo_runs_and_says_what_it_did(demo):
    proc, _ = demo
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for name in TEMPLATES:
        assert name in out
    assert "Traceback" not in proc.stderr
    assert "the local cloud is stopped" in out


def test_demo_alerts_one_per_problem_and_none_for_the_good_build(demo):
    proc, workdir = demo
    alerts = [json.loads(p.read_text()) for p in sorted((workdir / "alerts").glob("*.json"))]
    by_template = {}
    for alert in alerts:
        by_template.setdefault(alert["template_name"], []).append(alert)
    assert [a["kind"] for a in by_template["win2022-iis"]] == ["build-failed"]
    assert by_template["win2022-iis"][0]["category"] == "customizer-failed"
    assert [a["kind"] for a in by_template["ubuntu2204-base"]] == ["build-stuck"]
    assert [a["kind"] for a in by_template["rhel9-hardened"]] == ["submission-failed"]
    assert "win2019-base" not in by_template
    assert len(alerts) == 3

    section = _section(proc.stdout, "Alerts (", "Sweep 2")
    lines = [line for line in section.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert len(lines) == 3
    assert any("build-failed" in ln and "win2022-iis" in ln and "customizer-failed" in ln for ln in lines)
    assert any("build-stuck" in line and "ubuntu2204-base" in line for line in lines)
    assert any("submission-failed" in line and "rhel9-hardened" in line for line in lines)


def test_demo_archives_the_failed_log_and_shows_sizes(demo):
    proc, _ = demo
    section = _section(proc.stdout, "Archived (", "Alerts (")
    failed = [ln for ln in section.splitlines() if "/win2022-iis/" in ln and "customization.log" in ln]
    assert len(failed) == 1
    size = int(re.search(r"([\d,]+) bytes", failed[0]).group(1).replace(",", ""))
    assert size > 1000


def test_second_sweep_repeats_nothing(demo):
    proc, _ = demo
    match = re.search(r"Second sweep: (\d+) new alerts, (\d+) new archive files", proc.stdout)
    assert match, proc.stdout
    assert match.groups() == ("0", "0")
    assert "repeated:" not in proc.stdout


def test_demo_leaves_no_process_running(demo):
    _, workdir = demo
    # Every process the demo started had the demo's folder on its command line (Azurite's data folder, the
    # local endpoints' state): none may survive it.
    survivors = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(workdir) in text:
            survivors.append(text)
    assert not survivors


def test_demo_leaves_a_plain_copy_of_the_archive_and_says_what_to_open(demo):
    proc, workdir = demo
    runs = sorted((workdir / "archive" / "rg-images-prod" / "win2022-iis").iterdir())
    assert len(runs) == 1
    files = {p.name for p in runs[0].iterdir()}
    assert {"customization.log", "status.json", "diagnosis.json"} <= files
    assert json.loads((runs[0] / "diagnosis.json").read_text())["category"] == "customizer-failed"
    assert "PACKER" in (runs[0] / "customization.log").read_text(encoding="utf-8", errors="replace")
    assert "Open first: .demo/archive/rg-images-prod/win2022-iis/" in proc.stdout


def test_demo_ends_with_the_history_of_what_it_archived(demo):
    proc, _ = demo
    history = proc.stdout[proc.stdout.index("History of the archive") :]
    assert "3 failed or stuck run(s)" in history
    for name, category in (("win2022-iis", "customizer-failed"), ("rhel9-hardened", "permissions")):
        assert any(name in line and category in line for line in history.splitlines())
    assert "by category:" in history


def test_demo_in_russian(tmp_path):
    """ALERT_LANGUAGE=ru make demo: the same run, every alert text in Russian."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), ALERT_LANGUAGE="ru")
    proc = subprocess.run(
        [sys.executable, "-m", "devtools.demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    texts = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / ".demo" / "alerts").glob("*.txt")}
    assert len(texts) == 3
    for name, text in texts.items():
        assert "Причина" in text and "Что делать" in text, name
    assert "завершился с кодом 1" in proc.stdout

"""The README cannot drift: its runnable examples are run and their output compared with what it shows.

A fenced ``console`` block right after a ``<!-- runnable -->`` line is an example: its ``$ `` lines are
commands (a trailing ``\\`` continues one), the other lines the output the README promises. An example's commands
run in one shell at the repository root with the project's virtualenv first on PATH. Every shown output line must
appear in the real output, in the same order (the README may leave lines out); ids, times, durations, sizes and
ports may differ, and a shown line ending in ``…`` only needs the real line to begin the same way.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARK = "<!-- runnable -->"

_NORMALIZE = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I), "<id>"),
    (re.compile(r"\b[0-9a-f]{4,}-…"), "<id>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b"), "<id>"),
    (re.compile(r"\b\d{8}T\d{6}Z\b"), "<time>"),
    (re.compile(r"\d{4}[-/]\d\d[-/]\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?Z?(?: UTC)?"), "<time>"),
    (re.compile(r"127\.0\.0\.1:\d+|localhost:\d+|<port>"), "<host>"),
    (re.compile(r"\d[\d,]*(?:\.\d+)?"), "<n>"),
    (re.compile(r"[ \t]+"), " "),
)


@dataclass
class Example:
    line: int  # README line of the block's opening fence
    commands: list[str]
    shown: list[str]


def examples(text: str) -> list[Example]:
    lines = text.splitlines()
    found: list[Example] = []
    for i, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        fence = i + 1
        assert lines[fence].startswith("```console"), f"README line {fence + 1}: {MARK} must precede ```console"
        commands: list[str] = []
        shown: list[str] = []
        j = fence + 1
        pending = ""
        while not lines[j].startswith("```"):
            row = lines[j]
            if pending or row.startswith("$ "):
                part = row[2:] if row.startswith("$ ") and not pending else row
                pending += part.rstrip("\\").rstrip() + " " if row.endswith("\\") else ""
                if not row.endswith("\\"):
                    commands.append((pending + part).strip() if pending else part.strip())
                    pending = ""
            else:
                shown.append(row)
            j += 1
        found.append(Example(fence + 1, commands, shown))
    return found


def normalize(line: str) -> str:
    for pattern, repl in _NORMALIZE:
        line = pattern.sub(repl, line)
    return line.strip()


def missing_lines(shown: list[str], actual: list[str]) -> list[str]:
    """The shown lines that do not appear, in order, among the actual ones (empty: the output matches)."""
    real = [normalize(a) for a in actual]
    pos = 0
    missing: list[str] = []
    for want in shown:
        norm = normalize(want)
        if not norm:
            continue
        prefix = norm.endswith("…")
        stem = norm.rstrip("…").rstrip()
        for k in range(pos, len(real)):
            if (real[k].startswith(stem) if prefix else real[k] == norm):
                pos = k + 1
                break
        else:
            missing.append(want)
    return missing


def run(command: str) -> str:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    # `make demo` here runs the demo only: its install steps belong to `make`, not to a test that runs beside others.
    env["MAKEFLAGS"] = "-o node_modules/.azurite -o .venv/.runtime"
    proc = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    return proc.stdout + proc.stderr


def test_the_readme_has_runnable_examples():
    assert len(examples(README.read_text(encoding="utf-8"))) >= 2


def test_the_comparison_catches_a_changed_line():
    actual = ["Category:    customizer-failed - A script failed (confidence 0.80)", "Phase: customize"]
    assert missing_lines(["Category:    customizer-failed - A script failed (confidence 0.75)"], actual) == []
    assert missing_lines(["Category:    permissions - A script failed (confidence 0.80)"], actual)
    assert missing_lines(["Phase: customize", "Category:    customizer-failed …"], actual)  # order matters
    assert missing_lines(["Category:    customizer-failed - A …"], actual) == []


@pytest.mark.parametrize("example", examples(README.read_text(encoding="utf-8")), ids=lambda e: f"line{e.line}")
def test_readme_example_output_matches(example: Example):
    output = run("\n".join(example.commands))  # one shell: `echo $?` sees the previous command
    missing = missing_lines(example.shown, output.splitlines())
    assert not missing, (
        f"README.md line {example.line}: these shown lines are not in the real output of "
        f"{example.commands}:\n" + "\n".join(missing) + "\n--- real output ---\n" + output[-4000:]
    )

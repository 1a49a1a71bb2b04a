"""The README's Diagnosis example is the real output of the command it shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_console_example_is_real_cli_output():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("<!-- section:diagnosis -->") : readme.index("<!-- /section:diagnosis -->")]
    example = re.compile(r"```console\n\$ python -m diagnosis (.+?) \\\n\s+(\S+)\n(.*?)\$ echo \$\?\n(\d+)\n```", re.S)
    m = example.search(section)
    assert m, "the console example is missing from the Diagnosis section"
    args = [*m.group(1).split(), m.group(2)]
    run = subprocess.run(
        [sys.executable, "-m", "diagnosis", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.stdout == m.group(3)
    assert str(run.returncode) == m.group(4)

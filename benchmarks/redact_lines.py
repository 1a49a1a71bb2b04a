"""Cost of ``diagnosis.redact.redact`` on 10,000 typical log lines.

Two line sets: a generated realistic customization.log (``benchmarks/_loggen.py``) and the lines of every test
case under ``tests/diagnosis/cases`` (real reports, variants, guide samples), each cycled to 10,000 lines.
Prints the best of five runs per set, in milliseconds and microseconds per line.

    python benchmarks/redact_lines.py
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _loggen import generate  # noqa: E402

from diagnosis.redact import redact  # noqa: E402

LINES = 10_000


def generated_lines() -> list[str]:
    text = b"".join(generate(4 << 20)).decode("utf-8", "replace")
    return list(itertools.islice(itertools.cycle(text.splitlines()), LINES))


def case_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted((ROOT / "tests" / "diagnosis" / "cases").rglob("*.txt")):
        lines.extend(path.read_text(encoding="utf-8", errors="replace").splitlines())
    return list(itertools.islice(itertools.cycle(lines), LINES))


def best_of(lines: list[str], runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        for line in lines:
            redact(line)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    for name, lines in (("generated customization.log", generated_lines()), ("test-case lines", case_lines())):
        seconds = best_of(lines)
        print(f"{name:28} {len(lines):,} lines: {seconds * 1000:7.1f} ms ({seconds / len(lines) * 1e6:.2f} µs/line)")


if __name__ == "__main__":
    main()

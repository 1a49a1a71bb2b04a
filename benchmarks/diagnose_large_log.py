"""Benchmark: diagnose a large customization.log with the CLI, against `grep -c -E` with the KB's patterns.

Generates a realistic log (default 500 MB, the failure at the end) in a temporary directory, then in the same
run times

* ``grep -c -E -f <patterns>``: every log pattern of the knowledge base, translated to POSIX ERE, and
* ``python -m diagnosis --json <log>``: the whole CLI (start-up, knowledge-base load, streaming scan, report),

and prints throughput (MB/s), the ratio CLI/grep, and the peak RSS of the CLI process (from wait4's rusage).
The issue's targets: ratio <= 8, peak RSS <= 100 MB.

    python benchmarks/diagnose_large_log.py [--size-mb 500] [--runs 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from diagnosis.rules import load_knowledge_base  # noqa: E402

_ESCAPES = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "s": "[[:space:]]",
    "S": "[^[:space:]]",
    "w": "[[:alnum:]_]",
    "W": "[^[:alnum:]_]",
    "b": "\\b",
}


def to_ere(pattern: str) -> str | None:
    """Translate the Python regex subset of the KB into POSIX ERE (GNU grep); None if impossible."""
    ignore_case = pattern.startswith("(?i)")
    if ignore_case:
        pattern = pattern[4:]
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt == "n":
                return None
            elif nxt.isalnum():
                return None  # back-references and other escapes grep -E does not share
            elif nxt in ".[]()*+?{}|^$\\":
                out.append("\\" + nxt)
            else:
                out.append(nxt)  # \# \" \' \- \/ \: -> the plain character
            i += 2
            continue
        if c == "(" and pattern.startswith("(?", i):
            if pattern.startswith("(?:", i):
                out.append("(")
                i += 3
                continue
            return None  # look-arounds, inline flags in the middle
        if c == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "^":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            while j < len(pattern) and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            body = pattern[i + 1 : j]
            if body == "^\\n":
                out.append(".")
            elif body == "\\s\\S":
                out.append("(.|[[:space:]])")
            else:
                neg = body.startswith("^")
                chars = body[1:] if neg else body
                chars = chars.replace("\\n", "").replace("\\]", "]").replace("\\[", "[").replace("\\-", "-")
                chars = chars.replace("\\d", "0-9").replace("\\s", "[:space:]").replace("\\w", "[:alnum:]_")
                if "]" in chars:
                    chars = "]" + chars.replace("]", "")
                out.append("[" + ("^" if neg else "") + chars + "]")
            i = j + 1
            continue
        if ignore_case and c.isalpha():
            out.append(f"[{c.lower()}{c.upper()}]")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def kb_patterns() -> tuple[list[str], int]:
    kb = load_knowledge_base(use_env=False)
    translated, skipped = [], 0
    for p in kb.patterns(log=True, message=False):
        ere = to_ere(p.source)
        if ere is None:
            skipped += 1
        else:
            translated.append(ere)
    return sorted(set(translated)), skipped


def generate(path: Path, size: int) -> dict:
    try:
        from localazure.samplelogs import write_large_log
    except ImportError:
        sys.path.insert(0, str(Path(__file__).parent))
        from _loggen import generate as local_generate

        with path.open("wb") as fh:
            for chunk in local_generate(size):
                fh.write(chunk)
        return {"generator": "benchmarks/_loggen.py", "expected_category": "customizer-failed"}
    info = write_large_log(path, size, "customizer")
    return {
        "generator": "localazure.samplelogs.write_large_log",
        "expected_category": info.expected_category,
        "failed_customizer": info.failed_customizer,
        "exit_code": info.exit_code,
    }


def timed(cmd: list[str]) -> tuple[float, int, str, str]:
    """Run cmd; return (seconds, exit code, stdout, stderr)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    return (
        elapsed,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def peak_rss(cmd: list[str]) -> tuple[float, int, bytes]:
    """Run cmd with wait4 to get this child's own peak RSS (KB) and wall time."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=devnull, cwd=ROOT)
        _pid, _status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(_status)
        elapsed = time.perf_counter() - start
        out.seek(0)
        return elapsed, usage.ru_maxrss, out.read()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=500)
    ap.add_argument("--runs", type=int, default=2, help="timed runs of each command (best is reported)")
    ap.add_argument("--keep", metavar="DIR", help="write the log here and keep it")
    args = ap.parse_args()
    if shutil.which("grep") is None:
        print("grep not found", file=sys.stderr)
        return 2
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="aib-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        log = workdir / "customization.log"
        t0 = time.perf_counter()
        meta = generate(log, args.size_mb * 1_000_000)
        size = log.stat().st_size
        print(
            f"log: {size / 1e6:.0f} MB generated in {time.perf_counter() - t0:.1f} s by {meta['generator']}"
        )
        patterns, skipped = kb_patterns()
        pattern_file = workdir / "kb-patterns.ere"
        pattern_file.write_text("\n".join(patterns) + "\n")
        print(f"grep patterns: {len(patterns)} KB log patterns as ERE ({skipped} not translatable, left out)")
        # warm the page cache so both commands read from memory
        subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)

        grep_cmd = ["grep", "-c", "-E", "-f", str(pattern_file), str(log)]
        cli_cmd = [sys.executable, "-m", "diagnosis", "--json", str(log)]
        grep_times, cli_times, rss = [], [], []
        result: dict = {}
        grep_count = ""
        for _ in range(args.runs):
            g = timed(grep_cmd)
            if g[1] not in (0, 1):
                print(f"grep failed: {g[3]}", file=sys.stderr)
                return 2
            grep_times.append(g[0])
            grep_count = g[2].strip()
            elapsed, maxrss_kb, out = peak_rss(cli_cmd)
            cli_times.append(elapsed)
            rss.append(maxrss_kb)
            result = json.loads(out)
        grep_best, cli_best = min(grep_times), min(cli_times)
        ratio = cli_best / grep_best
        mb = size / 1e6
        print(f"grep -c -E : {grep_best:6.2f} s  {mb / grep_best:7.1f} MB/s  ({grep_count} matching lines)")
        print(f"diagnosis  : {cli_best:6.2f} s  {mb / cli_best:7.1f} MB/s  peak RSS {max(rss) / 1024:.1f} MB")
        print(f"ratio diagnosis/grep: {ratio:.2f}  (target <= 8)   peak RSS target <= 100 MB")
        fc = result.get("failed_customizer") or {}
        print(f"result: {result['category']} - {result['summary']}")
        ok = result["category"] == meta["expected_category"]
        if meta.get("exit_code") is not None:
            ok = ok and fc.get("exit_code") == meta["exit_code"]
        print("diagnosis matches the generated failure" if ok else "WRONG DIAGNOSIS")
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: diagnose large customization.logs of several line mixes with the CLI, against two greps.

For each mix of ``benchmarks/_loggen.py`` (apt, windows-update, bookkeeping, keywords, all-match, error-lines) it
generates a log (default 500 MB; the failure at the end) in a temporary directory, then in the same run times

* ``LC_ALL=C grep -c -E -f <patterns> <log> > <file>``: every log pattern of the knowledge base, translated to
  POSIX ERE, matched as bytes (grep's output goes to a file: with stdout on /dev/null GNU grep stops at the first
  match); a counted repeat with a bound above 8 (``{1,200}``) becomes ``+`` or ``*``, since GNU grep's DFA grows
  with the bound and would time its own construction instead of the scan,
* ``LC_ALL=C grep -c -i -E 'error|fail' <log> > <file>``: what an engineer types to find the failure by hand, and
* ``python -m diagnosis --json <log>`` once per scanning backend (``DIAGNOSIS_SCAN_BACKEND``): the whole CLI
  (start-up, knowledge-base load, streaming scan, report),

and prints per mix and backend: wall seconds, MB/s, CPU seconds (user + system, from wait4's rusage: comparable
on a machine others load too) and the CLI's CPU time over each grep's, the CLI's peak RSS and whether the
diagnosis is the expected one; the exit status is 1 when a diagnosis is wrong. Targets (default install, i.e. the
hyperscan backend): all-match and error-lines within 3x the time of a realistic mix, peak RSS <= 100 MB. The KB grep
is a reference, not a target: the realistic mixes take 2.8-4.8x its CPU at 50 MB (docs/scanning.md).

    python benchmarks/diagnose_large_log.py [--size-mb 500] [--mixes apt,bookkeeping] [--backends hyperscan]
        [--runs 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from _loggen import MIXES, generate  # noqa: E402

from diagnosis.rules import load_knowledge_base  # noqa: E402
from diagnosis.scan import hs_backend  # noqa: E402

_ESCAPES = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "s": "[[:space:]]",
    "S": "[^[:space:]]",
    "w": "[[:alnum:]_]",
    "W": "[^[:alnum:]_]",
    "b": "\\b",
}


_COUNTED = re.compile(r"\{(\d+)(?:,(\d*))?\}")
_MAX_BOUND = 8


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
                bracket = "\\]" in chars  # a literal ']' must come first in a POSIX bracket expression
                chars = chars.replace("\\n", "").replace("\\]", "").replace("\\[", "[").replace("\\-", "-")
                chars = chars.replace("\\d", "0-9").replace("\\s", "[:space:]").replace("\\w", "[:alnum:]_")
                if bracket:
                    chars = "]" + chars
                out.append("[" + ("^" if neg else "") + chars + "]")
            i = j + 1
            continue
        if c == "{":
            m = _COUNTED.match(pattern, i)
            if m is not None:
                low, high = int(m.group(1)), m.group(2)
                if high == "" or (high is not None and int(high) > _MAX_BOUND) or (high is None and low > _MAX_BOUND):
                    out.append("*" if low == 0 else "+" if low == 1 else f"{{{low},}}")
                else:
                    out.append(m.group(0))
                i = m.end()
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
        if ere is not None:  # grep reads one pattern per line and never sees a line feed
            ere = ere.replace("[^\n]", ".")
            ere = None if "\n" in ere else ere
        if ere is None:
            skipped += 1
        else:
            translated.append(ere)
    return sorted(set(translated)), skipped


def _wait(proc: subprocess.Popen, start: float) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (KB) of one child, from wait4."""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


# grep reads bytes, as the scanner does: under a UTF-8 locale GNU grep decodes every line against hundreds of
# patterns and runs about ten times slower, which would flatter the ratio
GREP_ENV = dict(os.environ, LC_ALL="C")
# what an engineer types to find the failure in a log by hand
WORDS_GREP = ["-c", "-i", "-E", "error|fail"]


def run_grep(args: list[str], log: Path, out: Path) -> tuple[float, float, str]:
    with out.open("wb") as fh:
        start = time.perf_counter()
        proc = subprocess.Popen(["grep", *args, str(log)], stdout=fh, cwd=ROOT, env=GREP_ENV)
        elapsed, cpu, _rss = _wait(proc, start)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"grep failed with exit code {proc.returncode}")
    return elapsed, cpu, out.read_text().strip()


def run_cli(log: Path, backend: str) -> tuple[float, float, int, dict]:
    """The CLI under ``backend``: wall and CPU seconds, peak RSS (KB) and its JSON report."""
    env = dict(os.environ, DIAGNOSIS_SCAN_BACKEND=backend)
    cmd = [sys.executable, "-m", "diagnosis", "--json", str(log)]
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=devnull, cwd=ROOT, env=env)
        elapsed, cpu, rss = _wait(proc, start)
        out.seek(0)
        return elapsed, cpu, rss, json.loads(out.read() or b"{}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=500, help="size of each generated log")
    ap.add_argument("--mixes", default=",".join(MIXES), help=f"comma-separated, of {', '.join(MIXES)}")
    available = ["hyperscan", "stdlib"] if hs_backend.available() else ["stdlib"]
    ap.add_argument("--backends", default=",".join(available), help="comma-separated: hyperscan, stdlib")
    ap.add_argument("--runs", type=int, default=1, help="timed runs of each command (best is reported)")
    ap.add_argument("--keep", metavar="DIR", help="write the logs here and keep them")
    args = ap.parse_args()
    if shutil.which("grep") is None:
        print("grep not found", file=sys.stderr)
        return 2
    mixes = [m.strip() for m in args.mixes.split(",") if m.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [m for m in mixes if m not in MIXES] + [b for b in backends if b not in ("hyperscan", "stdlib")]
    if unknown:
        print(f"unknown mix or backend: {', '.join(unknown)}", file=sys.stderr)
        return 2
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="aib-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ok = True
    try:
        patterns, skipped = kb_patterns()
        pattern_file = workdir / "kb-patterns.ere"
        pattern_file.write_text("\n".join(patterns) + "\n")
        print(f"grep patterns: {len(patterns)} KB log patterns as ERE ({skipped} not translatable, left out)")
        print(
            f"{'mix':<15} {'MB':>5} {'command':<22} {'wall s':>7} {'MB/s':>7} {'cpu s':>7} "
            f"{'x KB grep':>8} {'x words':>8} {'RSS MB':>7}  result"
        )
        for mix in mixes:
            ok = measure_mix(mix, args, backends, workdir, pattern_file) and ok
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def measure_mix(mix: str, args: argparse.Namespace, backends: list[str], workdir: Path, pattern_file: Path) -> bool:
    log = workdir / f"{mix}.log"
    with log.open("wb") as fh:
        for chunk in generate(args.size_mb * 1_000_000, mix=mix):
            fh.write(chunk)
    expected = MIXES[mix][1]
    mb = log.stat().st_size / 1e6
    subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    baselines = {"grep KB patterns": ["-c", "-E", "-f", str(pattern_file)], "grep -ciE error|fail": WORDS_GREP}
    base_cpu: dict[str, float] = {}
    for i, (label, grep_args) in enumerate(baselines.items()):
        times, cpus, count = [], [], ""
        for _ in range(args.runs):
            elapsed, cpu, count = run_grep(grep_args, log, workdir / "grep.out")
            times.append(elapsed)
            cpus.append(cpu)
        base_cpu[label] = min(cpus)
        first = (mix, f"{mb:5.0f}") if i == 0 else ("", "")
        print(
            f"{first[0]:<15} {first[1]:>5} {label:<22} {min(times):7.2f} {mb / min(times):7.1f} {min(cpus):7.2f} "
            f"{'':>8} {'':>8} {'':>7}  {count} matching lines"
        )
    kb_cpu, words_cpu = base_cpu["grep KB patterns"], base_cpu["grep -ciE error|fail"]
    ok = True
    for backend in backends:
        times, cpus, rss, report = [], [], [], {}
        for _ in range(args.runs):
            elapsed, cpu, maxrss_kb, report = run_cli(log, backend)
            times.append(elapsed)
            cpus.append(cpu)
            rss.append(maxrss_kb)
        best, cpu_best = min(times), min(cpus)
        category = report.get("category", "?")
        right = expected is None or category == expected
        ok = ok and right
        verdict = category if expected is None else (f"{category} (right)" if right else f"{category} WRONG")
        print(
            f"{'':<15} {'':>5} {'diagnosis ' + backend:<22} {best:7.2f} {mb / best:7.1f} {cpu_best:7.2f} "
            f"{cpu_best / kb_cpu:8.2f} {cpu_best / words_cpu:8.1f} {max(rss) / 1024:7.1f}  {verdict}"
        )
    if not args.keep:
        log.unlink()
    return ok


if __name__ == "__main__":
    sys.exit(main())

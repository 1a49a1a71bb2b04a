"""Take a collected batch of real reports into the corpus and measure it on arrival.

    python benchmarks/intake_batch.py FOLDER NAME [--baseline DIR] [--sources TEXT] [--date YYYY-MM-DD]

FOLDER holds a collector's report files (``<label>__<words>.txt`` with ``#: source`` / ``#: why`` lines,
docs/real-reports.md). Each file is checked before it is copied: a malformed file, a thread already in the corpus
(same source URL; one batch may bring two reports of one thread, for two failures), or a name whose words are
already used is refused with its reason and left where it is. The
accepted files go to ``tests/diagnosis/cases/real``, their names to ``benchmarks/batches/<date>-<NAME>.txt``.

The batch is then measured with the code of this checkout and, with ``--baseline DIR`` (a checkout of the round's
starting commit, e.g. ``git worktree add DIR <sha>``), with that code too, both on this corpus; measure before
anyone reads the reports. ``--sources TEXT`` adds the batch's row to ``benchmarks/batches/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from real_reports_accuracy import CASES, report_problems, report_source  # noqa: E402

BATCHES = ROOT / "benchmarks" / "batches"
ALL_LINE = re.compile(r"^all\s*: (\d+)/\d+ right = ([\d.]+)%", re.M)


@dataclass
class Intake:
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, list[str]] = field(default_factory=dict)


def _words(name: str) -> str:
    return name.split("__", 1)[-1]


def take_in(folder: Path, cases: Path, batch_file: Path) -> Intake:
    """Check every report of ``folder``, copy the good ones into ``cases`` and list them in ``batch_file``."""
    if batch_file.exists():
        raise FileExistsError(f"{batch_file} exists: a batch is taken in once")
    corpus = list(cases.glob("*.txt"))
    sources = {report_source(p) for p in corpus}
    words = {_words(p.name) for p in corpus}
    intake = Intake()
    for path in sorted(folder.glob("*.txt")):
        problems = report_problems(path)
        if not problems:
            if report_source(path) in sources:
                problems.append("its thread is already in the corpus")
            if _words(path.name) in words:
                problems.append("its words are already used by a report")
        if problems:
            intake.refused[path.name] = problems
            continue
        shutil.copyfile(path, cases / path.name)
        words.add(_words(path.name))
        intake.accepted.append(path.name)
    if intake.accepted:
        batch_file.write_text("".join(f"{name}\n" for name in intake.accepted))
    return intake


@dataclass
class Score:
    right: int
    percent: str

    def cell(self) -> str:
        return f"{self.right} ({self.percent}%)"


def measure(code: Path, cases: Path, batch_file: Path) -> tuple[Score, str]:
    """The batch's score with the code checked out at ``code`` (its own benchmark script, this corpus)."""
    out = subprocess.run(
        [sys.executable, "benchmarks/real_reports_accuracy.py", "--cases", str(cases), "--batch", str(batch_file)],
        cwd=code,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = ALL_LINE.search(out)
    if match is None:
        raise ValueError(f"no 'all' line in the benchmark's output at {code}")
    return Score(int(match[1]), match[2]), out


def readme_row(batch: str, count: int, sources: str, start: Score | None, now: Score) -> str:
    start_cell = start.cell() if start is not None else "not measured"
    return f"| {batch} | {count} | {sources} | {start_cell} | {now.cell()} |\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="the collector's folder of report files")
    ap.add_argument("name", help="the batch's name after the date, e.g. 'ab'")
    ap.add_argument("--baseline", type=Path, help="a checkout of the round's starting code, to measure with it too")
    ap.add_argument("--sources", help="the README row's description of the batch's sources (adds the row)")
    ap.add_argument("--date", default=datetime.date.today().isoformat(), help="the batch's date (default: today)")
    ap.add_argument("--cases", type=Path, default=CASES, help=argparse.SUPPRESS)
    ap.add_argument("--batches", type=Path, default=BATCHES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not args.folder.is_dir():
        print(f"intake: {args.folder} is not a folder", file=sys.stderr)
        return 2
    batch = f"{args.date}-{args.name}"
    batch_file = args.batches / f"{batch}.txt"
    try:
        intake = take_in(args.folder, args.cases, batch_file)
    except FileExistsError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return 2
    for name, problems in intake.refused.items():
        print(f"refused {name}: {'; '.join(problems)}")
    print(f"batch {batch}: {len(intake.accepted)} reports taken in, {len(intake.refused)} refused")
    if not intake.accepted:
        return 1
    now, out = measure(ROOT, args.cases, batch_file)
    start = None
    if args.baseline is not None:
        start, base_out = measure(args.baseline, args.cases, batch_file)
        print(f"starting code ({args.baseline}):\n" + "\n".join(base_out.splitlines()[1:4]))
    print("this code:\n" + "\n".join(out.splitlines()[1:4]))
    if args.sources:
        with (args.batches / "README.md").open("a", encoding="utf-8") as readme:
            readme.write(readme_row(batch, len(intake.accepted), args.sources, start, now))
        print(f"row added to {args.batches / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

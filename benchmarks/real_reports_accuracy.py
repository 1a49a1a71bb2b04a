"""Accuracy of ``diagnose()`` on real failure reports collected from public issue trackers.

Each file in ``tests/diagnosis/cases/real`` is named ``<expected-category>__<slug>.txt`` and starts with header
lines ``#: source <url>`` / ``#: why <reason>``; the rest is the error text the reporter pasted, verbatim. The
text goes through the same input recognition as the CLI (customization.log, JSON, or pasted text).

A third of the reports is held out from tuning, chosen up front by a hash of the file name
(``sha256(name) % 3 == 0``); both numbers are printed.

    python benchmarks/real_reports_accuracy.py [--split tuned|held-out|all] [--batch FILE] [--wrap HOW] [--verbose]

``--split`` limits the run (and ``--verbose``'s per-report lines) to one part; tune with ``--split tuned`` and
look at the held-out part only for the final number. ``--batch benchmarks/batches/<name>.txt`` measures one
collected batch: run it when the batch arrives, before anyone looks at its reports. Prints accuracy (all / tuned /
held-out), the confusion (expected -> got) and the "confident wrong" count: a wrong category that is not
``unknown`` (the worst answer a user can get). ``--wrap HOW`` measures every report as it reads quoted line by line
in a reply (``quoted``), with a prefix before each line: Packer's ``-timestamp-ui`` time (``packer-timestamp-ui``), a
CI system's (``azure-devops``, ``github-actions``, ``gitlab``, ``jenkins``), Terraform's error box
(``terraform-box``), a system log's (``syslog``) or PowerShell's verbose stream's, as a script that runs Packer
relays its output (``powershell-verbose``), or as Packer's machine-readable output (``packer-machine-readable``);
or copied from a web page (``html-escaped``: entities for ``<>&"'``; ``no-break-spaces``: U+00A0 for every space),
or through a word processor or a mail client that sets typographic quotes and ellipses (``typography``), or
wrapped at word boundaries by a mail client or a commit-message editor (``mail-72``),
or with a terminal's colour codes around Packer's lines (``colour-codes``), or as Image Builder's customization.log
keeps Packer's output (``customization-log``: each line behind the run's id and ``PACKER OUT`` / ``PACKER ERR``),
with Windows line ends (``crlf``), or as one JSON string value, the way ``az ... -o json`` or a webhook's payload
carries a message (``json-string``).
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from diagnosis.categories import CATEGORY_IDS  # noqa: E402
from diagnosis.cli import diagnose_input  # noqa: E402
from diagnosis.rules import KnowledgeBase, load_knowledge_base  # noqa: E402
from diagnosis.scanner import sniff_is_log  # noqa: E402

CASES = ROOT / "tests" / "diagnosis" / "cases" / "real"
HEADER = "#: "


@dataclass
class Result:
    name: str
    expected: str
    got: str
    rule_id: str | None
    held_out: bool
    azure_build: bool = False

    @property
    def right(self) -> bool:
        return self.expected == self.got

    @property
    def confident_wrong(self) -> bool:
        return not self.right and self.got != "unknown"


def name_hash(name: str) -> int:
    """A report's file name as a number: what the held-out split and test samples are chosen by, never results."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16)


def held_out(name: str) -> bool:
    """The fixed held-out third: decided by the file name alone, never by results."""
    return name_hash(name) % 3 == 0


# the text itself says it comes from an Azure image build: Packer's azure-arm / azure-chroot builder, Azure VM Image
# Builder (its name, CLI, resource type, template, customization.log or a run's "[<id>] PACKER" lines)
_AZURE_BUILD = re.compile(
    rb"azure-arm|azure-chroot|Azure (?:VM )?Image ?Builder|az image builder|AzImageBuilder|imageTemplates"
    rb"|customization\.log|packerlogs|VirtualMachineImages|\[[0-9a-f-]{36}\] PACKER",
    re.IGNORECASE,
)


def azure_build(text: bytes) -> bool:
    """The report's text names an Azure image build (decided by the text alone, never by results)."""
    return _AZURE_BUILD.search(text) is not None


NAME = re.compile(r"^[a-z0-9-]+__[a-z0-9.-]+\.txt$")


def report_problems(path: Path) -> list[str]:
    """What keeps a file from being a report of the corpus: its name, its label, its two header lines, its text."""
    problems = []
    if not NAME.match(path.name):
        problems.append("name is not <label>__<words>.txt in lower case")
    if path.name.split("__")[0] not in CATEGORY_IDS:
        problems.append(f"label {path.name.split('__')[0]!r} is not a category id")
    try:
        head = path.read_text(encoding="utf-8").splitlines()[:2]
    except UnicodeDecodeError:
        return [*problems, "not UTF-8"]
    if not head or not head[0].startswith(("#: source https://", "#: source http://")):
        problems.append("line 1 is not '#: source <url>'")
    if len(head) < 2 or not head[1].startswith("#: why ") or len(head[1]) <= 15:
        problems.append("line 2 is not '#: why <reason>'")
    if not report_text(path).strip():
        problems.append("no report text")
    return problems


def report_source(path: Path) -> str:
    """The URL of a report's ``#: source`` line."""
    first = path.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
    return first.removeprefix("#: source ").strip()


def report_text(path: Path) -> bytes:
    """The report without its ``#:`` header lines."""
    lines = path.read_bytes().splitlines(keepends=True)
    i = 0
    while i < len(lines) and lines[i].startswith(HEADER.encode()):
        i += 1
    return b"".join(lines[i:])


def _each_line(prefix: str):
    return lambda text: "\n".join(prefix + line for line in text.split("\n"))


def _coloured(text: str) -> str:
    """Packer's lines as a terminal or a CI log shows them: its step lines bold green, a build's output green."""
    lines = []
    for line in text.split("\n"):
        if line.lstrip().startswith(("==>", "-->", "Build '")):
            line = f"\x1b[1;32m{line}\x1b[0m"
        elif line.startswith("    ") and ": " in line[:80]:
            line = f"\x1b[0;32m{line}\x1b[0m"
        lines.append(line)
    return "\n".join(lines)


_PACKER_LOG_TIME = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")


_PACKER_OUTPUT = re.compile(r"^\s{0,8}(?:==> |--> |Build '|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d |[\w.-]{1,80}: )")


def _in_customization_log(text: str) -> str:
    """Packer's console output as Image Builder's customization.log keeps it: each line from the first to the last
    line of Packer's output behind the run's id and the stream it came from (Packer's own log lines with their time on
    standard error); the reporter's words around it stay as written. Other texts are unchanged."""
    if not sniff_is_log(text.encode()) or "PACKER OUT" in text or "PACKER ERR" in text:
        return text
    opid = "[0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0]"
    lines = text.split("\n")
    output = [i for i, line in enumerate(lines) if _PACKER_OUTPUT.match(line)]
    if not output:
        return text
    first, last = output[0], output[-1]
    return "\n".join(
        f"{opid} PACKER {'ERR' if _PACKER_LOG_TIME.match(line) else 'OUT'} {line}" if first <= i <= last else line
        for i, line in enumerate(lines)
    )


def _machine_readable(text: str) -> str:
    """Every line as ``packer build -machine-readable`` prints a message: time, target, type, the message with its
    commas written ``%!(PACKER_COMMA)``."""
    return "\n".join("1589606815,,ui,say," + line.replace(",", "%!(PACKER_COMMA)") for line in text.split("\n"))


_OPENING_QUOTE = re.compile(r"(^|[\s(\[])(['\"])", re.MULTILINE)


def _typography(text: str) -> str:
    """Plain quotes and "..." as a word processor, a mail or chat client sets them: opening quotes after a space or a
    bracket, closing ones (and apostrophes) elsewhere, an ellipsis character for three periods."""
    opened = _OPENING_QUOTE.sub(lambda m: m.group(1) + ("\u2018" if m.group(2) == "'" else "\u201c"), text)
    return opened.replace("'", "\u2019").replace('"', "\u201d").replace("...", "\u2026")


def _hard_wrapped(width: int):
    """Every line cut into pieces of ``width`` characters, as a console window or a mail client copies it."""
    return lambda text: "\n".join(
        line[i : i + width] for line in text.split("\n") for i in range(0, max(len(line), 1), width)
    )


def _word_wrapped(width: int):
    """Every line wrapped at word boundaries to ``width`` columns, as a mail client or a commit-message editor wraps a
    quoted log (words longer than the width stay whole)."""
    return lambda text: "\n".join(
        textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False) if line.strip() else line
        for line in text.split("\n")
    )


def _markdown_list(text: str) -> str:
    """Every line a Markdown list item in code marks, as a reporter lists the messages he saw; lines with code marks
    of their own, and empty lines, stay as they are."""
    return "\n".join(f"- `{line.strip()}`" if line.strip() and "`" not in line else line for line in text.split("\n"))


# how a report reaches people besides as it was written: quoted in a reply or listed in Markdown, inside a CI system's
# log, inside Terraform's error box, a system log or a PowerShell script's verbose stream, as Packer's machine-readable
# output, copied from a web page, through a word processor, from a console that cuts lines at its width or a mail
# client that wraps them at word boundaries, with the terminal's colour codes, with Windows line ends, or as one JSON
# string value (a CLI's JSON output, a webhook's payload)
WRAPPINGS = {
    "quoted": _each_line("> "),
    "azure-devops": _each_line("2024-01-19T12:22:07.4918893Z "),
    "github-actions": _each_line("build\tRun packer\t2024-06-12T14:37:59.1234567Z "),
    "gitlab": _each_line("2024-06-12T14:37:59.123456Z 01O "),
    "jenkins": _each_line("[2024-06-12T14:37:59.123Z] "),
    "packer-timestamp-ui": _each_line("2024-06-12T16:37:59+02:00: "),
    "terraform-box": _each_line("\u2502 "),
    "markdown-list": _markdown_list,
    "syslog": _each_line("Jun 12 14:37:59 buildvm cloud-init[1234]: "),
    "powershell-verbose": _each_line("VERBOSE: "),
    "packer-machine-readable": _machine_readable,
    "html-escaped": html.escape,
    "typography": _typography,
    "html-line-breaks": lambda text: "<br>".join(text.split("\n")),
    "no-break-spaces": lambda text: text.replace(" ", "\u00a0"),
    "colour-codes": _coloured,
    "console-80": _hard_wrapped(80),
    "console-120": _hard_wrapped(120),
    "mail-72": _word_wrapped(72),
    "customization-log": _in_customization_log,
    "crlf": lambda text: text.replace("\n", "\r\n"),
    "json-string": lambda text: json.dumps({"message": text}),
}


def diagnose_report(data: bytes, kb: KnowledgeBase):
    """Diagnose pasted report text the way ``python -m diagnosis`` treats one INPUT."""
    return diagnose_input(data, kb, name="report")


def evaluate(
    kb: KnowledgeBase | None = None,
    cases: Path = CASES,
    split: str = "all",
    only: set[str] | None = None,
    wrap: str | None = None,
) -> list[Result]:
    kb = kb or load_knowledge_base(use_env=False)
    wrapped = WRAPPINGS[wrap] if wrap else None
    out = []
    for path in sorted(cases.glob("*.txt")):
        if split != "all" and held_out(path.name) != (split == "held-out"):
            continue
        if only is not None and path.name not in only:
            continue
        expected = path.name.split("__")[0]
        data = report_text(path)
        if wrapped is not None:
            data = wrapped(data.decode("utf-8", "replace")).encode()
        d = diagnose_report(data, kb)
        out.append(Result(path.name, expected, d.category, d.rule_id, held_out(path.name), azure_build(data)))
    return out


def _line(label: str, results: list[Result]) -> str:
    if not results:
        return f"{label:9s}: no reports"
    right = sum(r.right for r in results)
    cw = sum(r.confident_wrong for r in results)
    failures = [r for r in results if r.expected != "none"]
    none_on_failure = sum(r.got == "none" for r in failures)
    category_on_success = sum(r.got not in ("none", "unknown") for r in results if r.expected == "none")
    wrong_specific = sum(r.confident_wrong and r.got != "none" for r in results)
    return (
        f"{label:9s}: {right}/{len(results)} right = {right / len(results):.1%}, confident wrong {cw}"
        f" (none on a failure {none_on_failure}, category on a non-failure {category_on_success},"
        f" wrong specific category {wrong_specific} = {wrong_specific / len(results):.1%})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--verbose", action="store_true", help="one line per report")
    ap.add_argument("--cases", type=Path, default=CASES, help="folder of report files (default: %(default)s)")
    ap.add_argument(
        "--split",
        choices=("tuned", "held-out", "all"),
        default="all",
        help="which part of the reports to run (default: %(default)s)",
    )
    ap.add_argument(
        "--batch",
        type=Path,
        help="a file naming the reports of one collected batch, one per line (benchmarks/batches/): measure only those",
    )
    ap.add_argument(
        "--wrap",
        choices=sorted(WRAPPINGS),
        help="measure each report as quoted in a reply or listed in Markdown, inside a CI log or a customization.log,"
        " copied from a web page, word-wrapped by a mail client or in colour",
    )
    args = ap.parse_args(argv)
    only = None
    if args.batch is not None:
        only = {Path(line.strip()).name for line in args.batch.read_text().splitlines() if line.strip()}
    results = evaluate(cases=args.cases, split=args.split, only=only, wrap=args.wrap)
    if args.verbose:
        for r in results:
            mark = "ok " if r.right else ("WRONG" if r.confident_wrong else "miss")
            split = "held" if r.held_out else "tune"
            print(f"{mark:5s} {split} {r.name}: got {r.got} ({r.rule_id})")
    print(f"reports: {len(results)} from {args.cases}")
    print(_line("all", results))
    print(_line("tuned", [r for r in results if not r.held_out]))
    print(_line("held-out", [r for r in results if r.held_out]))
    azure = [r for r in results if r.azure_build]
    print(f"reports whose text names an Azure image build (azure-arm, Image Builder, customization.log): {len(azure)}")
    print(_line("  tuned", [r for r in azure if not r.held_out]))
    print(_line("  held-out", [r for r in azure if r.held_out]))
    unknown_cw = sum(r.confident_wrong for r in results if r.expected == "unknown")
    print(f"confident wrong where the text holds no evidence (expected unknown): {unknown_cw}")
    confusion = Counter((r.expected, r.got) for r in results if not r.right)
    if confusion:
        print("confusion (expected -> got):")
        for (exp, got), n in sorted(confusion.items()):
            print(f"  {exp} -> {got}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

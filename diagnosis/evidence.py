"""The evidence of a diagnosis: which lines, in which order, and the whole lines summaries are built from.

Order: the line that says *why* comes first (inside the failed customizer: the first error record a script
printed before it exited, see ``error_record`` entries in the knowledge base; otherwise the deciding entry's own
match, e.g. the ARM error message), then the exit/summary line, then Packer's failure lines, other entries'
matches and the last error-looking lines. Lines that say the same thing (Packer repeats a provisioner's error in
``==> azure-arm:``, ``Build 'azure-arm' errored``, ``--> azure-arm:`` and ``machine readable``) collapse into one
with a count. Connection and progress markers (``Waiting for WinRM``, ``up to timeout``, download progress) are
never evidence of a failure they did not cause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from diagnosis.logline import message
from diagnosis.model import Evidence
from diagnosis.pasted import readable_clixml
from diagnosis.redact import redact
from diagnosis.rules import KnowledgeBase
from diagnosis.scanner import Hit, ScanResult, Step

MAX_EVIDENCE = 20

# Packer's wrappers around a provisioner's error: what is left is the error itself
_WRAPPERS = re.compile(
    r"^(?:Build '[^'\n]{1,80}' errored(?: after [^:\n]{1,80})?: |azure-arm,error \[\]string\{\"|"
    r"[\w.-]{1,80}: (?=Script exited|Erroneous exit))"
)
_TRAILER = re.compile(r"\"\}\s*$")
# Lines that mark progress or a connection attempt: never evidence of a failure on their own
MARKERS = re.compile(
    r"Waiting for (?:SSH|WinRM)|up to timeout:|Connected to (?:SSH|WinRM)|WinRM connected|"
    r"Attempting SSH connection|\d B / \d+ B\s|\(telemetry\) (?:Starting|ending) |"
    r"bytes written for '|Communicator ended with: 0\b"
)


@dataclass
class Line:
    """A line taking part in the evidence: where it is and its whole text (before redaction and cutting)."""

    source: str
    line: int
    text: str


def whole_line(source: str, hit: Hit, texts: dict[str, list[str]]) -> str:
    """The whole text of a hit's line: messages keep every line; logs keep what the scanner kept."""
    lines = texts.get(source)
    if lines and 1 <= hit.line <= len(lines):
        full = lines[hit.line - 1]
        if hit.text.strip()[:40] in full:
            return full
    return hit.text


def core(text: str) -> str:
    """What a line says without Packer's prefixes and wrappers (near-identical lines share it)."""
    text = message(text)
    text = re.sub(r"^(?:==>|-->)\s?", "", text)
    text = re.sub(r"^azure-arm:\s?", "", text)
    text = _WRAPPERS.sub("", text)
    text = _TRAILER.sub("", text)
    return " ".join(text.split()).rstrip(". ")


def is_marker(text: str) -> bool:
    return MARKERS.search(text) is not None


def step_records(result: ScanResult, kb: KnowledgeBase, step: Step | None) -> list[Hit]:
    """The error records a script printed in ``step`` before it exited (all of them for a pasted text)."""
    end = None
    if step is not None:
        end = step.exit_line or step.end_line
    else:
        firsts = [h.line for h in result.failure_lines]
        firsts += [s.exit_line for s in result.steps if s.exit_line is not None]
        end = min(firsts) if firsts else None
    out: list[Hit] = []
    harmless = {h.line for rid, rh in result.hits.items() if (r := kb.get(rid)) and r.benign for h in rh.samples()}
    harmless |= result.noise_records  # the lines of a record that reports nothing wrong
    for rule_id, rh in result.hits.items():
        rule = kb.get(rule_id)
        if rule is None or not rule.error_record:
            continue
        for h in rh.samples():
            if h.line in harmless:
                continue  # a harmless line a benign entry explains (dpkg-preconfigure's stdin), a noise record
            if step is not None:
                inside = h.step == step.position or (h.step is None and h.line > step.start_line)
                if not inside:
                    continue
            if end is not None and h.line > end:
                continue
            out.append(h)
    return sorted(out, key=lambda h: h.line)


class EvidenceBuilder:
    """Collects lines in order of importance, collapsing near-identical ones."""

    def __init__(self, texts: dict[str, list[str]]) -> None:
        self.texts = texts
        self.items: list[tuple[Line, int]] = []  # (line, repeats)
        self._seen: set[tuple[str, int]] = set()
        self._cores: dict[str, int] = {}

    def add(self, source: str, hit: Hit, *, marker_ok: bool = False) -> None:
        key = (source, hit.line)
        if key in self._seen:
            return
        text = whole_line(source, hit, self.texts)
        if not marker_ok and is_marker(text):
            return
        self._seen.add(key)
        c = core(text)
        if c and c in self._cores:
            i = self._cores[c]
            line, n = self.items[i]
            self.items[i] = (line, n + 1)
            return
        if len(self.items) >= MAX_EVIDENCE:
            return
        if c:
            self._cores[c] = len(self.items)
        self.items.append((Line(source, hit.line, text), 1))

    def add_all(self, source: str, hits: Iterable[Hit], **kw: bool) -> None:
        for h in hits:
            self.add(source, h, **kw)

    def first_text(self) -> str:
        return self.items[0][0].text if self.items else ""

    def lines(self) -> list[Line]:
        return [line for line, _n in self.items]

    def evidence(self, limit: int = 400) -> list[Evidence]:
        out = []
        for line, n in self.items:
            text = readable_clixml(line.text).strip()
            if len(text) > limit:
                text = text[: limit - 1] + "…"
            if n > 1:
                text += f" ({n}x)"
            out.append(Evidence(text=redact(text), line=line.line, source=line.source))
        return out


def split_texts(texts: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Each text source's lines, numbered like the scanner numbers them."""
    out: dict[str, list[str]] = {}
    for source, text in texts:
        out[source] = text.replace("\r\n", "\n").replace("\x00", "").split("\n")
    return out

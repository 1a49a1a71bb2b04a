"""What an alert says, independent of the channel: headline, facts, summary, cause, remediation, evidence,
links.

Every channel (Teams card, MessageCard, email, files) renders an ``AlertContent``; the channel only decides
the
markup and escapes for its own format. Text taken from logs is redacted again here (``diagnosis.redact``), so
a
channel never sees an unredacted evidence line even if a caller forgot.

``AlertContent.trimmed(level)`` gives smaller versions (fewer and shorter evidence lines, then shorter prose)
so the
channels can stay under the webhook size limit without ever dropping the header or the facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import quote

from diagnosis.categories import CATEGORIES
from diagnosis.redact import redact

from .model import BUILD_FAILED, BUILD_STUCK, RECOVERED, STILL_STUCK, SUBMISSION_FAILED, Alert

MAX_EVIDENCE = 10
PORTAL = "https://portal.azure.com"

KIND_LABEL = {
    BUILD_FAILED: "Image build failed",
    BUILD_STUCK: "Image build stuck",
    STILL_STUCK: "Image build still stuck",
    SUBMISSION_FAILED: "Image template submission failed",
    RECOVERED: "Image build recovered",
}

# Built content is capped at EVIDENCE_CHARS per evidence line and PROSE_CHARS per prose field (a log line
# can be
# megabytes). Trim levels, smallest last: evidence goes first (shorter lines, then fewer), then prose,
# steps, notes.
EVIDENCE_CHARS = 400
PROSE_CHARS = 4000


@dataclass(frozen=True)
class TrimLevel:
    evidence_lines: int
    evidence_chars: int
    prose_chars: int
    steps: int
    notes: int


TRIM_LEVELS: tuple[TrimLevel, ...] = (
    TrimLevel(MAX_EVIDENCE, EVIDENCE_CHARS, PROSE_CHARS, 10, 10),
    TrimLevel(MAX_EVIDENCE, 200, PROSE_CHARS, 10, 10),
    TrimLevel(6, 160, PROSE_CHARS, 10, 10),
    TrimLevel(3, 120, PROSE_CHARS, 10, 10),
    TrimLevel(0, 0, 1500, 8, 5),
    TrimLevel(0, 0, 600, 5, 3),
    TrimLevel(0, 0, 200, 3, 2),
)

# Control characters, line/paragraph separators and bidi overrides (which could visually reorder a log line).
# AIB prefixes every packer line with "[<operation id>] PACKER OUT " (or ERR): noise in a message.
_PACKER_PREFIX = re.compile(r"^\[[0-9a-fA-F-]{36}\] PACKER (?:OUT|ERR) ")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class EvidenceLine:
    text: str
    line: int | None = None
    source: str = "log"

    @property
    def location(self) -> str:
        """``customization.log:412`` style reference."""
        name = {"log": "customization.log", "validation-log": "validation.log"}.get(self.source, self.source)
        return f"{name}:{self.line}" if self.line is not None else name

    @property
    def label(self) -> str:
        """The short gutter label shown before the line: ``412`` for the customization log, ``v12`` for the
        validation log, ``msg``/``err``/``tpl`` for the status message, provisioningError, template."""
        if self.source == "log":
            return str(self.line) if self.line is not None else ""
        prefix = {"validation-log": "v", "message": "msg", "provisioningError": "err", "template": "tpl"}
        if self.source == "validation-log":
            return f"v{self.line}" if self.line is not None else "v"
        return prefix.get(self.source, self.source[:3])


@dataclass(frozen=True)
class Link:
    title: str
    url: str

    @property
    def is_web(self) -> bool:
        return self.url.lower().startswith(("https://", "http://"))


@dataclass(frozen=True)
class AlertContent:
    kind: str
    severity: str
    headline: str  # "Image build failed: win2022-golden"
    category_id: str | None
    category_title: str | None
    summary: str  # one line: what failed
    facts: tuple[tuple[str, str], ...]
    cause: str = ""
    remediation: tuple[str, ...] = ()
    evidence: tuple[EvidenceLine, ...] = ()
    evidence_omitted: int = 0  # lines left out (beyond 10, or trimmed for size)
    status_message: str = ""
    notes: tuple[str, ...] = ()  # e.g. "the archived log is partial"
    links: tuple[Link, ...] = ()
    template_name: str = ""
    created_at: str = ""
    trim_level: int = 0
    full: AlertContent | None = field(default=None, repr=False, compare=False)

    @property
    def web_links(self) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.is_web)

    def trimmed(self, level: int) -> AlertContent:
        """A smaller rendering of the same alert; level 0 is the full content. The header (headline, category)
        and the facts never change."""
        source = self.full or self
        if level <= 0:
            return source
        level = min(level, len(TRIM_LEVELS) - 1)
        t = TRIM_LEVELS[level]
        evidence = tuple(
            replace(e, text=_cut(e.text, t.evidence_chars)) for e in source.evidence[: t.evidence_lines]
        )
        return replace(
            source,
            summary=_cut(source.summary, max(t.prose_chars, 300)),
            cause=_cut(source.cause, t.prose_chars),
            status_message=_cut(source.status_message, t.prose_chars),
            remediation=tuple(_cut(step, t.prose_chars) for step in source.remediation[: t.steps]),
            notes=tuple(_cut(note, t.prose_chars) for note in source.notes[: t.notes]),
            evidence=evidence,
            evidence_omitted=source.evidence_omitted + len(source.evidence) - len(evidence),
            trim_level=level,
            full=source,
        )

    @property
    def max_trim_level(self) -> int:
        return len(TRIM_LEVELS) - 1


def clean(text: str | None) -> str:
    """Redacted, control characters removed (tabs and newlines kept), surrounding whitespace stripped."""
    if not text:
        return ""
    return _CONTROL.sub("", redact(str(text))).strip()


def one_line(text: str | None) -> str:
    return " ".join(clean(text).split())


def _cut(text: str, limit: int) -> str:
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 1)].rstrip() + "…"


def format_minutes(minutes: float | None) -> str:
    if minutes is None:
        return ""
    if minutes < 1.5:
        return f"{round(minutes * 60)} s"
    total = round(minutes)
    if total < 60:
        return f"{total} min"
    hours, mins = divmod(total, 60)
    if hours < 48:
        return f"{hours} h {mins:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def format_time(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return one_line(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _minutes_between(start: str | None, end: str | None) -> float | None:
    try:
        begin = datetime.fromisoformat((start or "").replace("Z", "+00:00"))
        finish = datetime.fromisoformat(end.replace("Z", "+00:00")) if end else datetime.now(UTC)
    except ValueError:
        return None
    if begin.tzinfo is None:
        begin = begin.replace(tzinfo=UTC)
    if finish.tzinfo is None:
        finish = finish.replace(tzinfo=UTC)
    return max((finish - begin).total_seconds() / 60.0, 0.0)


def portal_url(template_id: str) -> str:
    return f"{PORTAL}/#@/resource{quote(template_id, safe='/')}/overview"


def customizer_summary(failed: dict | None, *, running: bool = False) -> str:
    """customizer "install-dotnet" (PowerShell) exited 1 after 12 min"""
    if not failed:
        return ""
    name = failed.get("customizer_name") or failed.get("name") or "?"
    text = f'customizer "{name}"'
    if failed.get("type"):
        text += f" ({failed['type']})"
    elif failed.get("name") and failed.get("customizer_name"):
        text += f" ({failed['name']})"
    if failed.get("exit_code") is not None:
        text += f" exited {failed['exit_code']}"
    else:
        text += " is still running" if running else " failed"
    if failed.get("duration_seconds") is not None:
        text += f" after {format_minutes(failed['duration_seconds'] / 60.0)}"
    return text


def build_content(alert: Alert) -> AlertContent:
    diag = alert.diagnosis or {}
    category_id = diag.get("category") or None
    category = CATEGORIES.get(category_id) if category_id else None
    category_title = one_line(diag.get("title")) or (category.title if category else None)
    failed = diag.get("failed_customizer") or None

    label = KIND_LABEL[alert.kind]
    headline = f"{label}: {one_line(alert.template_name)}"
    if alert.group:
        headline += f" and {len(alert.group)} more template{'s' if len(alert.group) > 1 else ''}"

    # The one-line summary: the diagnosis says it best; otherwise the failing customizer or the stuck reason.
    summary = _cut(one_line(diag.get("summary")), PROSE_CHARS)
    if alert.kind in (BUILD_STUCK, STILL_STUCK) and alert.stuck_reason:
        summary = _cut(one_line(alert.stuck_reason), 500) + (f" — {summary}" if summary else "")
    if not summary:
        summary = customizer_summary(failed) or one_line(alert.status_message) or label
    if alert.kind == RECOVERED:
        previous = f" after {category_title.lower()}" if category_title else ""
        summary = (
            f"The latest run succeeded{previous}."
            if summary == label
            else f"Succeeded again. Last failure: {summary}"
        )

    facts: list[tuple[str, str]] = [
        ("Template", one_line(alert.template_name)),
        ("Resource group", one_line(alert.resource_group)),
        ("Subscription", one_line(alert.subscription_id)),
    ]
    if alert.group:
        others = [f"{one_line(m.get('resource_group'))}/{one_line(m.get('template_name'))}" for m in alert.group]
        facts.append(("Same cause in", _cut(", ".join(others), PROSE_CHARS)))
    if alert.location:
        facts.append(("Location", one_line(alert.location)))
    state = one_line(alert.run_state)
    if alert.run_sub_state:
        state = f"{state} / {one_line(alert.run_sub_state)}" if state else one_line(alert.run_sub_state)
    if state:
        facts.append(("Run state", state))
    if category_title and alert.kind != RECOVERED:
        facts.append(("Category", category_title + (f" ({category_id})" if category_id else "")))
    if diag.get("phase") and diag.get("phase") != "unknown" and alert.kind != RECOVERED:
        facts.append(("Phase", one_line(diag["phase"])))
    running = alert.kind in (BUILD_STUCK, STILL_STUCK)
    if failed and alert.kind != RECOVERED and customizer_summary(failed, running=running) not in summary:
        facts.append(("Customizer", customizer_summary(failed, running=running)))
    if alert.start_time:
        facts.append(("Started", format_time(alert.start_time)))
    if alert.end_time:
        facts.append(("Ended", format_time(alert.end_time)))
    minutes = alert.duration_minutes
    if minutes is None and alert.start_time:
        minutes = _minutes_between(alert.start_time, alert.end_time)
    if minutes is not None:
        facts.append(("Duration" if alert.end_time else "Running for", format_minutes(minutes)))

    raw_evidence = [e for e in diag.get("evidence") or [] if isinstance(e, dict) and e.get("text")]
    evidence_all = [
        EvidenceLine(
            # Cut generously before redacting (a log line can be megabytes), then to the shown length.
            text=_cut(
                _PACKER_PREFIX.sub("", clean(str(e["text"])[: EVIDENCE_CHARS * 4]))
                .replace("\r", "")
                .replace("\n", " ⏎ "),
                EVIDENCE_CHARS,
            ),
            line=e.get("line") if isinstance(e.get("line"), int) else None,
            source=one_line(e.get("source")) or "log",
        )
        for e in raw_evidence[:MAX_EVIDENCE]
    ]
    evidence = tuple(evidence_all[:MAX_EVIDENCE]) if alert.kind != RECOVERED else ()

    notes: list[str] = []
    if alert.archive_partial:
        notes.append("The log disappeared while it was being copied: the archived log is incomplete.")
    if alert.previously_stuck and alert.kind == BUILD_FAILED:
        notes.append("This run had been reported as stuck before it failed.")
    if alert.previously_stuck and alert.kind == RECOVERED:
        notes.append("A run of this template had been reported as stuck.")
    notes.extend(_cut(one_line(w), PROSE_CHARS) for w in (diag.get("warnings") or [])[:10] if w)

    links: list[Link] = [Link("Open in Azure portal", alert.portal_url or portal_url(alert.template_id))]
    if alert.log_url:
        links.append(Link("Archived log", alert.log_url))
    elif alert.archive_url:
        links.append(Link("Archived files", alert.archive_url))
    doc = alert.doc_url or diag.get("doc")
    if doc and alert.kind != RECOVERED:
        links.append(Link("Troubleshooting guide", doc))

    remediation = (
        ()
        if alert.kind == RECOVERED
        else tuple(_cut(one_line(s), PROSE_CHARS) for s in (diag.get("remediation") or [])[:10] if s)
    )
    cause = "" if alert.kind == RECOVERED else _cut(clean(diag.get("cause")), PROSE_CHARS)
    return AlertContent(
        kind=alert.kind,
        severity=alert.severity,
        headline=headline,
        category_id=category_id,
        category_title=category_title,
        summary=summary,
        facts=tuple((k, _cut(v, 300)) for k, v in facts if v),
        cause=cause,
        remediation=remediation,
        evidence=evidence,
        evidence_omitted=max(len(raw_evidence) - len(evidence), 0) if alert.kind != RECOVERED else 0,
        status_message=_cut(clean(alert.status_message), PROSE_CHARS) if alert.kind != RECOVERED else "",
        notes=tuple(n for n in notes if n),
        # A link must never carry a SAS signature or token into a channel: redacted (and so unusable) instead.
        links=tuple(
            replace(link, url=redact(link.url.strip())) for link in links if link.url and link.url.strip()
        ),
        template_name=one_line(alert.template_name),
        created_at=alert.created_at,
    )


def plain_text(content: AlertContent) -> str:
    """The alert as plain text: the email's text part, the files written without a channel, the CLI output."""
    out = [content.headline, "=" * min(len(content.headline), 100), "", content.summary, ""]
    width = max((len(k) for k, _ in content.facts), default=0)
    out += [f"{k + ':':<{width + 1}} {v}" for k, v in content.facts]
    if content.status_message and content.status_message not in content.summary:
        out += ["", "Service message:", content.status_message]
    if content.cause:
        out += ["", "Cause:", content.cause]
    if content.remediation:
        out += ["", "What to do:"] + [f"  {i}. {step}" for i, step in enumerate(content.remediation, 1)]
    if content.evidence:
        out += ["", "Evidence:"] + [f"  {e.location}: {e.text}" for e in content.evidence]
    if content.evidence_omitted:
        out.append(f"  ({content.evidence_omitted} more evidence lines in the archived log)")
    if content.notes:
        out += [""] + [f"Note: {n}" for n in content.notes]
    if content.links:
        out += [""] + [f"{link.title}: {link.url}" for link in content.links]
    return "\n".join(out).rstrip() + "\n"


def subject(content: AlertContent) -> str:
    """Email subject / notification summary line."""
    tag = {
        BUILD_FAILED: "FAILED",
        SUBMISSION_FAILED: "FAILED",
        BUILD_STUCK: "STUCK",
        STILL_STUCK: "STILL STUCK",
        RECOVERED: "RECOVERED",
    }[content.kind]
    text = f"[AIB {tag}] {content.headline}"
    if content.category_title and content.kind != RECOVERED:
        text += f" — {content.category_title}"
    return _cut(text, 200)

"""What an alert says, independent of the channel, in the alert language (``ALERT_LANGUAGE``): a severity word
and headline, one sentence of what happened, the cause, the numbered fix, the evidence, compact facts, details
and links.

Every channel (Teams card, MessageCard, email, files) renders an ``AlertContent``; the channel only decides the
markup and escapes for its own format. Knowledge-base texts come in the alert language from ``diagnosis.i18n``
(English when a text has no translation); the alert's own words come from ``words``. Text taken from logs is
redacted again here (``diagnosis.redact``), so a channel never sees an unredacted evidence line even if a caller
forgot.

``AlertContent.trimmed(level)`` gives smaller versions (fewer and shorter evidence lines, then shorter prose) so
the channels can stay under the webhook size limit without ever dropping the header or the facts.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from diagnosis import logline
from diagnosis.categories import CATEGORIES
from diagnosis.i18n import EntryText, category_title, entry_text, normalize_language
from diagnosis.redact import redact

from . import sentences
from .model import BUILD_STUCK, RECOVERED, STILL_STUCK, Alert
from .words import words

log = logging.getLogger("monitor.alerts")

MAX_EVIDENCE = 10
PORTAL = "https://portal.azure.com"

# Built content is capped at EVIDENCE_CHARS per evidence line and PROSE_CHARS per prose field (a log line can
# be megabytes). Trim levels, smallest last: evidence goes first (shorter lines, then fewer), then prose,
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
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The monitor's own stuck verdict at the start of a stuck diagnosis' cause ("Stuck (timeout): ... grace.").
_STUCK_PREFIX = re.compile(r"^Stuck \([a-z-]+\):.*?(?:\. |$)")


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
        if self.source == "validation-log":
            return f"v{self.line}" if self.line is not None else "v"
        prefix = {"message": "msg", "provisioningError": "err", "template": "tpl"}
        return prefix.get(self.source, self.source[:3])


@dataclass(frozen=True)
class Link:
    title: str  # the long title (email, text)
    url: str
    button: str = ""  # the short title of a card button (fits a phone)

    @property
    def is_web(self) -> bool:
        return self.url.lower().startswith(("https://", "http://"))

    @property
    def button_title(self) -> str:
        return self.button or self.title


@dataclass(frozen=True)
class AlertContent:
    kind: str
    severity: str
    headline: str  # "Image build failed: win2022-golden"
    category_id: str | None
    category_title: str | None
    summary: str  # one sentence: what happened
    facts: tuple[tuple[str, str], ...]  # compact: template, resource group, run window, category
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
    language: str = "en"
    severity_word: str = ""  # FAILED / STUCK / STILL STUCK / RECOVERED in the alert language
    details: tuple[tuple[str, str], ...] = ()  # subscription, location, run state: behind "Show details"

    @property
    def words(self) -> dict[str, str]:
        return words(self.language)

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
        evidence = tuple(replace(e, text=_cut(e.text, t.evidence_chars)) for e in source.evidence[: t.evidence_lines])
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


def portal_url(template_id: str) -> str:
    return f"{PORTAL}/#@/resource{quote(template_id, safe='/')}/overview"


@lru_cache(maxsize=4)
def _knowledge_base(rule_files: tuple[str, ...]) -> Any:
    from diagnosis.rules import load_knowledge_base

    try:
        return load_knowledge_base(rule_files, use_env=False)
    except Exception as exc:  # a broken user rules file must not stop an alert
        log.warning("alerts: knowledge base not loaded (%s); alert texts come from the diagnosis", type(exc).__name__)
        return None


def knowledge_base(rule_files: Sequence[str | os.PathLike[str]] | None = None) -> Any:
    """The knowledge base the monitor diagnoses with: the built-in entries plus ``rule_files`` (the
    ``DIAGNOSIS_RULES`` setting; read from the environment when None), loaded once per set of files."""
    if rule_files is None:
        rule_files = [p for p in os.environ.get("DIAGNOSIS_RULES", "").split(os.pathsep) if p.strip()]
    return _knowledge_base(tuple(str(p).strip() for p in rule_files))


def _entry_texts(diag: dict[str, Any], language: str, kb: Any) -> EntryText | None:
    """The matched entry's texts in ``language``; None when the diagnosis names no entry of its category."""
    rule = kb.rules.get(diag.get("rule_id") or "") if kb is not None else None
    if rule is None or rule.category != diag.get("category"):
        return None
    return entry_text(rule, language)


def _warning_texts(language: str, kb: Any) -> dict[str, str]:
    """English warning of each harmless-line entry → the same warning in ``language``."""
    if kb is None or normalize_language(language) == "en":
        return {}
    return {r.warning: entry_text(r, language).warning for r in kb.rules.values() if r.benign}


def _evidence(diag: dict[str, Any]) -> tuple[list[EvidenceLine], int]:
    raw = [e for e in diag.get("evidence") or [] if isinstance(e, dict) and e.get("text")]
    lines = [
        EvidenceLine(
            # Cut generously before redacting (a log line can be megabytes), then to the shown length.
            text=_cut(
                logline.without_image_builder_prefix(clean(str(e["text"])[: EVIDENCE_CHARS * 4]))
                .replace("\r", "")
                .replace("\n", " ⏎ "),
                EVIDENCE_CHARS,
            ),
            line=e.get("line") if isinstance(e.get("line"), int) else None,
            source=one_line(e.get("source")) or "log",
        )
        for e in raw[:MAX_EVIDENCE]
    ]
    return lines, max(len(raw) - len(lines), 0)


def build_content(alert: Alert, language: str = "en", *, knowledge: Any = None) -> AlertContent:
    """The alert's content in ``language`` (``en``/``ru``); ``knowledge`` defaults to the monitor's knowledge base."""
    language = normalize_language(language)
    w = words(language)
    kb = knowledge if knowledge is not None else knowledge_base()
    diag = alert.diagnosis or {}
    stuck = alert.kind in (BUILD_STUCK, STILL_STUCK)
    recovered = alert.kind == RECOVERED
    category_id = diag.get("category") or None
    category = CATEGORIES.get(category_id) if category_id else None
    texts = _entry_texts(diag, language, kb)
    english_title = one_line(diag.get("title")) or (category.title if category else "")
    title = (texts.title if texts else "") or category_title(category_id, language, english_title) or None
    failed = diag.get("failed_customizer") or None
    name = one_line(alert.template_name) or "-"  # a blank name still gets its row
    headline = f"{w['headline.' + alert.kind]}: {name}"
    if alert.group:
        headline += w["headline.group"].format(count=len(alert.group))

    # The one sentence of what happened.
    if recovered:
        summary = sentences.recovered_sentence(alert, title, w, language)
    elif stuck:
        waits = (texts.title if texts else "") or w["stuck.waits"]
        summary = sentences.stuck_sentence(alert, waits, w, language)
    else:
        summary = sentences.customizer_sentence(failed, w, language, running=False)
        if not summary and language == "en":
            summary = _cut(one_line(diag.get("summary")), PROSE_CHARS)
        if not summary and title:
            summary = f"{title}."
        summary = summary or one_line(alert.status_message) or w["headline." + alert.kind] + "."

    # Cause and steps: the knowledge base's, in the alert language; otherwise what the diagnosis says.
    if texts is not None:
        cause, steps = texts.cause, list(texts.remediation)
    elif diag and category_id in (None, "unknown") and language != "en":
        cause, steps = w["unknown.cause"], [w["unknown.step1"], w["unknown.step2"]]
    else:
        cause = _STUCK_PREFIX.sub("", clean(diag.get("cause")))
        steps = [s for s in diag.get("remediation") or [] if s]
    if stuck and not any("az image builder cancel" in s for s in steps):
        steps.insert(0, w["stuck.cancel"].format(name=name, group=one_line(alert.resource_group)))

    facts = [
        (w["fact.template"], name),
        (w["fact.resource_group"], one_line(alert.resource_group)),
        (w["fact.run"], sentences.run_window(alert, w, language)),
    ]
    if title and not recovered:
        facts.append((w["fact.category"], title))
    if alert.group:
        others = ", ".join(
            f"{one_line(m.get('resource_group'))}/{one_line(m.get('template_name'))}" for m in alert.group
        )
        facts.append((w["fact.same_cause"], _cut(others, PROSE_CHARS)))
    details = [(w["fact.subscription"], one_line(alert.subscription_id))]
    if alert.location:
        details.append((w["fact.location"], one_line(alert.location)))
    state = " / ".join(one_line(s) for s in (alert.run_state, alert.run_sub_state) if s)
    if state:
        details.append((w["fact.run_state"], state))
    if stuck and failed:
        details.append((w["fact.running_step"], sentences.customizer_sentence(failed, w, language, running=True)))

    evidence, omitted = _evidence(diag) if not recovered else ([], 0)

    notes: list[str] = []
    if alert.archive_partial:
        notes.append(w["note.partial"])
    if alert.previously_stuck and not recovered:
        notes.append(w["note.was_stuck"])
    if alert.previously_stuck and recovered:
        notes.append(w["note.template_was_stuck"])
    translated = _warning_texts(language, kb)
    for warning in (diag.get("warnings") or [])[:10]:
        if warning:
            notes.append(_cut(one_line(translated.get(warning, warning)), PROSE_CHARS))

    links = [Link(w["link.portal"], alert.portal_url or portal_url(alert.template_id), w["button.portal"])]
    if alert.log_portal_url or alert.log_url:
        links.append(Link(w["link.log"], alert.log_portal_url or alert.log_url, w["button.log"]))
    elif alert.archive_portal_url or alert.archive_url:
        links.append(Link(w["link.files"], alert.archive_portal_url or alert.archive_url, w["button.files"]))
    doc = alert.doc_url or diag.get("doc")
    if doc and not recovered:
        links.append(Link(w["link.guide"], doc, w["button.guide"]))

    return AlertContent(
        kind=alert.kind,
        severity=alert.severity,
        headline=headline,
        category_id=category_id,
        category_title=title,
        summary=_cut(one_line(summary), PROSE_CHARS),
        facts=tuple((k, _cut(v, 300)) for k, v in facts if v),
        cause="" if recovered else _cut(clean(cause), PROSE_CHARS),
        remediation=() if recovered else tuple(_cut(one_line(s), PROSE_CHARS) for s in steps[:10]),
        evidence=tuple(evidence),
        evidence_omitted=omitted,
        status_message="" if recovered else _cut(clean(alert.status_message), PROSE_CHARS),
        notes=tuple(n for n in notes if n),
        # A link must never carry a SAS signature or token into a channel: redacted (and so unusable) instead.
        links=tuple(replace(link, url=redact(link.url.strip())) for link in links if link.url and link.url.strip()),
        template_name=name,
        created_at=alert.created_at,
        language=language,
        severity_word=w["word." + alert.kind],
        details=tuple((k, _cut(v, 300)) for k, v in details if v),
    )


def plain_text(content: AlertContent) -> str:
    """The alert as plain text: the email's text part, the files written without a channel, the CLI output.
    Same order as the cards: what happened, cause, fix, evidence, then the facts and details."""
    w = content.words
    title = f"{content.severity_word} — {content.headline}"
    out = [title, "=" * min(len(title), 100), "", content.summary]
    if content.cause:
        out += ["", f"{w['section.cause']}:", content.cause]
    if content.remediation:
        out += ["", f"{w['section.fix']}:"] + [f"  {i}. {step}" for i, step in enumerate(content.remediation, 1)]
    if content.evidence:
        out += ["", f"{w['section.evidence']}:"] + [f"  {e.location}: {e.text}" for e in content.evidence]
    if content.evidence_omitted:
        out.append("  " + w["evidence.more"].format(count=content.evidence_omitted))
    rows = content.facts + content.details
    width = max((len(k) for k, _ in rows), default=0)
    out += [""] + [f"{k + ':':<{width + 1}} {v}" for k, v in rows]
    if content.status_message:
        out += ["", f"{w['section.service_message']}:", content.status_message]
    if content.notes:
        out += ["", f"{w['section.notes']}:"] + [f"  - {n}" for n in content.notes]
    if content.links:
        out += [""] + [f"{link.title}: {link.url}" for link in content.links]
    return "\n".join(out).rstrip() + "\n"


def subject(content: AlertContent) -> str:
    """Email subject / notification summary line."""
    text = f"[{content.words['subject.tag']} {content.severity_word}] {content.headline}"
    if content.category_title and content.kind != RECOVERED:
        text += f" — {content.category_title}"
    return _cut(text, 200)

"""Translations of the knowledge base: entry texts and category titles in another language, English as the
fallback (standard library only).

Built-in translations are data beside the knowledge base, one file per language:
``diagnosis/knowledge/i18n/<lang>.json``::

    {"language": "ru",
     "categories": {"<category id>": "<title>", ...},
     "entries": {"<entry id>": {"title": ..., "cause": ..., "remediation": [...], "warning": ...}, ...}}

A knowledge-base entry (built-in or a user's rules file) may carry its own texts in an optional
``translations`` field of the same shape, keyed by language: ``{"ru": {"title": ..., "cause": ...,
"remediation": [...]}}``. A user entry's own translations win; a built-in translation is used only for the
built-in entry it was written for (a user entry that replaces a built-in id without translations stays
English). ``durations`` turns ``format_duration`` output into the language's units.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger("diagnosis.i18n")

LANGUAGES: tuple[str, ...] = ("en", "ru")
DEFAULT_LANGUAGE = "en"
I18N_DIR = Path(__file__).with_name("knowledge") / "i18n"
TEXT_FIELDS = ("title", "cause", "remediation", "warning")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")

# format_duration's units (s, min, h, d) in each language; one spelling per unit.
DURATION_UNITS: dict[str, dict[str, str]] = {"ru": {"s": "с", "min": "мин", "h": "ч", "d": "дн"}}
_DURATION_TOKEN = re.compile(r"(?<=\d )(s|min|h|d)\b")


@dataclass(frozen=True)
class EntryText:
    """The texts of one knowledge-base entry in one language."""

    title: str = ""
    cause: str = ""
    remediation: tuple[str, ...] = ()
    warning: str = ""

    def over(self, fallback: EntryText) -> EntryText:
        """These texts, each missing one taken from ``fallback``."""
        return EntryText(
            title=self.title or fallback.title,
            cause=self.cause or fallback.cause,
            remediation=self.remediation or fallback.remediation,
            warning=self.warning or fallback.warning,
        )


@dataclass(frozen=True)
class Catalog:
    """The built-in translations of one language."""

    language: str
    categories: Mapping[str, str]
    entries: Mapping[str, EntryText]


def normalize_language(value: str | None) -> str:
    """``ru``, ``RU``, ``ru-RU`` → ``ru``; anything unsupported → ``en``."""
    code = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def entry_text_from(data: Any, fail: Callable[[str, str], Exception], where: str) -> EntryText:
    """One language's texts of an entry, validated (``fail(field, problem)`` builds the error to raise)."""
    if not isinstance(data, dict):
        raise fail(where, "must be an object with title, cause, remediation and/or warning")
    unknown = set(data) - set(TEXT_FIELDS)
    if unknown:
        raise fail(f"{where}.{sorted(unknown)[0]}", f"unknown field (allowed: {', '.join(TEXT_FIELDS)})")
    for name in ("title", "cause", "warning"):
        if name in data and (not isinstance(data[name], str) or not data[name].strip()):
            raise fail(f"{where}.{name}", "must be a non-empty string")
    steps = data.get("remediation", [])
    if not isinstance(steps, list) or not all(isinstance(s, str) and s.strip() for s in steps):
        raise fail(f"{where}.remediation", "must be a list of non-empty strings")
    return EntryText(
        title=str(data.get("title", "")).strip(),
        cause=str(data.get("cause", "")).strip(),
        remediation=tuple(s.strip() for s in steps),
        warning=str(data.get("warning", "")).strip(),
    )


def parse_translations(value: Any, fail: Callable[[str, str], Exception]) -> dict[str, EntryText]:
    """A rules-file entry's ``translations`` field: ``{"<lang>": {texts}}``; absent → ``{}``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("translations", 'must be an object keyed by language, e.g. {"ru": {"title": ...}}')
    parsed: dict[str, EntryText] = {}
    for lang, texts in value.items():
        if not isinstance(lang, str) or not _LANGUAGE_CODE.match(lang):
            raise fail("translations", f"language keys are two lower-case letters, got {lang!r}")
        parsed[lang] = entry_text_from(texts, fail, f"translations.{lang}")
    return parsed


class TranslationError(ValueError):
    """A built-in translations file is invalid; the message names the file and the place."""


@lru_cache(maxsize=8)
def catalog(language: str) -> Catalog:
    """The built-in translations of ``language`` (an empty catalog for English or a missing file)."""
    language = normalize_language(language)
    path = I18N_DIR / f"{language}.json"
    if language == DEFAULT_LANGUAGE or not path.exists():
        return Catalog(language, {}, {})
    data = json.loads(path.read_text(encoding="utf-8"))

    def fail(where: str, problem: str) -> TranslationError:
        return TranslationError(f"{path}: {where}: {problem}")

    categories = data.get("categories", {})
    if not isinstance(categories, dict) or not all(isinstance(v, str) and v.strip() for v in categories.values()):
        raise fail("categories", "must map category ids to non-empty titles")
    entries_raw = data.get("entries", {})
    if not isinstance(entries_raw, dict):
        raise fail("entries", "must map entry ids to texts")
    entries = {rid: entry_text_from(texts, fail, f"entries.{rid}") for rid, texts in entries_raw.items()}
    return Catalog(language, dict(categories), entries)


def category_title(category_id: str | None, language: str, english: str = "") -> str:
    """The category's title in ``language`` (English ``english`` when there is no translation)."""
    if not category_id:
        return english
    return catalog(language).categories.get(category_id, "") or english


def entry_text(rule: Any, language: str) -> EntryText:
    """A knowledge-base entry's (``diagnosis.rules.Rule``) texts in ``language``, English for what is missing."""
    english = EntryText(title=rule.title, cause=rule.cause, remediation=tuple(rule.remediation), warning=rule.warning)
    language = normalize_language(language)
    if language == DEFAULT_LANGUAGE:
        return english
    own = (getattr(rule, "translations", None) or {}).get(language)
    if own is not None:
        return own.over(english)
    if _is_builtin(rule):
        builtin = catalog(language).entries.get(rule.id)
        if builtin is not None:
            return builtin.over(english)
    return english


def missing_texts(rules: Sequence[Any], language: str) -> dict[str, list[str]]:
    """Entry id → the texts (title, cause, remediation, warning) ``language`` has no translation of."""
    entries = catalog(language).entries
    missing: dict[str, list[str]] = {}
    for rule in rules:
        have = (getattr(rule, "translations", None) or {}).get(language) or entries.get(rule.id) or EntryText()
        if rule.benign:
            needed = ["title", "warning"]
        elif rule.error_record:  # a script's error line: never a category, so no cause or steps to translate
            needed = ["title"]
        else:
            needed = ["title", "cause", "remediation"]
        gaps = [name for name in needed if not getattr(have, name)]
        steps = len(have.remediation)
        if not rule.benign and steps and steps != len(rule.remediation):
            gaps.append(f"remediation ({steps} steps, English has {len(rule.remediation)})")
        if gaps:
            missing[rule.id] = gaps
    return missing


def durations(text: str, language: str) -> str:
    """``format_duration`` output (``4 h 20 min``) in ``language``'s units (``4 ч 20 мин``)."""
    units = DURATION_UNITS.get(normalize_language(language))
    if not units:
        return text
    return _DURATION_TOKEN.sub(lambda m: units[m.group(1)], text)


def _is_builtin(rule: Any) -> bool:
    origin = str(getattr(rule, "origin", ""))
    try:
        return Path(origin).resolve().parent == I18N_DIR.parent.resolve()
    except (OSError, ValueError):
        return False


def localize_diagnosis(diagnosis: Any, rules: Any, language: str) -> Any:
    """A copy of ``diagnosis`` (``diagnosis.model.Diagnosis``) with its title, cause, steps and harmless-line
    warnings in ``language``, taken from the matched entry of ``rules`` (a ``KnowledgeBase``); what has no
    translation stays as diagnosed."""
    from dataclasses import replace

    language = normalize_language(language)
    if language == DEFAULT_LANGUAGE:
        return diagnosis
    entries = getattr(rules, "rules", {}) or {}
    warnings = {r.warning: entry_text(r, language).warning for r in entries.values() if r.benign}
    changes: dict[str, Any] = {"warnings": [warnings.get(w, w) for w in diagnosis.warnings]}
    rule = entries.get(diagnosis.rule_id or "")
    if rule is not None and rule.category == diagnosis.category:
        texts = entry_text(rule, language)
        changes.update(title=texts.title, cause=texts.cause, remediation=list(texts.remediation))
    else:
        changes["title"] = category_title(diagnosis.category, language, diagnosis.title)
    return replace(diagnosis, **changes)

"""Which alerts go where, and which are silenced: matchers, routes (``ALERT_ROUTES``) and silences.

A *matcher* selects alerts by resource group / template name (globs, case-insensitive), template tags, diagnosis
category, alert kind and lowest severity; every condition given must hold, an empty matcher selects everything.
Routes are tried in order and the first match wins (Alertmanager's model, small); an alert no route matches
goes to the default channels (``TEAMS_WEBHOOK_URL``, ``EMAIL_WEBHOOK_URL``, ``ALERT_WEBHOOK_URL``).

``ALERT_ROUTES`` format (JSON)::

    {"routes": [
      {"name": "team-a",
       "match": {"resource_group": ["rg-team-a-*"], "template": ["win*"], "tags": {"team": "a"},
                 "category": ["customizer-failed"], "kind": ["build-failed"], "min_severity": "error"},
       "channels": [{"type": "teams", "url_setting": "TEAM_A_TEAMS_URL"},
                    {"type": "email", "url_setting": "TEAM_A_EMAIL_URL", "to": ["team-a@example.com"]},
                    {"type": "webhook", "url_setting": "TEAM_A_HOOK_URL"}]}
    ]}

A channel names the app setting that holds its URL (in Azure a Key Vault reference), never the URL itself, so
the routes can be read and reviewed without exposing a secret.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import Alert

SEVERITIES = ("info", "warning", "error", "critical")
CHANNEL_TYPES = ("teams", "teams-messagecard", "email", "webhook")
MAX_ROUTES = 100
_MATCH_KEYS = {"resource_group", "template", "tags", "category", "kind", "min_severity"}


class RoutesError(ValueError):
    """ALERT_ROUTES (or a silence) is not valid; the message names the route and the field."""


@dataclass(frozen=True)
class Matcher:
    resource_groups: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    tags: tuple[tuple[str, str | None], ...] = ()  # (key, value glob); None: the tag is present
    categories: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    min_severity: str | None = None

    def matches(self, alert: Alert) -> bool:
        if self.resource_groups and not _any_glob(alert.resource_group, self.resource_groups):
            return False
        if self.templates and not _any_glob(alert.template_name, self.templates):
            return False
        tags = {str(k).lower(): str(v) for k, v in (alert.template_tags or {}).items()}
        for key, value in self.tags:
            have = tags.get(key.lower())
            if have is None or (value is not None and not fnmatch.fnmatchcase(have.lower(), value.lower())):
                return False
        if self.categories and (alert.category or "") not in self.categories:
            return False
        if self.kinds and alert.kind not in self.kinds:
            return False
        return not (self.min_severity and _rank(alert.severity) < _rank(self.min_severity))

    def describe(self) -> str:
        parts = [f"rg={','.join(self.resource_groups)}"] if self.resource_groups else []
        parts += [f"template={','.join(self.templates)}"] if self.templates else []
        parts += [f"tag:{k}" + (f"={v}" if v is not None else "") for k, v in self.tags]
        parts += [f"category={','.join(self.categories)}"] if self.categories else []
        parts += [f"kind={','.join(self.kinds)}"] if self.kinds else []
        parts += [f"severity>={self.min_severity}"] if self.min_severity else []
        return " ".join(parts) or "everything"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.resource_groups:
            out["resource_group"] = list(self.resource_groups)
        if self.templates:
            out["template"] = list(self.templates)
        if self.tags:
            out["tags"] = dict(self.tags)
        if self.categories:
            out["category"] = list(self.categories)
        if self.kinds:
            out["kind"] = list(self.kinds)
        if self.min_severity:
            out["min_severity"] = self.min_severity
        return out


@dataclass(frozen=True)
class ChannelSpec:
    type: str
    url_setting: str
    to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    name: str
    match: Matcher
    channels: tuple[ChannelSpec, ...] = field(default_factory=tuple)

    def channel_name(self, spec: ChannelSpec) -> str:
        return f"{spec.type}@{self.name}"


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _any_glob(value: str, globs: tuple[str, ...]) -> bool:
    lowered = (value or "").lower()
    return any(fnmatch.fnmatchcase(lowered, g.lower()) for g in globs)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RoutesError(f"{where}: expected a string or a list of non-empty strings")
    return tuple(v.strip() for v in value)


def parse_matcher(data: Any, where: str) -> Matcher:
    if data is None:
        return Matcher()
    if not isinstance(data, dict):
        raise RoutesError(f"{where}: 'match' must be an object")
    unknown = set(data) - _MATCH_KEYS
    if unknown:
        raise RoutesError(f"{where}: unknown match key(s) {sorted(unknown)} (allowed: {sorted(_MATCH_KEYS)})")
    tags = data.get("tags", {})
    if not isinstance(tags, dict) or not all(
        isinstance(k, str) and k and (v is None or isinstance(v, str)) for k, v in tags.items()
    ):
        raise RoutesError(f"{where}: 'tags' must map tag names to a value (glob) or null")
    severity = data.get("min_severity")
    if severity is not None and severity not in SEVERITIES:
        raise RoutesError(f"{where}: 'min_severity' must be one of {', '.join(SEVERITIES)}")
    return Matcher(
        resource_groups=_strings(data["resource_group"], f"{where}.resource_group") if "resource_group" in data else (),
        templates=_strings(data["template"], f"{where}.template") if "template" in data else (),
        tags=tuple(sorted(tags.items())),
        categories=_strings(data["category"], f"{where}.category") if "category" in data else (),
        kinds=_strings(data["kind"], f"{where}.kind") if "kind" in data else (),
        min_severity=severity,
    )


def parse_routes(data: Any, environ: Mapping[str, str], *, origin: str = "ALERT_ROUTES") -> list[Route]:
    """Routes from parsed JSON; every channel's URL setting must exist in ``environ`` and hold an http(s) URL."""
    entries = data.get("routes") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise RoutesError(f"{origin}: expected {{\"routes\": [...]}} or a list of routes")
    if len(entries) > MAX_ROUTES:
        raise RoutesError(f"{origin}: at most {MAX_ROUTES} routes, got {len(entries)}")
    routes: list[Route] = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{origin}: route #{index}"
        if not isinstance(entry, dict):
            raise RoutesError(f"{where}: expected an object")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip() or not all(c.isalnum() or c in "-_." for c in name):
            raise RoutesError(f"{where}: 'name' is required (letters, digits, '-', '_', '.')")
        where = f"{origin}: route #{index} ({name})"
        if name in names:
            raise RoutesError(f"{where}: duplicate name")
        names.add(name)
        unknown = set(entry) - {"name", "match", "channels", "comment"}
        if unknown:
            raise RoutesError(f"{where}: unknown field(s) {sorted(unknown)}")
        raw_channels = entry.get("channels")
        if not isinstance(raw_channels, list) or not raw_channels:
            raise RoutesError(f"{where}: 'channels' must be a non-empty list")
        specs = []
        for j, spec in enumerate(raw_channels):
            cwhere = f"{where} channel #{j}"
            if not isinstance(spec, dict) or spec.get("type") not in CHANNEL_TYPES:
                raise RoutesError(f"{cwhere}: 'type' must be one of {', '.join(CHANNEL_TYPES)}")
            setting = spec.get("url_setting")
            if not isinstance(setting, str) or not setting:
                raise RoutesError(f"{cwhere}: 'url_setting' must name the app setting that holds the URL")
            url = environ.get(setting, "")
            if not url.startswith(("https://", "http://")):
                raise RoutesError(f"{cwhere}: app setting {setting} is missing or not an http(s) URL")
            to = _strings(spec.get("to", []), f"{cwhere}.to") if spec.get("to") else ()
            if spec["type"] == "email" and not to:
                raise RoutesError(f"{cwhere}: an email channel needs 'to'")
            specs.append(ChannelSpec(spec["type"], setting, to))
        routes.append(Route(name, parse_matcher(entry.get("match"), f"{where}.match"), tuple(specs)))
    return routes


def load_routes(text: str, environ: Mapping[str, str], *, origin: str = "ALERT_ROUTES") -> list[Route]:
    """Routes from JSON text (the setting's value, or a routes file's content); empty text: no routes."""
    if not text.strip():
        return []
    if len(text) > 1 << 20:
        raise RoutesError(f"{origin}: larger than 1 MiB")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RoutesError(f"{origin}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise RoutesError(f"{origin}: nested too deeply") from None
    return parse_routes(data, environ, origin=origin)


def select(routes: list[Route], alert: Alert) -> Route | None:
    """The first route whose matcher selects ``alert``; None: the default channels."""
    return next((r for r in routes if r.match.matches(alert)), None)

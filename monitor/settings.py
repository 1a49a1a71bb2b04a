"""The monitor's settings: one dataclass read from the environment (app settings) and validated at start-up.

The setting names are a contract shared with infra/ (app settings) and the README. ``SETTING_NAMES`` lists every
name the code reads; a test checks infra against it.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SETTING_NAMES: tuple[str, ...] = (
    "AZURE_SUBSCRIPTION_ID",
    "ARM_ENDPOINT",
    "ARCHIVE_STORAGE_URL",
    "ARCHIVE_CONNECTION_STRING",
    "ARCHIVE_DIR",
    "ARCHIVE_CONTAINER",
    "ARCHIVE_STORAGE_ACCOUNT_ID",
    "STAGING_LOG_AUTH",
    "STUCK_AFTER_MINUTES",
    "TIMEOUT_GRACE_MINUTES",
    "SWEEP_SCHEDULE",
    "SWEEP_BUDGET_MINUTES",
    "TEMPLATE_FILTER",
    "DIAGNOSIS_RULES",
    "TEAMS_WEBHOOK_URL",
    "TEAMS_WEBHOOK_FORMAT",
    "EMAIL_WEBHOOK_URL",
    "EMAIL_TO",
    "ALERT_WEBHOOK_URL",
    "ALERT_DIR",
    "STUCK_REPEAT_HOURS",
    "ALERT_MIN_SEVERITY",
    "ALERT_MUTE_CATEGORIES",
    "ALERT_ROUTES",
    "ALERT_GROUP_WINDOW_MINUTES",
    "ALERT_LANGUAGE",
)

SECRET_SETTINGS = frozenset(
    {"TEAMS_WEBHOOK_URL", "EMAIL_WEBHOOK_URL", "ALERT_WEBHOOK_URL", "ARCHIVE_CONNECTION_STRING"}
)

SEVERITIES = ("info", "warning", "error", "critical")


class SettingsError(ValueError):
    """A setting is missing or malformed. The message names the setting."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"setting {name}: {problem}")
        self.name = name


@dataclass(frozen=True)
class TemplateFilter:
    """Which templates to watch. Terms are OR-ed; no term means every template.

    ``TEMPLATE_FILTER`` is a comma-separated list of ``rg:<glob>`` (resource group), ``name:<glob>`` (template
    name; a bare ``<glob>`` means the same) and ``tag:<key>`` / ``tag:<key>=<value>``. Globs are case-insensitive.
    """

    resource_groups: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    tags: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def parse(cls, text: str) -> TemplateFilter:
        rgs: list[str] = []
        names: list[str] = []
        tags: list[tuple[str, str | None]] = []
        for raw in text.split(","):
            term = raw.strip()
            if not term:
                continue
            kind, sep, value = term.partition(":")
            if not sep:
                kind, value = "name", term
            kind, value = kind.strip().lower(), value.strip()
            if not value:
                raise SettingsError("TEMPLATE_FILTER", f"term {term!r} has no value")
            if kind in ("rg", "resourcegroup", "resource-group"):
                rgs.append(value.lower())
            elif kind == "name":
                names.append(value.lower())
            elif kind == "tag":
                key, eq, tag_value = value.partition("=")
                tags.append((key.strip().lower(), tag_value.strip() if eq else None))
            else:
                raise SettingsError("TEMPLATE_FILTER", f"unknown term kind {kind!r} (use rg:, name: or tag:)")
        return cls(tuple(rgs), tuple(names), tuple(tags))

    @property
    def empty(self) -> bool:
        return not (self.resource_groups or self.names or self.tags)

    def matches(self, resource_group: str, name: str, tags: Mapping[str, str] | None = None) -> bool:
        if self.empty:
            return True
        if any(fnmatch.fnmatchcase(resource_group.lower(), g) for g in self.resource_groups):
            return True
        if any(fnmatch.fnmatchcase(name.lower(), g) for g in self.names):
            return True
        lowered = {k.lower(): v for k, v in (tags or {}).items()}
        return any(k in lowered and (v is None or lowered[k] == v) for k, v in self.tags)


@dataclass(frozen=True)
class Settings:
    subscription_id: str | None = None
    arm_endpoint: str = "https://management.azure.com"
    archive_storage_url: str | None = None
    archive_connection_string: str | None = field(default=None, repr=False)
    archive_dir: Path = Path("./aib-archive")
    archive_container: str = "aib-logs"
    archive_storage_account_id: str | None = None  # the archive account's resource id: alerts link to the portal
    staging_log_auth: str = "aad"  # "aad" | "key"
    stuck_after_minutes: float = 30.0
    timeout_grace_minutes: float = 15.0
    sweep_schedule: str = "0 */5 * * * *"
    sweep_budget_minutes: float = 5.0  # a sweep starts no template after this, and waits for none beyond it
    template_filter: TemplateFilter = field(default_factory=TemplateFilter)
    diagnosis_rules: tuple[Path, ...] = ()
    teams_webhook_url: str | None = field(default=None, repr=False)
    teams_webhook_format: str = "workflows"  # "workflows" | "messagecard"
    email_webhook_url: str | None = field(default=None, repr=False)
    email_to: tuple[str, ...] = ()
    alert_webhook_url: str | None = field(default=None, repr=False)
    alert_dir: Path = Path("./aib-alerts")
    stuck_repeat_hours: float = 4.0
    alert_min_severity: str = "info"
    alert_mute_categories: frozenset[str] = frozenset()
    alert_routes: tuple[Any, ...] = ()  # monitor.alerts.routing.Route, validated at start-up
    alert_group_window_minutes: float = 0.0  # 0: every alert at once
    alert_language: str = "en"  # "en" | "ru": the language of every alert text

    @property
    def archive_kind(self) -> str:
        """Where archives and state live: "blob-aad", "blob-connection-string" or "local"."""
        if self.archive_storage_url:
            return "blob-aad"
        if self.archive_connection_string:
            return "blob-connection-string"
        return "local"

    @property
    def any_alert_channel(self) -> bool:
        return bool(self.teams_webhook_url or self.email_webhook_url or self.alert_webhook_url)

    def require_subscription(self) -> str:
        if not self.subscription_id:
            raise SettingsError("AZURE_SUBSCRIPTION_ID", "is required to look at image templates")
        return self.subscription_id

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        def number(name: str, default: float, minimum: float = 0.0) -> float:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise SettingsError(name, f"expected a number, got {raw!r}") from None
            if value < minimum:
                raise SettingsError(name, f"must be at least {minimum:g}, got {raw!r}")
            return value

        def url(name: str, *, https_only: bool = False) -> str | None:
            raw = get(name)
            schemes = ("https://",) if https_only else ("https://", "http://")
            if raw is not None and not raw.lower().startswith(schemes):
                # Never echo the value: webhook URLs carry signatures.
                raise SettingsError(name, "must be an https URL" if https_only else "must be an http(s) URL")
            return raw

        def choice(name: str, default: str, options: tuple[str, ...]) -> str:
            raw = (get(name) or default).lower()
            if raw not in options:
                raise SettingsError(name, f"must be one of {', '.join(options)}, got {raw!r}")
            return raw

        subscription = get("AZURE_SUBSCRIPTION_ID")
        if subscription is not None and not _looks_like_guid(subscription):
            raise SettingsError(
                "AZURE_SUBSCRIPTION_ID", f"expected a subscription GUID, got {subscription!r}"
            )

        email_to = tuple(a.strip() for a in (get("EMAIL_TO") or "").replace(";", ",").split(",") if a.strip())
        for address in email_to:
            if "@" not in address:
                raise SettingsError("EMAIL_TO", f"{address!r} is not an email address")
        email_webhook = url("EMAIL_WEBHOOK_URL")
        if email_webhook and not email_to:
            raise SettingsError("EMAIL_TO", "is required when EMAIL_WEBHOOK_URL is set")

        rules = tuple(Path(p.strip()) for p in (get("DIAGNOSIS_RULES") or "").split(os.pathsep) if p.strip())

        schedule = get("SWEEP_SCHEDULE") or cls.sweep_schedule
        if len(schedule.split()) != 6:
            raise SettingsError("SWEEP_SCHEDULE", f"expected a 6-field NCRONTAB expression, got {schedule!r}")

        return cls(
            subscription_id=subscription,
            # Bearer tokens go to ARM: never over plain http.
            arm_endpoint=(url("ARM_ENDPOINT", https_only=True) or cls.arm_endpoint).rstrip("/"),
            archive_storage_url=url("ARCHIVE_STORAGE_URL"),
            archive_connection_string=get("ARCHIVE_CONNECTION_STRING"),
            archive_dir=Path(get("ARCHIVE_DIR") or cls.archive_dir),
            archive_container=_container_name(get("ARCHIVE_CONTAINER") or cls.archive_container),
            archive_storage_account_id=_storage_account_id(get("ARCHIVE_STORAGE_ACCOUNT_ID")),
            staging_log_auth=choice("STAGING_LOG_AUTH", "aad", ("aad", "key")),
            stuck_after_minutes=number("STUCK_AFTER_MINUTES", 30.0, minimum=1.0),
            timeout_grace_minutes=number("TIMEOUT_GRACE_MINUTES", 15.0),
            sweep_schedule=schedule,
            sweep_budget_minutes=number("SWEEP_BUDGET_MINUTES", 5.0, minimum=0.01),
            template_filter=TemplateFilter.parse(get("TEMPLATE_FILTER") or ""),
            diagnosis_rules=rules,
            teams_webhook_url=url("TEAMS_WEBHOOK_URL"),
            teams_webhook_format=choice("TEAMS_WEBHOOK_FORMAT", "workflows", ("workflows", "messagecard")),
            email_webhook_url=email_webhook,
            email_to=email_to,
            alert_webhook_url=url("ALERT_WEBHOOK_URL"),
            alert_dir=Path(get("ALERT_DIR") or cls.alert_dir),
            stuck_repeat_hours=number("STUCK_REPEAT_HOURS", 4.0, minimum=0.1),
            alert_min_severity=choice("ALERT_MIN_SEVERITY", "info", SEVERITIES),
            alert_mute_categories=frozenset(
                c.strip() for c in (get("ALERT_MUTE_CATEGORIES") or "").split(",") if c.strip()
            ),
            alert_routes=_alert_routes(get("ALERT_ROUTES") or "", env),
            alert_group_window_minutes=number("ALERT_GROUP_WINDOW_MINUTES", 0.0),
            alert_language=choice("ALERT_LANGUAGE", "en", ("en", "ru")),
        )


def _storage_account_id(value: str | None) -> str | None:
    """ARCHIVE_STORAGE_ACCOUNT_ID: the archive account's resource id
    (``/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>``)."""
    if value is None:
        return None
    parts = value.strip().strip("/").split("/")
    if len(parts) != 8 or [p.lower() for p in parts[0:7:2]] != [
        "subscriptions", "resourcegroups", "providers", "storageaccounts"
    ] or parts[5].lower() != "microsoft.storage":
        raise SettingsError("ARCHIVE_STORAGE_ACCOUNT_ID", "must be a storage account's resource id")
    return "/" + "/".join(parts)


def _alert_routes(value: str, env: Mapping[str, str]) -> tuple[Any, ...]:
    """ALERT_ROUTES: routes as JSON, or ``@path`` to a JSON file shipped with the app (relative to its root)."""
    from monitor.alerts.routing import RoutesError, load_routes  # the alert package loads only when routes exist

    if not value.strip():
        return ()
    text, origin = value, "ALERT_ROUTES"
    if value.startswith("@"):
        path = Path(value[1:].strip())
        try:
            text = path.read_text(encoding="utf-8")[: (1 << 20) + 1]
        except OSError as exc:
            raise SettingsError("ALERT_ROUTES", f"cannot read {path}: {exc.strerror or exc}") from None
        origin = f"ALERT_ROUTES file {path}"
    try:
        return tuple(load_routes(text, env, origin=origin))
    except RoutesError as exc:
        raise SettingsError("ALERT_ROUTES", str(exc)) from None


def _looks_like_guid(value: str) -> bool:
    parts = value.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        c in "0123456789abcdefABCDEF" for c in value.replace("-", "")
    )


def _container_name(value: str) -> str:
    ok = (
        3 <= len(value) <= 63
        and value[0].isalnum()
        and all(c.islower() or c.isdigit() or c == "-" for c in value)
    )
    if not ok or "--" in value:
        raise SettingsError("ARCHIVE_CONTAINER", f"{value!r} is not a valid blob container name")
    return value

"""Times and durations: the one parser and the one formatter every part of the project uses.

``parse_time`` reads what Azure and Packer print (ISO 8601 with up to 7 fractional digits, ``Z`` or an offset,
Packer's ``2024/04/30 23:28:50``) into an aware UTC ``datetime``; ``find_time`` finds the first such timestamp
inside a log line. ``format_duration`` writes every duration the same way (``12 s``, ``7 min``, ``4 h 20 min``,
``2 d 3 h``) and ``format_utc`` every moment (``2024-04-30 23:28 UTC``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?\s?(Z|z|[+-]\d\d:?\d\d)?"
)
_PACKER = re.compile(r"(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)")


def _build(groups: tuple[str | None, ...], zone: str | None) -> datetime | None:
    year, month, day, hour, minute = (int(g or 0) for g in groups[:5])
    second = int(groups[5] or 0)
    micro = int((groups[6] or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(year, month, day, hour, minute, second, micro)
    except ValueError:
        return None
    if year <= 1:  # Azure's "not set" (0001-01-01T00:00:00Z)
        return None
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:4]))
        try:
            return (moment - timedelta(minutes=offset)).replace(tzinfo=UTC)
        except OverflowError:
            return None
    return moment.replace(tzinfo=UTC)


def parse_time(value: Any) -> datetime | None:
    """A whole value as a time: ISO 8601 or Packer's format → aware UTC; empty, ``0001-01-01`` or garbage → None.

    Naive values are taken as UTC (Azure and Packer print UTC).
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.year <= 1:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    m = _ISO.fullmatch(text)
    if m:
        return _build(m.groups()[:7], m.group(8))
    m = _PACKER.fullmatch(text)
    if m:
        return _build((*m.groups(), None), None)
    return None


def find_time(text: str) -> datetime | None:
    """The first timestamp inside ``text`` (a log line), Packer's format first, else ISO 8601."""
    m = _PACKER.search(text)
    if m:
        return _build((*m.groups(), None), None)
    m = _ISO.search(text)
    if m:
        return _build(m.groups()[:7], m.group(8))
    return None


def iso(moment: datetime | None) -> str | None:
    """``2024-04-30T23:28:50Z`` (UTC, seconds), or None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_utc(value: datetime | str | None) -> str:
    """``2024-04-30 23:28 UTC``; an unreadable string is returned as it is, None as ``""``."""
    moment = parse_time(value)
    if moment is None:
        return value.strip() if isinstance(value, str) else ""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def format_duration(seconds: float | None) -> str:
    """One spelling for every duration: ``45 s``, ``7 min``, ``4 h 20 min``, ``4 h``, ``2 d 3 h``; None → ``""``."""
    if seconds is None:
        return ""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_minutes(minutes: float | None) -> str:
    """``format_duration`` for a number of minutes."""
    return "" if minutes is None else format_duration(minutes * 60.0)


def seconds_between(start: datetime | str | None, end: datetime | str | None) -> float | None:
    """``end - start`` in seconds (never negative), or None when either is missing or unreadable."""
    begin, finish = parse_time(start), parse_time(end)
    if begin is None or finish is None:
        return None
    return max(0.0, (finish - begin).total_seconds())

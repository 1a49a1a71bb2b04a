"""Operator commands of ``python -m monitor`` / ``aib-monitor``: history, show, resend, outbox, silence.

They read and write the archive container the deployed app uses (same settings), never Azure Resource Manager.
Every printed line is redacted.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from diagnosis.redact import redact
from diagnosis.times import format_utc
from monitor.settings import Settings

Handler = Callable[[argparse.Namespace, Settings, TextIO], int]


def register(sub: Any) -> dict[str, Handler]:
    """Add the operator sub-commands to ``sub`` (argparse sub-parsers); returns command name → handler."""
    history = sub.add_parser("history", help="failed, stuck and rejected runs from the archive, newest first")
    history.add_argument("--since", default="7d", help="a span (7d, 12h, 30m, 2w) or a date (default: 7d)")
    history.add_argument("--category", help="only this diagnosis category id")
    history.add_argument("--template", help="glob on the template name or <resource group>/<name>")
    history.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="one run: its stored diagnosis, status and archived files")
    show.add_argument("run", help="a run key or archive folder (from `history`)")
    show.add_argument("--json", action="store_true")
    resend = sub.add_parser("resend", help="deliver a run's alert again (marked as a resend)")
    resend.add_argument("run", help="a run key or archive folder (from `history`)")
    resend.add_argument("--kind", help="which of the run's alerts (default: the latest sent)")
    resend.add_argument("--channel", help="only this channel (default: the channels its route picks)")
    outbox = sub.add_parser("outbox", help="alerts waiting for a channel, and dead letters")
    outbox.add_argument("--retry", action="store_true", help="try every waiting alert now")
    outbox.add_argument("--dead-letter", action="store_true", help="list the dead letters and why they died")
    outbox.add_argument("--replay", action="store_true", help="deliver every dead letter again")
    silence = sub.add_parser("silence", help="hold alerts back for a while: add, list, remove")
    actions = silence.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="a new silence (at least one condition)")
    add.add_argument("--template", action="append", default=[], help="template name glob (repeatable)")
    add.add_argument("--resource-group", action="append", default=[], help="resource group glob (repeatable)")
    add.add_argument("--category", action="append", default=[], help="diagnosis category id (repeatable)")
    add.add_argument("--tag", action="append", default=[], help="KEY or KEY=VALUE-glob (repeatable)")
    add.add_argument("--for", dest="duration", required=True, help="how long: 30m, 4h, 2d, 1w")
    add.add_argument("--reason", required=True, help="why (shown in history and in the logs)")
    listing = actions.add_parser("list", help="active silences (--all: expired ones too)")
    listing.add_argument("--all", action="store_true")
    remove = actions.add_parser("remove", help="end a silence now")
    remove.add_argument("id")
    return {
        "history": cmd_history,
        "show": cmd_show,
        "resend": cmd_resend,
        "outbox": cmd_outbox,
        "silence": cmd_silence,
    }


def _store(settings: Settings) -> Any:
    from monitor.storage.factory import open_store

    return open_store(settings)


def _dispatcher(settings: Settings, store: Any) -> Any:
    from monitor.alerts import AlertDispatcher

    return AlertDispatcher.from_settings(settings, store)


def _write(out: TextIO, text: str) -> None:
    out.write(redact(text) + "\n")


def _table(out: TextIO, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = [header, *rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    for i, row in enumerate(table):
        _write(out, "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            _write(out, "  ".join("-" * w for w in widths))


def cmd_history(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from monitor.operations import category_counts, history, parse_since

    since = parse_since(args.since, datetime.now(UTC))
    rows = history(_store(settings), since=since, category=args.category, template=args.template)
    if args.json:
        _write(out, json.dumps([r.to_dict() for r in rows], indent=2))
        return 0
    _write(out, f"{len(rows)} failed or stuck run(s) since {format_utc(since)}")
    if rows:
        _table(
            out,
            ("when", "template", "state", "category", "summary", "archive"),
            [(r.when, r.template, r.state, r.category, r.summary[:80], r.archive_path) for r in rows],
        )
        _write(out, "by category: " + ", ".join(f"{c} {n}" for c, n in category_counts(rows)))
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from monitor.operations import find_run

    store = _store(settings)
    details = find_run(store, args.run)
    if args.json:
        record = details.record.__dict__ if details.record else None
        data = {
            "archive_path": details.archive_path,
            "record": record,
            "status": details.status,
            "diagnosis": details.diagnosis,
            "files": details.files,
        }
        _write(out, json.dumps(data, indent=2, default=str))
        return 0
    diag = details.diagnosis or {}
    _write(out, f"Archive:   {details.archive_path}")
    if details.record is not None:
        r = details.record
        _write(out, f"Template:  {r.resource_group}/{r.template_name} ({r.state}, run {r.run_state or '?'})")
        _write(out, f"Run:       {format_utc(r.start_time)} → {format_utc(r.end_time) or 'running'}")
        _write(out, f"Alerts:    {', '.join(sorted(r.alerts_sent)) or 'none'}")
    if diag:
        _write(out, f"Category:  {diag.get('category')} - {diag.get('title')}")
        _write(out, f"Summary:   {diag.get('summary')}")
        for i, step in enumerate(diag.get("remediation") or [], 1):
            _write(out, f"  {i}. {step}")
        for ev in (diag.get("evidence") or [])[:10]:
            _write(out, f"  {ev.get('source')}:{ev.get('line')}  {ev.get('text')}")
    _write(out, f"Log:       {details.log_key or 'not archived'}")
    _write(out, "Files:     " + ", ".join(f.rsplit("/", 1)[-1] for f in details.files))
    return 0


def cmd_resend(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from monitor.operations import OperationError, alert_for_resend, find_run

    store = _store(settings)
    alert = alert_for_resend(store, find_run(store, args.run), args.kind)
    dispatcher = _dispatcher(settings, store)
    if args.channel:
        if args.channel not in dispatcher.channels:
            raise OperationError(f"no channel {args.channel!r}; configured: {', '.join(dispatcher.channels)}")
        names = [args.channel]
    else:
        _route, names = dispatcher.targets(alert)
    failed = []
    for name in names:
        outcome = dispatcher.deliver(dispatcher.channels[name], alert)
        _write(out, f"{alert.kind} for {alert.template_name} → {name}: {'delivered' if outcome.ok else outcome.error}")
        if not outcome.ok:
            failed.append(name)
    return 1 if failed else 0


def cmd_outbox(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    store = _store(settings)
    dispatcher = _dispatcher(settings, store)
    outbox = dispatcher.outbox
    if args.retry:
        _write(out, str(dispatcher.flush_outbox()))
    if args.replay:
        delivered, failed = dispatcher.replay_dead_letters()
        _write(out, f"dead letters replayed: {delivered} delivered, {failed} still failing")
    rows = [
        (
            e.queued_at[:19],
            e.alert.get("kind", "?"),
            e.alert.get("template_name", "?"),
            ",".join(e.pending),
            "; ".join(f"{k}: {v}" for k, v in e.last_error.items())[:100],
        )
        for _k, e, _t in outbox.entries()
    ]
    _write(out, f"{len(rows)} alert(s) waiting")
    if rows:
        _table(out, ("queued", "kind", "template", "channels", "last error"), rows)
    dead = outbox.dead_letters()
    _write(out, f"{len(dead)} dead letter(s)")
    if args.dead_letter and dead:
        _table(
            out,
            ("buried", "kind", "template", "channel", "reason"),
            [
                (
                    str(r.get("buried_at", ""))[:19],
                    (r.get("alert") or {}).get("kind", "?"),
                    (r.get("alert") or {}).get("template_name", "?"),
                    str(r.get("channel", "?")),
                    str(r.get("reason", ""))[:100],
                )
                for _k, r in dead
            ],
        )
    return 0


def cmd_silence(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from monitor.alerts.routing import parse_matcher
    from monitor.alerts.silences import SilenceStore
    from monitor.operations import OperationError, parse_since

    silences = SilenceStore(_store(settings))
    if args.action == "add":
        now = datetime.now(UTC)
        duration = now - parse_since(args.duration, now)
        if duration.total_seconds() <= 0:
            raise OperationError(f"--for {args.duration!r}: use a span such as 30m, 4h, 2d")
        match: dict[str, Any] = {}
        for key, values in (
            ("template", args.template),
            ("resource_group", args.resource_group),
            ("category", args.category),
        ):
            if values:
                match[key] = values
        if args.tag:
            match["tags"] = {t.split("=", 1)[0]: (t.split("=", 1)[1] if "=" in t else None) for t in args.tag}
        silence = silences.add(parse_matcher(match, "silence"), duration, args.reason, _who())
        _write(out, f"silence {silence.id} until {format_utc(silence.expires_at)}: {silence.match.describe()}")
        return 0
    if args.action == "remove":
        if not silences.remove(args.id):
            raise OperationError(f"no silence {args.id!r} (see `silence list --all`)")
        _write(out, f"silence {args.id} removed")
        return 0
    now = datetime.now(UTC)
    shown = silences.all() if args.all else silences.active()
    _write(out, f"{len(shown)} silence(s)")
    if shown:
        _table(
            out,
            ("id", "until", "matches", "reason", "by"),
            [
                (
                    s.id,
                    format_utc(s.expires_at) + ("" if s.active(now) else " (expired)"),
                    s.match.describe(),
                    s.reason[:60],
                    s.created_by,
                )
                for s in shown
            ],
        )
    return 0


def _who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""

"""Command line: ``python -m monitor sweep | check TEMPLATE_ID | demo``.

Settings come from the environment (the same names as the app settings); a bad setting exits with status 2 and
a message naming it. Output is a table (or JSON with ``--json``); printed text is redacted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from monitor.settings import Settings, SettingsError

COPY_HELP = "auto: server-side Copy Blob where allowed, else streamed (default); stream: always stream"
COLUMNS = ("template", "resource group", "state", "category", "alert", "archive")


def _redact(text: str) -> str:
    from diagnosis.redact import redact

    return redact(text)


def render_table(rows: Sequence[Any], out: TextIO) -> None:
    table = [COLUMNS]
    for row in rows:
        state = row.state + (f" ({row.stuck_reason.split(':')[0]})" if row.stuck_reason else "")
        if row.archive_partial:
            state += " partial"
        note = ",".join(row.alerts) or ("-" if not row.note else f"- ({row.note})")
        table.append((row.name, row.resource_group, state, row.category or "-", note, row.archive_path or "-"))
    widths = [max(len(str(r[i])) for r in table) for i in range(len(COLUMNS))]
    for i, row in enumerate(table):
        out.write("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
        if i == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


def destinations(settings: Settings) -> str:
    """Where this run's archives and alerts go (no secrets: channel names, not webhook URLs)."""
    if settings.archive_kind == "local":
        archive = f"archive: {settings.archive_dir.resolve()}"
    elif settings.archive_kind == "blob-aad":
        archive = f"archive: {settings.archive_storage_url.rstrip('/')}/{settings.archive_container}"
    else:
        archive = f"archive: container {settings.archive_container} (ARCHIVE_CONNECTION_STRING)"
    channels = [
        name
        for name, url in (
            ("TEAMS_WEBHOOK_URL", settings.teams_webhook_url),
            ("EMAIL_WEBHOOK_URL", settings.email_webhook_url),
            ("ALERT_WEBHOOK_URL", settings.alert_webhook_url),
        )
        if url
    ]
    alerts = f"alerts: posted to {', '.join(channels)}" if channels else f"alerts: {settings.alert_dir.resolve()}"
    return f"{archive}; {alerts}"


def _monitor(settings: Settings, args: argparse.Namespace) -> Any:
    from monitor.service import Monitor

    settings.require_subscription()
    return Monitor.from_settings(settings, copy_mode=args.copy)


def cmd_sweep(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    monitor = _monitor(settings, args)
    try:
        report = monitor.sweep()
    finally:
        monitor.close()
    if args.json:
        out.write(
            _redact(
                json.dumps(
                    {
                        "rows": [r.to_dict() for r in report.rows],
                        "errors": report.errors,
                        "listed": report.listed,
                        "unchanged": report.unchanged,
                        "arm_requests": report.arm_requests,
                        "storage_requests": report.storage_requests,
                        "seconds": round(report.seconds, 3),
                        "skipped_lease": report.skipped_lease,
                    },
                    indent=2,
                )
            )
            + "\n"
        )
    else:
        if report.skipped_lease:
            out.write("another sweep is running (lease held); nothing done\n")
            return 0
        from monitor.service import iter_rows

        shown = [r for r in iter_rows(report) if args.all or r.note != "unchanged" or r.state != "succeeded"]
        render_table(shown, out)
        out.write(
            f"\n{report.listed} templates listed, {report.unchanged} unchanged, "
            f"{report.alerts_sent} alert(s) sent, {report.arm_requests} ARM and "
            f"{report.storage_requests} storage requests in {report.seconds:.1f}s\n"
        )
        out.write(destinations(settings) + "\n")
        if report.outbox is not None and getattr(report.outbox, "waiting", 0):
            out.write(f"{report.outbox}\n")
        for error in report.errors:
            out.write(_redact(f"error: {error}") + "\n")
    return 1 if report.errors else 0


def cmd_check(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from monitor.detect import TemplateRef

    try:
        TemplateRef.parse(args.template_id)
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    monitor = _monitor(settings, args)
    try:
        outcome = monitor.check_template(args.template_id)
    finally:
        monitor.close()
    if outcome is None:
        out.write("template not found, not watched (TEMPLATE_FILTER) or in another subscription\n")
        return 1
    if args.json:
        out.write(_redact(json.dumps(outcome.to_dict(), indent=2)) + "\n")
    else:
        render_table([outcome], out)
        if outcome.stuck_reason:
            out.write(_redact(f"stuck: {outcome.stuck_reason}") + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m monitor", description="Azure VM Image Builder build monitor")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO (twice: DEBUG)")
    sub = parser.add_subparsers(dest="command", required=True)
    sweep = sub.add_parser("sweep", help="one sweep over every watched template")
    sweep.add_argument("--json", action="store_true", help="print the report as JSON")
    sweep.add_argument("--all", action="store_true", help="also list unchanged succeeded templates")
    sweep.add_argument("--copy", choices=("auto", "stream"), default="auto", help=COPY_HELP)
    check = sub.add_parser("check", help="check one template now")
    check.add_argument("template_id", help="the template's resource id")
    check.add_argument("--json", action="store_true")
    check.add_argument("--copy", choices=("auto", "stream"), default="auto", help=COPY_HELP)
    sub.add_parser("demo", help="the whole pipeline locally (Azurite + local ARM); see `demo --help`")
    from monitor.opscli import register

    parser.set_defaults(operator_commands=register(sub))
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:  # the demo parses its own options (--dir, -v)
        from monitor.demo import main as demo_main  # written by the demo's owner

        return int(demo_main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    operator = args.operator_commands.get(args.command)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:
        logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        if operator is None:  # the operator commands read the archive only
            settings.require_subscription()
    except SettingsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    handler = operator or {"sweep": cmd_sweep, "check": cmd_check}[args.command]
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    from monitor.alerts.routing import RoutesError
    from monitor.operations import OperationError

    try:
        return handler(args, settings, out)
    except (SettingsError, OperationError, RoutesError) as exc:
        sys.stderr.write(_redact(f"error: {exc}") + "\n")
        return 2
    except ClientAuthenticationError as exc:
        sys.stderr.write(_redact(f"error: no Azure credential worked (az login, or a managed identity): {exc}") + "\n")
        return 1
    except (HttpResponseError, ServiceRequestError) as exc:
        sys.stderr.write(_redact(f"error: Azure request failed: {type(exc).__name__}: {exc}") + "\n")
        return 1

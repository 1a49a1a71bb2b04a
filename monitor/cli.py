"""Command line: ``aib-monitor`` / ``python -m monitor``: ``sweep``, ``check TEMPLATE_ID``. (The local demo is a
developer tool: ``python -m devtools.demo``.)

Settings come from the environment (the same names as the app settings). Output is a table (or JSON with
``--json``); printed text is redacted. Every expected failure is one line on stderr naming what to do, with the
exit status of ``ExitStatus``; ``-v`` logs at INFO and adds the traceback, ``-vv`` logs at DEBUG.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from enum import IntEnum
from typing import Any, TextIO

from monitor.settings import Settings, SettingsError

COPY_HELP = "auto: server-side Copy Blob where allowed, else streamed (default); stream: always stream"
COLUMNS = ("template", "resource group", "state", "category", "alert", "archive")

log = logging.getLogger("aibmonitor.cli")


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1  # an Azure request failed, a sweep reported errors, or the template was not found
    SETTINGS = 2  # a bad setting or argument (the message names it)
    INTERRUPTED = 130  # Ctrl-C


class UsageError(Exception):
    """A command-line argument that cannot be used (exit status SETTINGS)."""


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
        archive = f"archive: {(settings.archive_storage_url or '').rstrip('/')}/{settings.archive_container}"
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
    from monitor.app import Monitor

    return Monitor.from_settings(settings, copy_mode=args.copy, dry_run=getattr(args, "dry_run", False))


def cmd_sweep(args: argparse.Namespace, settings: Settings, out: TextIO) -> ExitStatus:
    from monitor.report import iter_rows

    with _monitor(settings, args) as monitor:
        report = monitor.sweep()
        dry_store, dry_dispatcher = monitor.toolkit.store, monitor.toolkit.dispatcher
    if report.list_error is not None:  # nothing was looked at: the one-line error says why
        raise report.list_error
    if args.json:
        out.write(_redact(json.dumps(report.to_dict(), indent=2)) + "\n")
        return ExitStatus.ERROR if report.errors else ExitStatus.OK
    if report.skipped_lease:
        out.write("another sweep is running (lease held); nothing done\n")
        return ExitStatus.OK
    shown = [r for r in iter_rows(report) if args.all or r.note != "unchanged" or r.state != "succeeded"]
    render_table(shown, out)
    out.write(
        f"\n{report.listed} templates listed, {report.unchanged} unchanged, "
        f"{report.alerts_sent} alert(s) {'would be sent' if args.dry_run else 'sent'}, {report.arm_requests} ARM and "
        f"{report.storage_requests} storage requests in {report.seconds:.1f}s\n"
    )
    out.write(destinations(settings) + "\n")
    if report.outbox is not None and getattr(report.outbox, "waiting", 0):
        out.write(f"{report.outbox}\n")
    for error in report.errors:
        out.write(_redact(f"error: {error}") + "\n")
    if args.dry_run:
        _dry_run_summary(dry_store, dry_dispatcher, out)
    return ExitStatus.ERROR if report.errors else ExitStatus.OK


def _dry_run_summary(store: Any, dispatcher: Any, out: TextIO) -> None:
    """What the dry run would have done: the alerts, where they would go, and what it would have archived."""
    out.write("\ndry run: nothing was written to the archive and nothing was sent\n")
    for would in dispatcher.would_send:
        where = f"not sent ({would.held_back})" if would.held_back else f"to {', '.join(would.channels)}"
        route = "" if would.route == "default" else f" (route {would.route})"
        out.write(_redact(f"  would send {would.kind} for {would.template} {where}{route}") + "\n")
    files = [w for w in store.writes if w.how != "delete" and not w.key.startswith(("_state/", "alerts/"))]
    if files:
        out.write(f"  would archive {len(files)} file(s), {sum(w.bytes for w in files):,} bytes:\n")
        for w in files:
            out.write(_redact(f"    {w.key}  {w.bytes:,} bytes") + "\n")


def cmd_check(args: argparse.Namespace, settings: Settings, out: TextIO) -> ExitStatus:
    from monitor.azure.ids import TemplateRef

    try:
        TemplateRef.parse(args.template_id)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with _monitor(settings, args) as monitor:
        outcome = monitor.check_template(args.template_id)
    if outcome is None:
        out.write("template not found, not watched (TEMPLATE_FILTER) or in another subscription\n")
        return ExitStatus.ERROR
    if args.json:
        out.write(_redact(json.dumps(outcome.to_dict(), indent=2)) + "\n")
    else:
        render_table([outcome], out)
        if outcome.stuck_reason:
            out.write(_redact(f"stuck: {outcome.stuck_reason}") + "\n")
    return ExitStatus.OK


def build_parser() -> argparse.ArgumentParser:
    # -v is accepted before and after the command (``aib-monitor -v sweep`` and ``aib-monitor sweep -v``).
    verbose_help = "log at INFO with tracebacks; -vv: DEBUG"
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help=verbose_help)
    parser = argparse.ArgumentParser(prog="aib-monitor", description="Azure VM Image Builder build monitor")
    parser.add_argument("-v", "--verbose", action="count", default=0, help=verbose_help)
    sub = parser.add_subparsers(dest="command", required=True)
    sweep = sub.add_parser("sweep", help="one sweep over every watched template", parents=[verbose])
    sweep.add_argument("--json", action="store_true", help="print the report as JSON")
    sweep.add_argument("--all", action="store_true", help="also list unchanged succeeded templates")
    sweep.add_argument("--copy", choices=("auto", "stream"), default="auto", help=COPY_HELP)
    sweep.add_argument(
        "--dry-run", action="store_true", help="detect and diagnose; write nothing, send nothing, say what it would do"
    )
    check = sub.add_parser("check", help="check one template now", parents=[verbose])
    check.add_argument("template_id", help="the template's resource id")
    check.add_argument("--json", action="store_true")
    check.add_argument("--copy", choices=("auto", "stream"), default="auto", help=COPY_HELP)
    from monitor.opscli import register

    parser.set_defaults(operator_commands=register(sub))
    return parser


class _OneLineFormatter(logging.Formatter):
    """Log records without their traceback (shown with -v only)."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def _configure_logging(verbosity: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    text = "%(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(text) if verbosity else _OneLineFormatter(text))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO if verbosity else logging.WARNING)
    if verbosity < 2:
        # The SDK logs every request at INFO, and azure-identity each credential it tried at WARNING: the one
        # line printed by describe() says what to do; -v shows the rest.
        logging.getLogger("azure").setLevel(logging.WARNING if verbosity else logging.ERROR)


def describe(exc: BaseException, settings: Settings | None) -> tuple[ExitStatus, str]:
    """The one-line message and the exit status of a failure that reached the command line."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    from monitor.alerts.routing import RoutesError
    from monitor.operations import OperationError

    arm = settings.arm_endpoint if settings is not None else "ARM_ENDPOINT"
    if isinstance(exc, SettingsError | UsageError | OperationError | RoutesError):
        return ExitStatus.SETTINGS, f"error: {exc}"
    if isinstance(exc, ClientAuthenticationError):
        return ExitStatus.ERROR, (
            "error: no Azure credential worked: sign in with `az login` (or run where a managed identity is "
            "available); -v shows what each credential answered"
        )
    if isinstance(exc, ServiceRequestError):
        return ExitStatus.ERROR, f"error: cannot reach {arm} ({_first_line(exc)}): check ARM_ENDPOINT and the network"
    if isinstance(exc, HttpResponseError):
        code = getattr(getattr(exc, "error", None), "code", None) or getattr(exc, "error_code", None) or ""
        hint = ""
        if exc.status_code in (401, 403):
            hint = "; the identity needs Reader on the subscription"
        return ExitStatus.ERROR, (
            f"error: Azure request failed: {exc.status_code} {code}: {_first_line(exc)}{hint}".replace("  ", " ")
        )
    return ExitStatus.ERROR, f"error: {type(exc).__name__}: {_first_line(exc)} (-v shows the traceback)"


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    _configure_logging(args.verbose)
    settings: Settings | None = None
    try:
        settings = Settings.from_env()
        operator = args.operator_commands.get(args.command)
        if operator is None:  # the operator commands read the archive only
            settings.require_subscription()
        handler = operator or {"sweep": cmd_sweep, "check": cmd_check}[args.command]
        return int(handler(args, settings, out))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return int(ExitStatus.INTERRUPTED)
    except Exception as exc:
        status, message = describe(exc, settings)
        if args.verbose:
            log.error("%s failed", args.command, exc_info=exc)
        sys.stderr.write(_redact(message) + "\n")
        return int(status)


def run() -> None:
    """The ``aib-monitor`` console script."""
    sys.exit(main())

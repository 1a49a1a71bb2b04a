"""``python -m devtools.demo`` (``make demo``): the whole pipeline on this machine, with nothing configured.

It starts the local cloud (localazure: Azurite over HTTPS, a local ARM endpoint serving the Image Builder and
Storage REST APIs, and a managed-identity endpoint), plays a small subscription in it:

- ``win2022-iis``: a build that failed — its PowerShell customizer exited 1;
- ``ubuntu2204-base``: a build that is stuck — running past its timeout (and grace), its script waiting on a
  ``[Y/n]`` prompt that nobody will answer;
- ``win2019-base``: a build that succeeded (its log has the harmless "Error deleting resource. Will retry."
  lines);
- ``rhel9-hardened``: a submission that failed (``provisioningState: Failed`` with a ``provisioningError``),

with realistic logs in the staging storage accounts (localazure.samplelogs), then runs the real Monitor twice:
the first sweep archives logs into the archive account (identity auth, like the deployed Function) and writes
alerts as files (no webhook configured), the second shows that nothing is repeated. Everything it started is
stopped when it ends; its files are in ``.demo/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devtools.demo_subscription import populate

DEFAULT_DIR = Path(".demo")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="working folder (default: .demo)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the monitor's log")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # The SDK logs every HTTP request at INFO and the local endpoints' self-signed chain is expected here.
        logging.getLogger("azure").setLevel(logging.WARNING)
    return run(args.dir)


def run(workdir: Path) -> int:
    from localazure import LocalCloud

    started = time.monotonic()
    workdir = workdir.resolve()
    if workdir.exists():
        shutil.rmtree(workdir)  # a fresh subscription and archive every time
    alert_dir = workdir / "alerts"

    language = os.environ.get("ALERT_LANGUAGE", "en").strip() or "en"  # ALERT_LANGUAGE=ru make demo
    print("AIB build monitor demo: a local subscription, no Azure account needed")
    print()
    with _clean_environment(), LocalCloud(workdir / "cloud") as cloud:
        print(
            f"Local cloud up in {time.monotonic() - started:.1f} s: ARM {cloud.arm_endpoint} (HTTPS, test"
            " CA), managed-identity endpoint, Azurite (staging and archive accounts)"
        )
        templates = populate(cloud, datetime.now(UTC))
        print()
        print(f"Subscription {cloud.subscription_id}: {len(templates)} image templates")
        width = max(len(f"{t.resource_group}/{t.name}") for t in templates)
        for t in templates:
            print(f"  {t.resource_group + '/' + t.name:<{width}}  {t.story}")

        env = dict(cloud.env())
        env.update(
            {
                "ALERT_DIR": str(alert_dir),
                "ARCHIVE_CONTAINER": "aib-logs",
                "STUCK_AFTER_MINUTES": "30",
                "TIMEOUT_GRACE_MINUTES": "15",
                "ALERT_LANGUAGE": language,
            }
        )
        os.environ.update(env)

        from monitor.app import Monitor
        from monitor.settings import Settings
        from monitor.storage import open_store

        settings = Settings.from_env()
        store = open_store(settings)

        print()
        first = _sweep(Monitor, settings, "Sweep 1")
        archived_first = _archive_listing(store)
        alerts_first = _read_alerts(alert_dir)
        _print_sweep_rows(first)

        print()
        where = f"{settings.archive_storage_url}/{settings.archive_container}"
        print(f"Archived ({len(archived_first)} files) in {where} (identity auth),")
        print(f"under {cloud.subscription_id}/:")
        _print_archive(archived_first, f"{cloud.subscription_id}/")

        print()
        print(
            f"Alerts ({len(alerts_first)}), written as files to {_relative(alert_dir)}/"
            " (no webhook configured):"
        )
        _print_alerts(alerts_first)

        print()
        second = _sweep(Monitor, settings, "Sweep 2")
        archived_second = _archive_listing(store)
        alerts_second = _read_alerts(alert_dir)
        new_files = sorted(set(archived_second) - set(archived_first))
        new_alerts = [a for a in alerts_second if a["file"] not in {b["file"] for b in alerts_first}]
        _print_sweep_rows(second)
        print(
            f"Second sweep: {len(new_alerts)} new alerts, {len(new_files)} new archive files "
            + ("(nothing repeated)" if not new_alerts and not new_files else "")
        )
        for alert in new_alerts:
            print(f"  repeated: {alert['kind']} {alert['template_name']}")

        print()
        print("History of the archive (python -m monitor history):")
        _print_history()
        copy_dir = workdir / "archive"
        copied = _copy_archive(store, archived_second, copy_dir, f"{cloud.subscription_id}/")
        first_log = next((p for p in copied if p.name == "customization.log" and "win2022-iis" in str(p)), None)

    print()
    print(f"Demo finished in {time.monotonic() - started:.1f} s; the local cloud is stopped.")
    print(f"Alert texts: {_relative(alert_dir)}/*.txt")
    print(f"A plain copy of the archive ({len(copied)} files): {_relative(copy_dir)}/")
    if first_log is not None:
        print(f"Open first: {_relative(first_log.parent / 'diagnosis.json')} (why it failed), then")
        print(f"            {_relative(first_log)} (the log it was read from)")
    return 0


# --- running and printing -----------------------------------------------------------------------------------


def _sweep(monitor_cls: Any, settings: Any, label: str) -> Any:
    with monitor_cls.from_settings(settings) as monitor:
        report = monitor.sweep()
    print(
        f"{label}: {report.seconds:.1f} s, {report.arm_requests} ARM requests, "
        f"{report.storage_requests} storage requests, {report.alerts_sent} alerts sent"
    )
    for error in report.errors:
        print(f"  error: {error}")
    return report


def _print_sweep_rows(report: Any) -> None:
    table = [("template", "state", "category", "alerts", "note")]
    for row in report.rows:
        table.append(
            (
                f"{row.resource_group}/{row.name}",
                row.state + (f" ({row.run_state})" if row.run_state and row.run_state != row.state else ""),
                row.category or "-",
                ", ".join(row.alerts) or "-",
                row.error or row.note or "",
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip())


def _archive_listing(store: Any) -> dict[str, int]:
    """Archived run files (state records and the outbox are the monitor's bookkeeping: left out)."""
    listing: dict[str, int] = {}
    for key in store.list(""):
        if key.startswith(("_", ".")) or "/" not in key:
            continue
        size = store.size(key)
        listing[key] = size if size is not None else -1
    return listing


def _print_archive(listing: Mapping[str, int], prefix: str = "") -> None:
    if not listing:
        print("  (nothing)")
        return
    names = {key: key[len(prefix) :] if key.startswith(prefix) else key for key in listing}
    width = max(len(n) for n in names.values())
    for key in sorted(listing):
        print(f"  {names[key]:<{width}}  {listing[key]:>9,} bytes")


def _copy_archive(store: Any, listing: Mapping[str, int], target: Path, prefix: str) -> list[Path]:
    """Download what was archived (through the same store, from Azurite) into plain files under ``target``."""
    copied = []
    for key in sorted(listing):
        relative = key[len(prefix) :] if key.startswith(prefix) else key
        path = target.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            for chunk in store.iter_chunks(key):
                out.write(chunk)
        copied.append(path)
    return copied


def _print_history() -> None:
    """The operator's view of what this demo archived, through the real CLI command."""
    import io

    from monitor.cli import main as monitor_cli

    out = io.StringIO()
    monitor_cli(["history", "--since", "2d"], out=out)
    for line in out.getvalue().splitlines():
        print(f"  {line}")


def _read_alerts(alert_dir: Path) -> list[dict[str, Any]]:
    alerts = []
    for path in sorted(alert_dir.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        doc["file"] = path.name
        alerts.append(doc)
    return alerts


def _print_alerts(alerts: list[dict[str, Any]]) -> None:
    if not alerts:
        print("  (none)")
        return
    from diagnosis.redact import redact

    rows = [(a.get("kind", "?"), a.get("template_name", "?"), a.get("category") or "-") for a in alerts]
    widths = [max(len(str(r[i])) for r in rows) for i in range(3)]
    for (kind, name, category), alert in zip(rows, alerts, strict=True):
        print(f"  {kind:<{widths[0]}}  {name:<{widths[1]}}  {category}")
        summary = redact(" ".join(str(alert.get("summary") or "").split()))
        print(f"      {summary if len(summary) <= 150 else summary[:149] + '…'}")


def _relative(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)



@contextlib.contextmanager
def _clean_environment() -> Iterator[None]:
    """Hide the shell's monitor settings and Azure credentials for the demo; restore them afterwards."""
    from localazure import CREDENTIAL_VARIABLES
    from monitor.settings import SETTING_NAMES

    # Settings or credentials leaking in from the shell would point the demo at a real webhook, Azure AD or
    # another subscription; the demo sets what it needs itself.
    saved = dict(os.environ)
    for name in (*SETTING_NAMES, *CREDENTIAL_VARIABLES):
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    sys.exit(main())

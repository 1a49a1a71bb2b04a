"""A sweep while some staging accounts are down: N failed image templates (default 100), each with its log in
its own staging account on Azurite (HTTPS, identity auth), U of those accounts (default 10) answering 503
``ServerBusy`` to every request, through the real Monitor, alerting a local webhook receiver.

For each backoff (``production``: the blob retry waits the monitor ships with; ``short``: the waits the tests
use, same retry count) it prints the wall time of the first sweep (healthy failures archived and alerted, the
unhealthy ones reported as errors), of a second sweep with the accounts still down (only the unhealthy ones are
looked at again), and of a third once they are healthy (the rest alerted), with the alerts received after each.
Exit status 1 when an alert is missing or repeated, or the first sweep took longer than --limit seconds.

Run: ``.venv/bin/python benchmarks/sweep_unhealthy_accounts.py`` (``--backoff production`` for one kind).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from localazure import LocalCloud, samplelogs  # noqa: E402
from localazure.scenarios import add_failed_build, set_staging_failure  # noqa: E402
from localazure.webhook import WebhookReceiver  # noqa: E402
from monitor.app import Monitor  # noqa: E402
from monitor.azure import clients  # noqa: E402
from monitor.settings import Settings  # noqa: E402

# (BLOB_BACKOFF_SECONDS, BLOB_BACKOFF_BASE, BLOB_JITTER_SECONDS); the retry count stays BLOB_RETRIES.
BACKOFFS = {
    "production": (clients.BLOB_BACKOFF_SECONDS, clients.BLOB_BACKOFF_BASE, clients.BLOB_JITTER_SECONDS),
    "short": (0.2, 1.5, 0.1),
}


def run(cloud: LocalCloud, backoff: str, templates: int, unhealthy: int, workdir: Path) -> tuple[bool, float]:
    """One scenario in its own subscription; returns (alerts exactly once each, first sweep seconds)."""
    clients.BLOB_BACKOFF_SECONDS, clients.BLOB_BACKOFF_BASE, clients.BLOB_JITTER_SECONDS = BACKOFFS[backoff]
    subscription = cloud.new_subscription()
    every = max(templates // max(unhealthy, 1), 1)
    sick_names: list[str] = []
    sick_ids: list[str] = []
    started = time.monotonic()
    for i in range(templates):
        down = len(sick_names) < unhealthy and i % every == every // 2
        log = bytes(samplelogs.failed_customizer_log(seed=i))
        t = add_failed_build(
            cloud,
            f"rg-{backoff}",
            f"tpl-{i:03d}",
            log,
            subscription_id=subscription,
            staging_status=503 if down else None,
        )
        if down:
            sick_names.append(t.name)
            sick_ids.append(t.id)
    print(
        f"\n[{backoff} backoff {BACKOFFS[backoff]}] {templates} failed templates, {len(sick_names)} staging "
        f"accounts answering 503; set up in {time.monotonic() - started:.1f}s"
    )
    receiver = WebhookReceiver().start()
    env = {
        **cloud.env(subscription),
        "ARCHIVE_CONTAINER": f"bench-{backoff}",
        "ALERT_WEBHOOK_URL": receiver.url,
        "ALERT_DIR": str(workdir / f"alerts-{backoff}"),
    }
    settings = Settings.from_env(env)
    print(f"{'sweep':<34} {'wall s':>7} {'rows':>5} {'errors':>6} {'alerted':>7} {'storage':>8} {'ARM':>5}")
    reports = []
    try:
        for label in ("1: accounts down", "2: accounts still down", "3: accounts healthy again"):
            if label.startswith("3"):
                for template_id in sick_ids:
                    set_staging_failure(cloud, template_id, None)
            with Monitor.from_settings(settings) as monitor:
                report = monitor.sweep()
            reports.append(report)
            errors = sum(1 for r in report.rows if r.state == "error")
            print(
                f"{label:<34} {report.seconds:7.1f} {len(report.rows):5d} {errors:6d} {report.alerts_sent:7d} "
                f"{report.storage_requests:8d} {report.arm_requests:5d}"
            )
        received = receiver.per_template("build-failed")
    finally:
        receiver.stop()
    first = reports[0]
    reported_sick = sorted(r.name for r in first.rows if r.state == "error")
    once = len(received) == templates and set(received.values()) == {1}
    print(
        f"alerts received: {sum(received.values())} for {len(received)} templates "
        f"({'each exactly once' if once else 'NOT exactly once'}); first sweep reported "
        f"{len(reported_sick)} unhealthy ({'the 503 ones' if reported_sick == sorted(sick_names) else 'MISMATCH'})"
    )
    for error in first.errors[:3]:
        print(f"  e.g. {error[:200]}")
    return once and reported_sick == sorted(sick_names), first.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--templates", type=int, default=100)
    parser.add_argument("--unhealthy", type=int, default=10)
    parser.add_argument("--backoff", choices=[*BACKOFFS, "both"], default="both")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds the first sweep may take")
    parser.add_argument("--workdir", type=Path, default=REPO / ".bench" / "sweep_unhealthy_accounts")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    kinds = list(BACKOFFS) if args.backoff == "both" else [args.backoff]
    ok = True
    started = time.monotonic()
    with LocalCloud(args.workdir / "cloud", staging_accounts=args.templates * len(kinds)) as cloud:
        print(
            f"local cloud with {args.templates * len(kinds)} staging accounts started in "
            f"{time.monotonic() - started:.1f}s"
        )
        env = cloud.env()
        for key in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
            os.environ[key] = env[key]
        for kind in kinds:
            exact, seconds = run(cloud, kind, args.templates, args.unhealthy, args.workdir)
            within = seconds <= args.limit
            print(f"first sweep {seconds:.1f}s {'<=' if within else '>'} {args.limit:.0f}s")
            ok = ok and exact and within
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

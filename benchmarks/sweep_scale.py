"""Sweep at scale: 2,000 image templates (20 failed, 5 running, the rest succeeded) on the local HTTPS ARM
endpoint with Azurite as staging and archive storage (identity auth), through the real Monitor.

Prints wall time and the ARM and storage request counts of a first sweep (archives 20 logs, alerts, snapshots
5 running builds) and of a second, steady-state sweep, against a baseline measured in the same run: listing
the same templates with the same SDK client and nothing else. Run: ``.venv/bin/python
benchmarks/sweep_scale.py``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from localazure import LocalCloud, samplelogs  # noqa: E402
from monitor.app import Monitor  # noqa: E402
from monitor.azure.clients import AzureClients  # noqa: E402
from monitor.settings import Settings  # noqa: E402

FAILURES = ("customizer", "resources", "connection", "download", "no-artifacts", "restart", "sysprep")


def populate(cloud: LocalCloud, total: int, failed: int, running: int) -> None:
    now = datetime.now(UTC)
    for i in range(total):
        rg = f"rg-bench-{i % 40:02d}"
        name = f"tpl-{i:05d}"
        if i < failed:
            t = cloud.add_template(rg, name, storage=True)
            kind = FAILURES[i % len(FAILURES)]
            log = samplelogs.failure_log(kind, seed=i, start=now - timedelta(hours=1))
            cloud.put_staging_blob(t.id, t.log_blob_path, bytes(log))
            cloud.set_run_status(
                t.id,
                "Failed",
                "Customizing",
                message=cloud.failure_message(t.id, "exit status 1"),
                start_time=now - timedelta(hours=1),
                end_time=now - timedelta(minutes=5),
            )
        elif i < failed + running:
            t = cloud.add_template(rg, name, storage=True)
            live = samplelogs.running_log(
                "provisioner", minutes=10, seed=i, start=now - timedelta(minutes=30)
            )
            cloud.append_staging_blob(t.id, t.log_blob_path, bytes(live))
            cloud.set_container_logs(t.id, "packer: running\n")
            cloud.set_run_status(t.id, "Running", "Customizing", start_time=now - timedelta(minutes=30))
        else:
            cloud.add_template(rg, name, storage=False)
            cloud.set_run_status(
                f"/subscriptions/{cloud.subscription_id}/resourceGroups/{rg}/providers/"
                f"Microsoft.VirtualMachineImages/imageTemplates/{name}",
                "Succeeded",
                start_time=now - timedelta(days=1),
                end_time=now - timedelta(hours=23),
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--templates", type=int, default=2000)
    parser.add_argument("--failed", type=int, default=20)
    parser.add_argument("--running", type=int, default=5)
    parser.add_argument(
        "--page-size", type=int, default=100, help="ARM list page size (ARM serves up to 100)"
    )
    parser.add_argument("--workdir", type=Path, default=REPO / ".bench" / "sweep_scale")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)

    with LocalCloud(
        args.workdir / "cloud", staging_accounts=args.failed + args.running + 2, page_size=args.page_size
    ) as cloud:
        started = time.monotonic()
        populate(cloud, args.templates, args.failed, args.running)
        print(
            f"local subscription: {args.templates} templates ({args.failed} failed, {args.running} running), "
            f"page size {args.page_size}, set up in {time.monotonic() - started:.1f}s"
        )
        env = cloud.env()
        for key in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
            os.environ[key] = env[key]
        settings = Settings.from_env(
            {**env, "ARCHIVE_CONTAINER": "bench", "ALERT_DIR": str(args.workdir / "alerts")}
        )

        # Baseline: the template list alone (same client, same transport, same token).
        clients = AzureClients(settings)
        started = time.monotonic()
        listed = sum(1 for _ in clients.imagebuilder.virtual_machine_image_templates.list())
        base_seconds, base_arm = time.monotonic() - started, clients.counts.arm
        clients.close()

        with Monitor.from_settings(settings) as monitor:
            first = monitor.sweep()
            second = monitor.sweep()
        with Monitor.from_settings(settings) as fresh:  # another instance: nothing cached in memory
            third = fresh.sweep()

    rows = [
        ("baseline: list only", base_seconds, base_arm, 0, listed, None),
        ("sweep 1", first.seconds, first.arm_requests, first.storage_requests, first.listed, first),
        (
            "sweep 2 (same instance)",
            second.seconds,
            second.arm_requests,
            second.storage_requests,
            second.listed,
            second,
        ),
        (
            "sweep 2 (new instance)",
            third.seconds,
            third.arm_requests,
            third.storage_requests,
            third.listed,
            third,
        ),
    ]
    print(
        f"\n{'run':<26} {'wall s':>8} {'x base':>7} {'ARM':>6} {'storage':>8} {'listed':>7} {'alerts':>7} "
        f"{'errors':>7}"
    )
    for label, seconds, arm, storage, count, report in rows:
        alerts = report.alerts_sent if report else "-"
        errors = len(report.errors) if report else "-"
        print(
            f"{label:<26} {seconds:8.2f} {seconds / base_seconds:7.1f} {arm:6d} {storage:8d} {count:7d} "
            f"{alerts!s:>7} {errors!s:>7}"
        )
    pages = -(-listed // args.page_size)
    print(
        f"\nlist pages: {pages}; second/first: wall {second.seconds / first.seconds:.2f}, "
        f"ARM {second.arm_requests / max(first.arm_requests, 1):.2f}, "
        f"storage {second.storage_requests / max(first.storage_requests, 1):.2f}"
    )
    print(
        f"second sweep ARM calls beyond the list pages: {second.arm_requests - pages} "
        f"(the {args.running} running builds are looked at on every sweep)"
    )
    for report in (first, second, third):
        for error in report.errors:
            print(f"error: {error}")
    return 1 if first.errors or second.errors or third.errors else 0


if __name__ == "__main__":
    sys.exit(main())

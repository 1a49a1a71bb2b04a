"""``python -m localazure serve``: run a local cloud until interrupted and print the environment to use.

    python -m localazure serve [--workdir DIR] [--staging-accounts N] [--page-size N] [--archive identity|key]
                               [--example] [--env-file FILE]

Prints ``export NAME=value`` lines (ARM_ENDPOINT, AZURE_SUBSCRIPTION_ID, ARCHIVE_STORAGE_URL or
ARCHIVE_CONNECTION_STRING, REQUESTS_CA_BUNDLE, SSL_CERT_FILE, IDENTITY_ENDPOINT, IDENTITY_HEADER); in another
shell, ``eval`` them (or source ``--env-file``) and run ``python -m monitor sweep``. ``--example`` adds a
small subscription: a failed build with its log, a running build, a succeeded one and a failed submission.
The connection string printed with ``--archive key`` holds the throw-away key of the local Azurite account.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import signal
import sys
import threading
from pathlib import Path

from .cloud import LocalCloud

EXAMPLE_FAILED_LOG = """\
[b1c2] PACKER OUT ==> azure-arm: Running builder ...
[b1c2] PACKER OUT ==> azure-arm: Deploying deployment template ...
[b1c2] PACKER OUT ==> azure-arm: Waiting for SSH to become available...
[b1c2] PACKER OUT ==> azure-arm: Connected to SSH!
[b1c2] PACKER OUT ==> azure-arm: Provisioning with shell script: /tmp/script_1234.sh
[b1c2] PACKER OUT     azure-arm: E: Unable to locate package does-not-exist
[b1c2] PACKER OUT ==> azure-arm: Script exited with non-zero exit status: 100.Allowed exit codes are: [0]
[b1c2] PACKER ERR 2026/01/01 10:00:00 [INFO] (telemetry) ending shell
[b1c2] PACKER OUT ==> azure-arm: Deleting individual resources ...
[b1c2] PACKER OUT Build 'azure-arm' errored after 6 minutes 2 seconds: Script exited with non-zero exit \
status: 100.
Done exporting Packer logs to Azure Storage.
"""

EXAMPLE_RUNNING_LOG = """\
[c3d4] PACKER OUT ==> azure-arm: Running builder ...
[c3d4] PACKER OUT ==> azure-arm: Waiting for WinRM to become available...
"""


def add_example(cloud: LocalCloud) -> None:
    now = dt.datetime.now(dt.UTC)
    failed = cloud.add_template("rg-images", "ubuntu-web")
    cloud.put_staging_blob(failed.id, failed.log_blob_path, EXAMPLE_FAILED_LOG.encode())
    cloud.set_run_status(
        failed.id,
        "Failed",
        "Customizing",
        cloud.failure_message(failed.id, "Failed while waiting for packerizer: Microservice has failed"),
        start_time=now - dt.timedelta(minutes=20),
        end_time=now - dt.timedelta(minutes=2),
    )
    running = cloud.add_template("rg-images", "win2022-base", build_timeout_minutes=60)
    cloud.put_staging_blob(running.id, running.log_blob_path, EXAMPLE_RUNNING_LOG.encode())
    cloud.set_run_status(running.id, "Running", "Customizing", start_time=now - dt.timedelta(minutes=90))
    cloud.set_container_logs(running.id, EXAMPLE_RUNNING_LOG)
    good = cloud.add_template("rg-images", "ubuntu-base", storage=False)
    cloud.set_run_status(good.id, "Succeeded", start_time=now - dt.timedelta(hours=3), end_time=now)
    cloud.add_template(
        "rg-images",
        "bad-source",
        storage=False,
        provisioning_state="Failed",
        provisioning_error={
            "provisioningErrorCode": "BadPIRSource",
            "message": "Platform image 'Canonical:UbuntuServer:99.04-LTS' not found.",
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localazure", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run a local cloud until interrupted")
    serve.add_argument("--workdir", type=Path, help="where certs and Azurite data go (default: a temp dir)")
    serve.add_argument("--staging-accounts", type=int, default=8)
    serve.add_argument("--page-size", type=int, default=100)
    serve.add_argument("--archive", choices=("identity", "key"), default="identity")
    serve.add_argument("--example", action="store_true", help="add a small example subscription")
    serve.add_argument("--env-file", type=Path, help="also write the export lines to this file")
    args = parser.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalCloud(args.workdir, staging_accounts=args.staging_accounts, page_size=args.page_size) as cloud:
        if args.example:
            add_example(cloud)
        lines = [f"export {name}={shlex.quote(value)}" for name, value in cloud.env(archive=args.archive).items()]
        text = "\n".join(lines) + "\n"
        if args.env_file:
            args.env_file.write_text(text)
            args.env_file.chmod(0o600)
        sys.stdout.write(text)
        sys.stdout.write("# local cloud running; Ctrl-C to stop\n")
        sys.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

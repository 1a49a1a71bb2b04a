"""Large logs written quickly: realistic blocks repeated with advancing timestamps, the failure at the end."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .begin import _connect, _deploy, _header, _new, default_customizers
from .customize import _APT_PACKAGES, _provision
from .failures import _failure_tail
from .writer import FAILURES, _Log, status_message


@dataclass(frozen=True)
class LargeLogInfo:
    path: Path
    bytes_written: int
    lines: int
    operation_id: str
    folder: str
    expected_category: str
    status_message: str
    failed_customizer: str | None = None
    exit_code: int | None = None


def _filler_block(w: _Log) -> tuple[list[bytes], int]:
    """One block of chatty provisioner output; returns its parts split at the timestamp slots, and its line count."""
    marker = "\x00TS\x00"
    rng = w.rng
    lines: list[str] = []
    if w.style == "classic":
        p = f"[{w.op}] PACKER OUT     azure-arm: "
        e = f"[{w.op}] PACKER ERR {marker} "
    else:
        p = f"[{w.op}] PACKER {marker} ui:     azure-arm: "
        e = f"[{w.op}] PACKER {marker} "
    for i in range(160):
        pkg = _APT_PACKAGES[i % len(_APT_PACKAGES)]
        r = i % 8
        if r == 0:
            lines.append(
                f"{p}Get:{i} http://azure.archive.ubuntu.com/ubuntu jammy/main amd64 {pkg} amd64 "
                f"{rng.randint(1, 9)}.{rng.randint(0, 40)}-1 [{rng.randint(10, 999)} kB]"
            )
        elif r == 1:
            lines.append(f"{p}Unpacking {pkg} ({rng.randint(1, 9)}.{rng.randint(0, 40)}-1) ...")
        elif r == 2:
            lines.append(f"{p}  CC       src/{pkg}/module_{rng.randint(0, 9999):04d}.o")
        elif r == 3:
            lines.append(f"{e}packer-provisioner-shell plugin: {marker} [DEBUG] Opening new ssh session")
        elif r == 4:
            lines.append(
                f"{p}npm WARN deprecated {pkg}@{rng.randint(1, 5)}.0.0: this version is no longer "
                f"supported, 0 errors"
            )
        elif r == 5:
            lines.append(f"{p}  test_{pkg.replace('-', '_')}_{rng.randint(0, 999)} ... ok")
        elif r == 6:
            lines.append(f"{e}[INFO] {rng.randint(100, 99999)} bytes written for 'stdout'")
        else:
            lines.append(f"{p}Selecting previously unselected package {pkg}.")
    block = "\n".join(lines) + "\n"
    return [part.encode() for part in block.split(marker)], len(lines)


def write_large_log(
    path: str | Path,
    size_bytes: int,
    failure: str = "customizer",
    *,
    os: str = "linux",
    style: str = "classic",
    seed: int = 6,
    operation_id: str | None = None,
    start: datetime | None = None,
) -> LargeLogInfo:
    """Stream a realistic log of about ``size_bytes`` (at least the head and tail) to ``path``.

    The middle is the output of a long, chatty provisioner (package installs, compiler and test output, packer
    debug lines) repeated in blocks whose timestamps advance; the failure (one of FAILURES) comes at the end.
    Runs at disk speed (hundreds of MB/s) in constant memory.
    """
    if failure not in FAILURES:
        raise ValueError(f"failure must be one of {', '.join(FAILURES)}, not {failure!r}")
    if failure in ("sysprep", "resources", "restart"):
        os = "windows"
    w = _new(os, style, operation_id, start, seed)
    _header(w)
    _deploy(w)
    _connect(w)
    _provision(w, default_customizers(os)[0], 0)
    w.tick(2)
    w.err("[INFO] (telemetry) Starting provisioner shell")
    w.ui("Provisioning with shell script: /tmp/packer-shell" + str(w.rng.randint(100000000, 999999999)))
    head = ("\n".join(w.lines) + "\n").encode()
    head_lines = len(w.lines)
    w.lines = []
    variants = [_filler_block(w) for _ in range(8)]  # cycle a few different blocks
    block_lines = variants[0][1]
    # Render the tail once with a provisional clock, to know its size; the clock is fixed after the filler.
    probe = _new(os, style, w.op, w.t, seed)
    probe.staging = w.staging
    _failure_tail(probe, failure)
    tail_estimate = len(("\n".join(probe.lines) + "\n").encode())
    block_size = max(sum(len(p) for p in v[0]) + 19 * (len(v[0]) - 1) for v in variants)
    budget = max(0, size_bytes - len(head) - tail_estimate)
    blocks = budget // block_size
    out = Path(path)
    written = 0
    lines = head_lines
    with out.open("wb", buffering=1 << 20) as f:
        f.write(head)
        written += len(head)
        t = w.t
        one = timedelta(seconds=1)
        for i in range(blocks):
            t += one
            stamp = f"{t:%Y/%m/%d %H:%M:%S}".encode()
            chunk = stamp.join(variants[i % len(variants)][0])
            f.write(chunk)
            written += len(chunk)
        lines += blocks * block_lines  # every variant has the same number of lines
        w.t = t
        w.err("packer-provisioner-shell plugin: [INFO] RPC client: Communicator ended with: 0")
        w.err("[INFO] (telemetry) ending shell")
        category, extra = _failure_tail(w, failure)
        tail = ("\n".join(w.lines) + "\n").encode()
        f.write(tail)
        written += len(tail)
        lines += len(w.lines)
    return LargeLogInfo(
        path=out,
        bytes_written=written,
        lines=lines,
        operation_id=w.op,
        folder=w.folder,
        expected_category=category,
        status_message=status_message(failure, w.op, w.folder),
        failed_customizer=extra.get("failed_customizer"),
        exit_code=extra.get("exit_code"),
    )


def chunks(data: bytes, size: int = 65536) -> Iterable[bytes]:
    """Split ``data`` into chunks of ``size`` bytes (for feeding streaming readers in tests)."""
    for i in range(0, len(data), size):
        yield data[i : i + size]

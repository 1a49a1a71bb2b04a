"""Whole logs of builds that finish: a success, a failed customizer, a sysprep loop."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .begin import _connect, _deploy, _header, _new, default_customizers
from .customize import _provision
from .failures import _context_cancel
from .finish import _capture, _cleanup, _deprovision, _finish_error, _finish_success
from .writer import SampleLog, _make, status_message


def success_log(
    os: str = "linux",
    customizers: Sequence[Any] | None = None,
    *,
    style: str = "classic",
    cleanup_retries: int = 2,
    operation_id: str | None = None,
    start: datetime | None = None,
    seed: int = 1,
) -> SampleLog:
    """A complete successful build, with the harmless ``Error deleting resource. Will retry.`` cleanup lines."""
    w = _new(os, style, operation_id, start, seed)
    _header(w)
    _deploy(w)
    _connect(w)
    custs = list(customizers) if customizers is not None else default_customizers(os)
    for i, c in enumerate(custs):
        _provision(w, c, i)
    _deprovision(w)
    _capture(w)
    _cleanup(w, retries=cleanup_retries)
    _finish_success(w)
    return _make(w.lines, w, expected_category="none", customizers=custs)


def failed_customizer_log(
    name: str = "install-app",
    type: str = "Shell",
    exit_code: int = 1,
    *,
    os: str | None = None,
    position: int | None = None,
    before: Sequence[Any] | None = None,
    message: str | None = None,
    style: str = "classic",
    operation_id: str | None = None,
    start: datetime | None = None,
    seed: int = 2,
) -> SampleLog:
    """A build whose customizer ``name`` of ``type`` fails with ``exit_code``.

    ``before``: customizers that succeed first (default: one or two realistic ones; ``position`` trims them).
    The expected category is ``customizer-failed`` (``windows-restart-failed`` for WindowsRestart,
    ``customizer-download-failed`` for File).
    """
    kind = type.lower()
    os_ = os or ("windows" if kind in ("powershell", "windowsupdate", "windowsrestart") else "linux")
    w = _new(os_, style, operation_id, start, seed)
    ok = list(before) if before is not None else default_customizers(os_)[:2]
    if position is not None:
        ok = ok[: max(0, position - 1)]
    _header(w)
    _deploy(w)
    _connect(w)
    for i, c in enumerate(ok):
        _provision(w, c, i)
    spec = {"type": type, "name": name}
    if kind == "windowsrestart":
        spec["restartTimeout"] = "5m"
    prov = _provision(w, spec, len(ok), fail=exit_code, message=message)
    error = w.last_error or f"exit status {exit_code}"
    _cleanup(w, retries=1)
    _finish_error(w, error)
    category = {"windowsrestart": "windows-restart-failed", "file": "customizer-download-failed"}.get(
        kind, "customizer-failed"
    )
    return _make(
        w.lines,
        w,
        expected_category=category,
        status_message=status_message("customizer", w.op, w.folder),
        failed_customizer=prov,
        failed_customizer_type=type,
        exit_code=None if kind in ("file", "windowsrestart") else exit_code,
        position=len(ok) + 1,
        customizer_name=name,
    )


def sysprep_loop_log(
    *,
    loops: int = 400,
    style: str = "classic",
    operation_id: str | None = None,
    start: datetime | None = None,
    seed: int = 3,
    complete: bool = True,
) -> SampleLog:
    """The guide's sysprep-timing case: WindowsAzureGuestAgent missing, IMAGE_STATE_UNDEPLOYABLE until the timeout.

    ``complete=False`` gives the live tail (the loop still growing, no cancellation yet).
    """
    w = _new("windows", style, operation_id, start, seed)
    _header(w)
    _deploy(w)
    _connect(w)
    _provision(w, {"type": "PowerShell", "name": "short-setup", "inline": ["Write-Host hello"]}, 0)
    _deprovision(w, loop=loops)
    if not complete:
        return _make(w.lines, w, expected_category="sysprep-timing", expected_waiting_on="loop")
    _context_cancel(w, remote_exit=False)
    w.ui("The resource group was not created by Packer, deleting individual resources ...")
    w.err("==> azure-arm: The resource group was not created by Packer, deleting individual resources ...")
    _cleanup(w, retries=1)
    _finish_error(w, "context canceled")
    return _make(
        w.lines,
        w,
        expected_category="sysprep-timing",
        status_message=status_message("sysprep", w.op, w.folder),
    )

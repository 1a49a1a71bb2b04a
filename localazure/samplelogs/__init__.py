"""Realistic Azure VM Image Builder ``customization.log`` content for demos, tests and benchmarks.

The lines follow the shapes of real logs (see ``shared/reference/aib-facts.md`` and the troubleshooting guide):
``[opid] PACKER OUT ==> azure-arm: ...``, ``[opid] PACKER OUT     azure-arm: ...``,
``[opid] PACKER ERR 2020/04/30 23:28:50 packer: 2020/04/30 23:28:50 ...`` (style ``"classic"``) and
``[opid] PACKER 2024/12/23 16:27:00 ui: ==> azure-arm: ...`` (style ``"modern"``), plus bare lines (file upload
progress). Packer logs ``(telemetry) ending X`` for a failing provisioner too (its ``TelemetrySpan.End`` runs
whatever the result); newer versions add ``(telemetry) found error: ...``; the generators do the same.

Every generator returns a :class:`SampleLog`: the log as ``bytes`` (it *is* a ``bytes`` object) carrying what it
wrote: ``operation_id``, ``folder``, ``expected_category``, ``status_message`` (the ``lastRunStatus.message`` a
failed run would show), and for running tails ``expected_waiting_on``. ``write_large_log`` streams a log of any
size to a file quickly by repeating realistic blocks with advancing timestamps, with the failure at the end.

Modules: ``writer`` (SampleLog, the line writer, the failure kinds and running stages), ``begin``, ``customize``
and ``finish`` (the phases of a build), ``builds``, ``failures`` and ``running`` (whole logs and tails), ``large``
(big logs streamed to a file). No Azure imports; the standard library only.
"""

from .begin import default_customizers
from .builds import failed_customizer_log, success_log, sysprep_loop_log
from .failures import failure_log
from .large import LargeLogInfo, chunks, write_large_log
from .running import running_log
from .writer import FAILURE_CATEGORY, FAILURES, PROVISIONER_NAMES, RUNNING_STAGES, SampleLog, status_message

__all__ = [
    "FAILURES",
    "FAILURE_CATEGORY",
    "PROVISIONER_NAMES",
    "RUNNING_STAGES",
    "LargeLogInfo",
    "SampleLog",
    "chunks",
    "default_customizers",
    "failed_customizer_log",
    "failure_log",
    "running_log",
    "status_message",
    "success_log",
    "sysprep_loop_log",
    "write_large_log",
]

"""A 1 GB generated log is streamed in constant memory (a memory check, not a timing).

The scan runs in a subprocess so its peak RSS (ru_maxrss) is its own; the growth over the same process after a
warm-up on a small log must stay small, however long the log is.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    r"""
    import json, resource, sys
    from diagnosis import diagnose, load_knowledge_base

    OP = "45f485cf-5a8c-4379-9937-8d85493bc791"
    P = f"[{OP}] PACKER"
    kb = load_knowledge_base(use_env=False)
    lines = [
        P + ' ERR 2024/12/23 16:27:00 packer: 2024/12/23 16:27:00 Azure request method="GET" request="https://'
        'management.azure.com/subscriptions/0/resourcegroups/IT_rg_tpl/providers/Microsoft.Resources/deployments/'
        'pkrdp51lc0339jg/operationStatuses/0858613?[REDACTED]" body=""',
        P + " OUT     azure-arm: Setting up libxml2:amd64 (2.9.13+dfsg-1ubuntu0.3) ...",
        P + " ERR 2024/12/23 16:27:00 [INFO] 1672 bytes written for 'stdout'",
        P + " OUT     azure-arm: Get:12 http://azure.archive.ubuntu.com/ubuntu jammy/main libssl3 [1903 kB]",
        P + " OUT     azure-arm: Unpacking python3-pkg (1.2-1) over (1.1-0) ...",
    ]
    block = ("\n".join(lines * 16000) + "\n").encode()
    head = (P + " ERR 2024/12/23 10:00:00 [INFO] (telemetry) Starting provisioner shell\n").encode()
    tail = "\n".join([
        P + " OUT ==> azure-arm: Script exited with non-zero exit status: 7. Allowed exit codes are: [0]",
        P + " OUT Build 'azure-arm' errored after 6 hours: Script exited with non-zero exit status: 7.",
        P + " OUT ==> azure-arm: Error deleting resource. Will retry.",
    ]).encode() + b"\n"
    target = int(sys.argv[1])

    def chunks():
        yield head
        sent = 0
        while sent < target:
            yield block
            sent += len(block)
        yield tail

    warm = diagnose(log=[head, block[:100000], tail], rules=kb)
    assert warm.category == "customizer-failed", warm
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    d = diagnose(log=chunks(), rules=kb)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kb": before, "after_kb": after, "category": d.category,
                      "exit_code": d.failed_customizer.exit_code, "warnings": d.warnings,
                      "decisive_line": d.evidence[0].line,
                      "expected_line": 1 + block.count(b"\n") * -(-target // len(block)) + 1}))
    """
)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_one_gigabyte_log_streams_in_constant_memory():
    size = 1 << 30
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(size)], cwd=ROOT, capture_output=True, text=True, timeout=230
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    growth_mb = (result["after_kb"] - result["before_kb"]) / 1024
    # Growth over the warmed-up process is the constant-memory check; the absolute peak depends on the
    # interpreter and allocator of the machine (benchmarks/diagnose_large_log.py reports it).
    assert growth_mb < 64, f"peak RSS grew by {growth_mb:.1f} MB while streaming 1 GB ({result})"
    assert result["category"] == "customizer-failed"
    assert result["exit_code"] == 7
    assert result["decisive_line"] == result["expected_line"]  # lines counted exactly over the whole gigabyte
    assert any("Will retry" in w for w in result["warnings"])

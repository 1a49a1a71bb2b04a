"""The two scanning backends give identical results: on every test case, on generated logs, on random lines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from diagnosis import diagnose, load_knowledge_base
from diagnosis.scan import hs_backend, hs_compile, source
from diagnosis.scan.hs_literals import LiteralSet
from diagnosis.scanner import BACKEND_ENV, CHUNK, ScanResult, scan, scan_text, sniff_is_log

pytestmark = pytest.mark.skipif(not hs_backend.available(), reason="hyperscan is not installed")

CASES = Path(__file__).with_name("cases")
ALL_CASES = sorted(p for p in CASES.rglob("*") if p.is_file() and p.suffix in (".txt", ".log"))
KB = load_knowledge_base(use_env=False)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _loggen import MIXES, generate  # noqa: E402


def _dump(r: ScanResult) -> dict:
    """Everything a scan found, in comparable form."""
    return {
        "lines": r.lines,
        "bytes": r.bytes_read,
        "encoding": r.encoding,
        "hits": {rid: (h.count, [(x.line, x.text, x.step, x.phase) for x in h.samples()]) for rid, h in r.hits.items()},
        "steps": [vars(s) for s in r.steps],
        "steps_started": r.steps_started,
        "phase": r.phase,
        "failure_lines": [(h.line, h.text, h.step, h.phase) for h in r.failure_lines],
        "flags": (r.success, r.finalized, r.exported, r.operation_id, r.truncated_lines, r.packer_lines),
        "times": (r.first_time, r.last_time),
        "tail_errors": [(h.line, h.text) for h in r.tail_errors],
        "marks": (r.ui_steps, r.ui_failed_line, r.capture_line, r.capture_end_line, r.provisioned_line),
        "secret_blocks": r.secret_blocks,
    }


try:
    import numpy  # noqa: F401 - the Hyperscan backend's batches with numpy are compared when it is installed

    DENSE_TOO = True
except ImportError:  # pragma: no cover - depends on the install
    DENSE_TOO = False


def _both(monkeypatch, run):
    """``run`` with the Hyperscan backend and with the stdlib backend; the Hyperscan backend also with its
    batches through numpy from the first match on (``hs_vector``), which must give the same as without."""
    out = {}
    for backend in ("hyperscan", "stdlib"):
        monkeypatch.setenv(BACKEND_ENV, backend)
        out[backend] = run()
    if DENSE_TOO:
        monkeypatch.setenv(BACKEND_ENV, "hyperscan")
        with monkeypatch.context() as dense:
            dense.setattr(hs_backend, "DENSE_AFTER", 0)
            dense.setattr(hs_backend, "DENSE_BYTES", 1 << 40)
            assert run() == out["hyperscan"], "numpy batches differ"
    return out["hyperscan"], out["stdlib"]


def _stdlib(monkeypatch, run):
    """``run`` with the stdlib backend: the reference both backends give the same as (the tests above)."""
    monkeypatch.setenv(BACKEND_ENV, "stdlib")
    return run()


# every test case, and about 300 real reports spread evenly over the corpus (short pasted texts, thousands of them:
# a fixed sample keeps the variety of their shapes at a run time that does not grow with the corpus;
# test_the_automaton_finds_the_same_fed_whole_or_line_by_line reads them all)
REAL_REPORTS = [p for p in ALL_CASES if p.parent.name == "real"]
REAL_SAMPLE = REAL_REPORTS[:: max(1, len(REAL_REPORTS) // 300)]
COMPARED_CASES = [p for p in ALL_CASES if p.parent.name != "real"] + REAL_SAMPLE


@pytest.mark.parametrize("path", COMPARED_CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_case_scans_and_diagnoses_the_same(path, monkeypatch):
    data = path.read_bytes()
    if sniff_is_log(data):
        hs, std = _both(monkeypatch, lambda: _dump(scan(data, KB)))
        d_hs, d_std = _both(monkeypatch, lambda: diagnose(log=data, rules=KB))
        assert (d_hs.category, d_hs.rule_id, d_hs.evidence, d_hs.failed_customizer) == (
            d_std.category,
            d_std.rule_id,
            d_std.evidence,
            d_std.failed_customizer,
        )
    else:  # a pasted text's diagnosis reads nothing of its scan but what the dump holds: the dumps say it all
        text = data.decode("utf-8", "replace")
        hs, std = _both(monkeypatch, lambda: _dump(scan_text(text, KB)))
    assert hs == std


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_generated_mixes_scan_the_same(mix, monkeypatch):
    block = 1 << 17  # blocks of 128 KiB instead of the scanner's CHUNK: the same stream boundaries, fewer bytes
    monkeypatch.setattr(source, "CHUNK", block)
    data = b"".join(generate(block + (block // 3), mix=mix))  # more than one block: stream boundaries
    data = data[: data.rfind(b"\n", 0, block + block // 3) + 1]  # the generator writes whole blocks of lines
    pieces = [data[i : i + 125_003] for i in range(0, len(data), 125_003)]
    hs, std = _both(monkeypatch, lambda: _dump(scan(iter(pieces), KB)))
    assert hs == std
    assert hs["lines"] == data.count(b"\n")


LINE_PARTS = [
    "[922bdf36-b53c-4e78-9cd8-6b70b9674685] PACKER OUT ",
    "[922bdf36-b53c-4e78-9cd8-6b70b9674685] PACKER ERR 2024/12/23 16:21:04 ",
    "azure-arm: ",
    "(telemetry) Starting provisioner shell",
    "(telemetry) ending shell",
    "exited with code: 0",
    "exited with code: 3010",
    "Script exited with non-zero exit status: 2",
    "No space left on device",
    "E: Could not get lock /var/lib/dpkg/lock-frontend",
    "Timeout waiting for WinRM",
    "Timeout waiting for operation",
    "Build 'azure-arm' errored after 3 minutes: unexpected EOF",
    "Error deleting resource. Will retry.",
    "RequestDisallowedByPolicy",
    "quota",
    " exceeded ",
    "1234 B / 5678 B   12%",
    "error",
    "\u00e9\u00e8 ",
    "\r",
    "x" * 40,
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(LINE_PARTS), max_size=6), min_size=1, max_size=40))
def test_random_lines_scan_the_same(monkeypatch, lines):
    data = ("\n".join("".join(parts) for parts in lines)).encode()
    hs, std = _both(monkeypatch, lambda: _dump(scan(data, KB)))
    assert hs == std


def test_diagnosis_works_with_the_standard_library_alone(tmp_path):
    """Without hyperscan and re2 importable: the stdlib backend, the structural linear-time check."""
    log = tmp_path / "customization.log"
    log.write_bytes(b"".join(generate(200_000, mix="bookkeeping", block_lines=2000)))
    rules = tmp_path / "bad.json"
    rules.write_text(
        '[{"id": "bad", "category": "customizer-failed", "title": "t", "remediation": ["r"],'
        ' "log_patterns": ["(a+)+$"]}]'
    )
    code = (
        "import sys\n"
        "sys.modules['hyperscan'] = None\n"
        "sys.modules['re2'] = None\n"
        "from diagnosis import diagnose, load_knowledge_base\n"
        "from diagnosis.rules import KnowledgeBaseError\n"
        "from diagnosis.scanner import backend_name\n"
        "from diagnosis.linear import re2_available\n"
        "assert backend_name() == 'stdlib' and not re2_available()\n"
        f"print(diagnose(log={str(log)!r}).category)\n"
        "try:\n"
        f"    load_knowledge_base([{str(rules)!r}], use_env=False)\n"
        "except KnowledgeBaseError as exc:\n"
        "    print('refused', 'nested repeat' in str(exc))\n"
    )
    import subprocess

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in __import__("os").environ.items() if k != BACKEND_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env, check=True)
    assert out.stdout.split("\n")[:2] == ["customizer-failed", "refused True"], out.stderr


def test_zero_exit_before_a_step_start_on_the_same_line(monkeypatch):
    data = b"x\nexited with code: 0(telemetry) Starting provisioner shell\nexited with code: 0\n"
    hs, std = _both(monkeypatch, lambda: _dump(scan(data, KB)))
    assert hs == std
    assert hs["steps"][0]["exit_code"] == 0 and hs["steps"][0]["exit_line"] == 2


def test_parallel_scans_in_threads_give_the_sequential_results(monkeypatch):
    """The monitor diagnoses several builds at once: each Hyperscan scan has its own stream and scratch."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv(BACKEND_ENV, "hyperscan")
    logs = [b"".join(generate(CHUNK + 1000 * i, mix=mix, block_lines=4000)) for i, mix in enumerate(sorted(MIXES))]
    sequential = [_dump(scan(log, KB)) for log in logs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda log: _dump(scan(log, KB)), logs))
    assert parallel == sequential


def test_long_built_in_patterns_compile_exactly_on_their_own():
    """The built-in table compiles in one pass only when every pattern compiles exactly: one that Hyperscan refuses
    (``Pattern is too large``, a long alternation) sends the whole table to one compile per pattern to find it,
    two to three times the cold start-up. Long patterns are where that happens."""
    import hyperscan

    from diagnosis.scan.core import build_table

    refused = []
    for text_mode in (False, True):
        for pattern in dict.fromkeys(build_table(KB, text_mode).sources):
            if len(pattern) > 200:
                try:
                    hs_compile._compile([pattern], [False])
                except hyperscan.error as exc:
                    refused.append((str(exc), pattern[:120]))
    assert not refused


def test_a_process_waiting_for_another_compile_loads_its_database(monkeypatch, tmp_path):
    """While another process holds the compile lock, a scan waits for it and then loads the database that process
    stored, compiling nothing itself (workers that start together compile the automaton once)."""
    import threading

    fcntl = pytest.importorskip("fcntl")
    from diagnosis.rules import KnowledgeBase
    from diagnosis.scan.core import build_table

    kb = KnowledgeBase({rid: KB.rules[rid] for rid in ("package-manager-lock", "script-non-zero-exit")})
    monkeypatch.setenv("DIAGNOSIS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(hs_compile, "_PROCESS_CACHE", {})
    table = build_table(kb, False)
    hs_backend.compiled_for(table)
    (cached,) = tmp_path.glob("*.hsdb")
    stored = cached.read_bytes()
    cached.unlink()
    monkeypatch.setattr(hs_compile, "_PROCESS_CACHE", {})
    table.derived.clear()

    def refuse(sources, path):
        raise AssertionError("compiled while another process held the compile lock")

    monkeypatch.setattr(hs_compile, "_compile_and_store", refuse)
    results: list = []
    waiter = threading.Thread(target=lambda: results.append(hs_backend.compiled_for(table)))
    with cached.with_suffix(".lock").open("ab") as other:
        fcntl.flock(other, fcntl.LOCK_EX)  # the other process is compiling
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive() and not results
        cached.write_bytes(stored)  # it stores its database and lets go of the lock
    waiter.join(30)
    assert len(results) == 1 and len(results[0].confirm) == len(table.entries)


def test_storing_a_database_removes_the_ones_unused_for_weeks(monkeypatch, tmp_path):
    """Each version of the rules leaves a cached database of a few MB: storing one removes those no process has
    loaded or stored for ``UNUSED_DAYS`` (with their lock files) and keeps one loaded since, however old."""
    import os
    import time

    from diagnosis.rules import KnowledgeBase
    from diagnosis.scan.core import build_table

    monkeypatch.setenv("DIAGNOSIS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(hs_compile, "_PROCESS_CACHE", {})
    weeks_ago = time.time() - (hs_compile.UNUSED_DAYS + 1) * 86400
    abandoned = tmp_path / f"{'a' * 64}.hsdb"
    abandoned.write_bytes(b"an old version's database")
    abandoned.with_suffix(".lock").write_bytes(b"")
    os.utime(abandoned, (weeks_ago, weeks_ago))
    kept = KnowledgeBase({"package-manager-lock": KB.rules["package-manager-lock"]})
    hs_backend.compiled_for(build_table(kept, False))
    (in_use,) = (path for path in tmp_path.glob("*.hsdb") if path != abandoned)
    os.utime(in_use, (weeks_ago, weeks_ago))
    monkeypatch.setattr(hs_compile, "_PROCESS_CACHE", {})
    build_table(kept, False).derived.clear()
    hs_backend.compiled_for(build_table(kept, False))  # a process loads it: in use again

    other = KnowledgeBase({"script-non-zero-exit": KB.rules["script-non-zero-exit"]})
    hs_backend.compiled_for(build_table(other, False))  # stores a new database, which prunes
    assert not abandoned.exists() and not abandoned.with_suffix(".lock").exists()
    assert in_use.exists() and len(list(tmp_path.glob("*.hsdb"))) == 2


def test_damaged_database_cache_is_compiled_again(monkeypatch, tmp_path):
    from diagnosis.rules import KnowledgeBase
    from diagnosis.scan.core import build_table

    # two entries keep the two compiles quick; the cache works the same for any table
    kb = KnowledgeBase({rid: KB.rules[rid] for rid in ("package-manager-lock", "script-non-zero-exit")})
    monkeypatch.setenv("DIAGNOSIS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(hs_compile, "_PROCESS_CACHE", {})
    hs_backend.compiled_for(build_table(kb, False))  # compiles and writes the cache
    files = list(tmp_path.glob("*.hsdb"))
    assert files
    for path in files:
        path.write_bytes(b"\x00" * 200 + b"not a database")
    monkeypatch.setattr(hs_compile, "_PROCESS_CACHE", {})
    build_table(kb, False).derived.clear()  # the table keeps its database too
    compiled = hs_backend.compiled_for(build_table(kb, False))
    assert len(compiled.confirm) == len(build_table(kb, False).entries)
    monkeypatch.setenv(BACKEND_ENV, "hyperscan")
    data = b"x\nE: Could not get lock /var/lib/dpkg/lock-frontend\n"
    assert scan(data, kb).hits["package-manager-lock"].count == 1


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.lists(st.sampled_from(LINE_PARTS), max_size=6), min_size=1, max_size=30),
    st.integers(min_value=1, max_value=300),
)
def test_random_block_boundaries_change_nothing(monkeypatch, lines, block):
    """Blocks of a few bytes: lines, matches and CRLF pairs split across blocks and across the stream."""
    from diagnosis.scan import source

    data = ("\n".join("".join(parts) for parts in lines)).encode()
    monkeypatch.setenv(BACKEND_ENV, "stdlib")
    whole = _dump(scan(data, KB))
    monkeypatch.setattr(source, "CHUNK", block)
    hs, std = _both(monkeypatch, lambda: _dump(scan(data, KB)))
    assert hs == std == whole


SATURATING_PARTS = [
    *LINE_PARTS,
    "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)",
    "Error deleting resource. Will retry.",
    "(telemetry) Starting provisioner powershell",
    "(telemetry) ending powershell",
    "==> azure-arm: Deleting resource group ...",
    "y" * 17000,  # an over-long line: matched on windows
]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.lists(st.sampled_from(SATURATING_PARTS), max_size=5), min_size=1, max_size=12),
    st.integers(min_value=2, max_value=12),
    st.integers(min_value=40, max_value=5000),
)
# a rule found again in a later window of an over-long line counts once and does not place the evidence window
@example(
    lines=[["(telemetry) Starting provisioner shell", "y" * 20000, "(telemetry) Starting provisioner shell",
            "exited with code: 0"]],
    repeats=2,
    block=40,
)
def test_rules_past_their_first_hits_scan_the_same(monkeypatch, lines, repeats, block):
    """Lines repeated until their rules hold their first hits (then counted in bulk by the Hyperscan backend),
    between markers that change step and phase, in blocks of any size."""
    from diagnosis.scan import source

    data = ("\n".join("".join(parts) for parts in lines * repeats)).encode()
    monkeypatch.setattr(source, "CHUNK", block)
    hs, std = _both(monkeypatch, lambda: _dump(scan(data, KB)))
    assert hs == std


@pytest.mark.parametrize("block", [97, 1000, 4096, CHUNK])
def test_marker_lines_that_change_nothing_scan_the_same(monkeypatch, block):
    """Exit codes after the step's first, failure lines after the first twenty (with and without a time, the
    last one with a time sets the log's last time), steps starting on the line of an exit code."""
    from diagnosis.scan import source

    prefix = "[922bdf36-b53c-4e78-9cd8-6b70b9674685] PACKER "
    lines = []
    for step in range(6):
        lines.append(f"{prefix}ERR 2024/12/23 16:{step:02d}:00 [INFO] (telemetry) Starting provisioner shell")
        for i in range(40):
            minute = f"{step:02d}:{i:02d}"
            lines += [
                f"{prefix}OUT ==> azure-arm: Script exited with non-zero exit status: {i % 3 + 1}",
                f"{prefix}ERR 2024/12/23 16:{minute} [INFO] command 'x' exited with code: {i % 5}",
                f"{prefix}OUT Build 'azure-arm' errored after {i} minutes: unexpected EOF",
                f"{prefix}ERR 2024/12/23 17:{minute} Build 'azure-arm' errored: exited with code: 2",
                f"{prefix}OUT     azure-arm: E: Could not get lock /var/lib/dpkg/lock-frontend ({i})",
            ]
        lines.append(f"{prefix}OUT exited with code: 7 (telemetry) Starting provisioner powershell")
        lines.append(f"{prefix}ERR 2024/12/23 18:{step:02d}:00 [INFO] (telemetry) ending shell")
    lines *= 2
    lines.append(f"{prefix}ERR 2024/12/23 23:59:00 Build 'azure-arm' errored: x")
    lines += [f"{prefix}OUT Build 'azure-arm' errored"] * 50
    lines.append(f"{prefix}ERR 2024/12/23 16:00:00 [INFO] an earlier time, on no marker line")
    data = ("\n".join(lines) + "\n").encode()
    monkeypatch.setattr(source, "CHUNK", block)
    hs, std = _both(monkeypatch, lambda: _dump(scan(data, KB)))
    assert hs == std
    assert hs["hits"]["package-manager-lock"][0] == 6 * 40 * 2
    assert hs["times"][1].strftime("%H:%M") == "23:59"  # the last failure line with a time


@pytest.mark.parametrize("block", [509, 4096, CHUNK])
def test_operation_id_read_from_a_line_past_the_head_scans_the_same(monkeypatch, block):
    """Lines without the packer prefix first (the head holds no operation id), then prefixed ones: the id comes
    from the first recorded line in packer's shape, whichever way its line is counted."""
    from diagnosis.scan import source

    bare = "==> azure-arm: E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 42 (apt-get)"
    prefixed = "[0d1e2f3a-b53c-4e78-9cd8-6b70b9674685] PACKER OUT " + bare
    data = ("\n".join([bare] * 800 + [prefixed] * 300 + [bare] * 50) + "\n").encode()
    monkeypatch.setattr(source, "CHUNK", block)
    hs, std = _both(monkeypatch, lambda: _dump(scan(data, KB)))
    assert hs == std
    assert hs["flags"][3] == "0d1e2f3a-b53c-4e78-9cd8-6b70b9674685" and hs["flags"][5] == 300


class _Watched(hs_backend.HyperscanBackend):
    """The Hyperscan backend, keeping each instance for the test to look at."""

    made: list[hs_backend.HyperscanBackend] = []

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.made.append(self)


@pytest.mark.skipif(not DENSE_TOO, reason="numpy is not installed")
def test_matches_at_every_byte_switch_the_numpy_batches_to_dropping_repeats(monkeypatch):
    """``Communicator ended with: [1-9]\\d*`` ends at every digit of a long number: the callback that appends
    every match gives way to the one that drops repeats on the same line, and nothing changes in the result."""
    from diagnosis.scan import source

    prefix = "[922bdf36-b53c-4e78-9cd8-6b70b9674685] PACKER "
    lines = [f"{prefix}OUT     azure-arm: E: Could not get lock /var/lib/dpkg/lock-frontend ({i})" for i in range(20)]
    lines += [f"{prefix}ERR [INFO] RPC endpoint: Communicator ended with: 1{'7' * 9000} ({i})" for i in range(60)]
    lines += [f"{prefix}OUT Build 'azure-arm' errored after {i} minutes: unexpected EOF" for i in range(30)]
    data = ("\n".join(lines) + "\n").encode()
    monkeypatch.setattr(source, "CHUNK", 256 << 10)
    monkeypatch.setattr(hs_backend, "HyperscanBackend", _Watched)
    _Watched.made = []
    hs, std = _both(monkeypatch, lambda: _dump(scan(data, KB)))
    assert hs == std
    assert hs["hits"]["package-manager-lock"][0] == 20
    assert any(backend.vector is not None and backend.flooded for backend in _Watched.made)


def test_numpy_batches_only_for_logs_dense_with_matches_and_never_required(tmp_path):
    """A small log, and a realistic one, never import numpy; a log where every line is an error does (after its
    first matches), and without numpy it gives the same result in pure-Python batches."""
    import json
    import subprocess

    small, realistic, dense = tmp_path / "small.log", tmp_path / "apt.log", tmp_path / "dense.log"
    small.write_bytes(b"".join(generate(100_000, mix="error-lines", block_lines=2000))[:100_000])
    realistic.write_bytes(b"".join(generate(3 * CHUNK, mix="apt")))
    dense.write_bytes(b"".join(generate(3 * CHUNK, mix="error-lines")))
    code = (
        "import json, sys\n"
        "if sys.argv[1] == 'without': sys.modules['numpy'] = None\n"
        "from diagnosis import load_knowledge_base\n"
        "from diagnosis.scanner import scan\n"
        "kb = load_knowledge_base(use_env=False)\n"
        "out = {}\n"
        "for path in sys.argv[2:]:\n"
        "    r = scan(path, kb)\n"
        "    hits = {k: (h.count, [(x.line, x.text, x.step) for x in h.samples()]) for k, h in r.hits.items()}\n"
        "    out[path] = [hits, r.packer_lines, r.lines, r.steps_started, sys.modules.get('numpy') is not None]\n"
        "print(json.dumps(out))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in __import__("os").environ.items() if k != BACKEND_ENV}

    def run(numpy: str, *paths: Path) -> dict:
        args = [sys.executable, "-c", code, numpy, *map(str, paths)]
        done = subprocess.run(args, capture_output=True, text=True, cwd=root, env=env, check=True)
        return json.loads(done.stdout)

    first = run("with", small, realistic)
    assert not first[str(small)][-1] and not first[str(realistic)][-1]  # numpy never imported
    with_numpy, without = run("with", dense)[str(dense)], run("without", dense)[str(dense)]
    assert with_numpy[-1] and not without[-1]
    assert with_numpy[:-1] == without[:-1]
    assert with_numpy[0]["package-manager-lock"][0] > 1000


@pytest.mark.skipif(not DENSE_TOO, reason="numpy is not installed")
def test_a_log_without_line_feeds_gives_the_same_in_numpy_batches(monkeypatch):
    """Error lines run together without line feeds: one line, scanned in pieces of ``MAX_CARRY``; per piece an
    entry is taken on a window around its first match, with the other matches inside that window (here a
    failure line next to each entry's first match, a step start and zero exit codes between them)."""
    phrases = [
        "E: Could not get lock /var/lib/dpkg/lock-frontend",
        "E: Unable to locate package libfoo",
        "dpkg: error processing package pkg (--configure):",
        "write /var/tmp/cache: No space left on device",
        "ssh: handshake failed: EOF",
        "Error deleting resource. Will retry.",
        "Timeout waiting for WinRM on 10.0.0.4",
        "(telemetry) Starting provisioner shell",
        "[INFO] command 'x' exited with code: 0",
    ]
    failure = " Build 'azure-arm' errored after 3 minutes: Script exited with non-zero exit status: 2 "
    unit = "".join("x" * 5000 + phrase + failure for phrase in phrases).encode()
    data = unit * (3 * (1 << 20) // len(unit))
    monkeypatch.setenv(BACKEND_ENV, "hyperscan")
    monkeypatch.setattr(hs_backend, "DENSE_AFTER", 1 << 62)
    pure = _dump(scan(data, KB))
    monkeypatch.setattr(hs_backend, "DENSE_AFTER", 0)
    monkeypatch.setattr(hs_backend, "DENSE_BYTES", 1 << 40)
    assert _dump(scan(data, KB)) == pure
    assert pure["lines"] == 1 and len(pure["failure_lines"]) == 1  # a marker applies once per line


def test_backends_are_fed_whole_lines(monkeypatch):
    """The bundled automaton can miss a match whose bytes are split across two stream writes (an acceleration
    looks at byte pairs): every write ends at a line feed, and no pattern matches across one."""
    from diagnosis.scan import source
    from diagnosis.scan.core import drive
    from diagnosis.scan.model import ScanResult

    class Recording:
        def __init__(self) -> None:
            self.pieces: list[bytes] = []

        def feed(self, block: bytes) -> None:
            self.pieces.append(block)

        def end(self) -> None:
            pass

        def lines(self, buf: bytes, offset: int, end: int, line_no: int, partial: bool) -> None:
            pass

    data = b"".join(generate(5000, mix="error-lines", block_lines=200)) + b"no line feed at the end"
    monkeypatch.setattr(source, "CHUNK", 97)
    backend = Recording()
    drive(iter([data[i : i + 97] for i in range(0, len(data), 97)]), ScanResult(), backend)
    assert b"".join(backend.pieces) == data
    assert all(piece.endswith(b"\n") for piece in backend.pieces[:-1])


def test_a_match_split_across_blocks_inside_a_line_is_found(monkeypatch):
    """A line where a block boundary once fell inside a match the automaton then missed (block size 99)."""
    from diagnosis.scan import source

    p = "[922bdf36-b53c-4e78-9cd8-6b70b9674685] PACKER OUT "
    lines = [
        p,
        p + p,
        p + p,
        p + p + "exited with code: 0Error deleting resource. Will retry.quota\r",
        p + p + "exited with code: 0Error deleting resource. Will retry.quota\r",
        p + "azure-arm: Build 'azure-arm' errored after 3 minutes: unexpected EOFRequestDisallowedByPolicy"
        "[922bdf36-b53c-4e78-9cd8-6b70b9674685] PACKER ERR 2024/12/23 16:21:04 exited with code: 0",
    ]
    data = "\n".join(lines).encode()
    monkeypatch.setenv(BACKEND_ENV, "stdlib")
    whole = _dump(scan(data, KB))
    monkeypatch.setattr(source, "CHUNK", 99)
    hs, std = _both(monkeypatch, lambda: _dump(scan(data, KB)))
    assert "script-non-zero-exit" in hs["hits"]
    assert hs == std == whole


@pytest.mark.parametrize("block", [40, 1000, CHUNK])
def test_a_marker_applies_once_per_over_long_line(monkeypatch, block):
    """An over-long line is matched on windows around its matches: two step starts on one line are one line
    with a step start, whichever windows found them."""
    from diagnosis.scan import source

    start = "(telemetry) Starting provisioner powershell"
    line = start + "y" * 17000 + start
    data = "\n".join([line, line]).encode()
    monkeypatch.setattr(source, "CHUNK", block)
    hs, std = _both(monkeypatch, lambda: _dump(scan(data, KB)))
    assert hs == std
    assert hs["steps_started"] == 2


@pytest.mark.skipif(not hs_backend.available(), reason="needs the hyperscan package")
@pytest.mark.parametrize("text_mode", [False, True], ids=["log", "text"])
def test_the_automaton_finds_the_same_fed_whole_or_line_by_line(text_mode):
    """Writes that end at line feeds lose no match: every test text and a block of each line mix, fed in one
    write and one line per write, report the same (entry, end) pairs."""
    from diagnosis.scan.core import build_table

    database = hs_backend.compiled_for(build_table(KB, text_mode)).database
    texts = [path.read_bytes() for path in ALL_CASES]
    texts += [b"".join(generate(1 << 16, mix=mix, block_lines=600)) for mix in sorted(MIXES)]

    def matches(pieces: list[bytes]) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []

        def on_match(index: int, _start: int, end: int, _flags: int, _context: object) -> None:
            found.append((index, end))

        # the binding keeps no reference to the handler: this frame holds it while the stream lives
        with database.stream(match_event_handler=on_match) as stream:
            for piece in pieces:
                stream.scan(piece, scratch=database.scratch)
        return sorted(found)

    differing = [i for i, data in enumerate(texts) if matches([data]) != matches(data.splitlines(keepends=True))]
    assert not differing


LITERAL_BYTES = st.sampled_from([b"a", b"B", b"b", b"\n", b" ", b"\xc3\xa9", b"-"])


@settings(max_examples=200, deadline=None)
@given(
    literals=st.lists(
        st.tuples(st.lists(LITERAL_BYTES, min_size=1, max_size=4).map(b"".join), st.booleans()), max_size=8
    ),
    texts=st.lists(st.lists(LITERAL_BYTES, max_size=30).map(b"".join), min_size=1, max_size=3),
)
def test_literal_automaton_finds_what_a_substring_search_finds(literals, texts):
    """scan_text's keyword lookup with Hyperscan: the literals present are those ``in`` finds (ASCII case folded
    for the case-insensitive ones, on lower-case literals as the knowledge base gives them)."""
    literals = [(lit.lower() if caseless else lit, caseless) for lit, caseless in literals]
    expected = {
        i
        for i, (lit, caseless) in enumerate(literals)
        if any(lit in (text.lower() if caseless else text) for text in texts)
    }
    assert LiteralSet(literals).present(tuple(texts)) == expected


def _rules_file(tmp_path) -> str:
    """A rules file with a new entry, an entry that overrides a built-in one, and one that resolves by a line."""
    import json

    def entry(rule_id: str, category: str, patterns: list[str], **more) -> dict:
        return {
            "id": rule_id,
            "category": category,
            "title": rule_id,
            "message_patterns": patterns,
            "log_patterns": patterns,
            "phase": "customize",
            "cause": "Ours.",
            "remediation": ["Ours."],
            "precedence": 90,
            **more,
        }

    rules = [
        entry("ours-exit", "customizer-failed", [r"exited with code"]),
        entry("script-non-zero-exit", "customizer-failed", [r"(?i)error"]),
        entry("ours-retry", "network-config", [r"Retrying"], resolved_by=[r"Connected to (?:SSH|WinRM)!"]),
    ]
    path = tmp_path / "ours.json"
    path.write_text(json.dumps({"rules": rules}))
    return str(path)


@pytest.fixture(scope="module")
def beside_and_one_table(tmp_path_factory):
    """The built-in table with a rules file beside it, and one table of all their entries. The one table is read
    with the stdlib backend only: a second Hyperscan automaton of every built-in pattern would cost a full compile
    for an answer the stdlib backend already gives."""
    from diagnosis.rules import KnowledgeBase

    kb = load_knowledge_base([_rules_file(tmp_path_factory.mktemp("rules"))], use_env=False)
    return kb, KnowledgeBase(dict(kb.rules))


@pytest.mark.parametrize("path", COMPARED_CASES[::20], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_rules_file_scans_beside_the_built_in_table_as_one_table_would(path, monkeypatch, beside_and_one_table):
    """The entries of a rules file have a table of their own next to the built-in one; a scan finds exactly what
    one table of all entries finds (an overridden built-in entry decides by the file's patterns only)."""
    kb, one_table = beside_and_one_table
    assert kb.builtin is KB.builtin and kb.users is not None
    assert set(kb.users.rules) == {"ours-exit", "script-non-zero-exit", "ours-retry"}
    data = path.read_bytes()
    if sniff_is_log(data):
        run = lambda rules: (_dump(scan(data, rules)), diagnose(log=data, rules=rules))  # noqa: E731
    else:
        text = data.decode("utf-8", "replace")
        run = lambda rules: (_dump(scan_text(text, rules)), diagnose(text, rules=rules))  # noqa: E731
    one = _stdlib(monkeypatch, lambda: run(one_table))
    assert _both(monkeypatch, lambda: run(kb)) == (one, one)


def test_a_rules_file_counts_each_hit_line_once_as_one_table_would(monkeypatch, beside_and_one_table):
    """Line counts follow the lines one table of all entries records: a line only the file's entries hit counts,
    a line both tables hit counts once, and a line only an overridden built-in entry's patterns hit does not."""
    op = "[0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0] PACKER OUT"
    log = "\n".join(
        [
            f"{op}     azure-arm: Retrying the download",  # the file's entry only
            f"{op}     azure-arm: error: exited with code 3",  # both tables
            f"{op} ==> azure-arm: Script exited with non-zero exit status: 1",  # the overridden entry's own pattern
            f"{op} Build 'azure-arm' errored after 1 minute",
        ]
    ).encode()
    kb, one_table = beside_and_one_table
    one = _stdlib(monkeypatch, lambda: _dump(scan(log, one_table)))
    assert _both(monkeypatch, lambda: _dump(scan(log, kb))) == (one, one)


def test_a_rules_file_leaves_the_built_in_automaton_as_it_is(monkeypatch, tmp_path):
    """Loading a rules file compiles the file's own small table; the built-in automaton is neither compiled again
    nor stored again under another key."""
    from diagnosis.scan.markers import MARKERS

    monkeypatch.setenv(BACKEND_ENV, "hyperscan")
    log = b"[x] PACKER OUT    azure-arm: Retrying\n[x] PACKER OUT    azure-arm: exited with code 3\n"
    scan(log, KB)  # the built-in automaton in this process: loaded from the cache the other tests share
    monkeypatch.setenv("DIAGNOSIS_CACHE_DIR", str(tmp_path / "cache"))  # the rules file's table is compiled anew
    monkeypatch.setattr(hs_compile, "_PROCESS_CACHE", {})  # nothing compiled by another test of this process
    compiled: list[int] = []
    real = hs_compile._compile

    def counted(sources, prefilter):
        compiled.append(len(sources))
        return real(sources, prefilter)

    monkeypatch.setattr(hs_compile, "_compile", counted)
    kb = load_knowledge_base([_rules_file(tmp_path)], use_env=False)
    result = scan(log, kb)
    assert "ours-exit" in result.hits and "ours-retry" in result.hits
    assert compiled and max(compiled) <= len(MARKERS) + 10  # the file's table only

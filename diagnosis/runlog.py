"""Reading a live customization.log tail for the running-build analysis: lines, timestamps and a state machine.

``_scan`` walks the lines once (no look-back) and keeps what ``diagnosis.running`` needs to say what the build
waits on: the stage (deploy, connect, provisioner, distribute, cleanup, ended), the running provisioner, a
pending Windows restart, download progress, the sysprep loop lines. Lines are read with the one Packer log-line
grammar (``diagnosis.logline``); what they mean comes from the knowledge base's ``running`` signals
(``diagnosis.runsignals``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .logline import CAPTURE_STEPS, PROVISIONER_END, PROVISIONER_START, parse_line
from .runsignals import RunningKnowledge

MAX_LINE_CHARS = 8_192  # longer lines are cut for analysis
LOOP_HOPELESS_REPEATS = 200  # a generic repeated line is hopeless after this many repetitions

# --------------------------------------------------------------------------------------------------- parsing

# Lines are read with the one Packer log-line grammar (diagnosis.logline); what the lines mean while a build
# runs (prompts, restarts, the sysprep loop, download progress, failure) comes from the knowledge base.
_UNITS = {
    "B": 1,
    "bytes": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
}

_START_PROV = PROVISIONER_START
_END_PROV = PROVISIONER_END
_WAIT_CONN = re.compile(r"(?i)Waiting for (SSH|WinRM)\b")
_CONN_TIMEOUT = re.compile(
    r"(?i)Waiting for (SSH|WinRM), up to timeout: ((?:\d{1,6}h)?(?:\d{1,6}m)?(?:\d{1,6}(?:\.\d+)?s)?)"
)
_CONNECTED = re.compile(r"(?i)Connected to (?:SSH|WinRM)!|WinRM connected\.")
_CONN_TARGET = re.compile(
    r"(?:dial tcp |Attempting SSH connection to |https?://)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})"
)
_DEPLOY = re.compile(r"Deploying deployment template|Validating deployment template")
_DEPLOY_DONE = re.compile(r"Getting the VM's IP address|-> VM Name\b|Waiting for (?:SSH|WinRM)")
_DISTRIBUTE = re.compile(
    r"(?i)" + CAPTURE_STEPS + r"|SIG publication|Waiting for SIG replication|replicat(?:ing|ion)"
    r"|Distributing\b|Creating image version|Copying VHD|Exporting VHD"
)
_CLEANUP = re.compile(
    r"(?i)Deleting individual resources|Deleting resource group|Removing the created Deployment"
)
_ENDED = re.compile(
    r"Done exporting Packer logs|Build '[\w.-]{1,80}' (?:finished|errored)|==> Builds finished|"
    r"==> Wait completed after|\(telemetry\) Finalizing\."
)
_CANCELED = re.compile(
    r"Cancelling build after receiving terminated|Cancelling builder after context cancellation"
)
_PRIVATE_IP = re.compile(r"^(?:10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.)")


@dataclass
class _Line:
    n: int  # 1-based number within the input
    raw: str
    msg: str  # the message without the log prefix, timestamps and "azure-arm:" markers
    ts: datetime | None  # the line's own timestamp
    at: datetime | None  # its own or the last timestamp before it


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    return data.decode("utf-8", errors="replace")


def _split(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text.replace("\x00", ""))


def _iter_lines(tail: object) -> Iterable[str]:
    if tail is None:
        return ()
    if isinstance(tail, (bytes, bytearray, memoryview)):
        return _split(_decode(bytes(tail)))
    if isinstance(tail, str):
        return _split(tail)
    if isinstance(tail, Iterable):
        return _iter_items(tail)
    return _split(str(tail))


def _iter_items(items: Iterable[object]) -> Iterable[str]:
    """``str`` items are lines (or blocks of lines); ``bytes`` items are stream chunks that may cut lines."""
    pending = b""
    for item in items:
        if isinstance(item, (bytes, bytearray, memoryview)):
            pending += bytes(item)
            cut = max(pending.rfind(b"\n"), pending.rfind(b"\r"))
            if cut >= 0 and not pending.startswith((b"\xff\xfe", b"\xfe\xff")):
                head, pending = pending[: cut + 1], pending[cut + 1 :]
                yield from _split(_decode(head))[:-1]
            continue
        if pending:
            yield from _split(_decode(pending))
            pending = b""
        if isinstance(item, str):
            yield from _split(item.rstrip("\r\n") if item.count("\n") <= 1 else item)
        elif item is not None:
            yield from _split(str(item))
    if pending:
        yield from _split(_decode(pending))


def _parse(n: int, raw: str, last: datetime | None) -> _Line:
    line = raw[:MAX_LINE_CHARS]
    parsed = parse_line(line)
    ts = parsed.time
    return _Line(n=n, raw=line, msg=parsed.message, ts=ts, at=ts or last)


def _duration_minutes(text: str) -> float | None:
    """Go duration (``20m0s``, ``1h30m``, ``45s``) in minutes."""
    total = 0.0
    found = False
    for value, unit in re.findall(r"(\d+(?:\.\d+)?)(h|m|s)", text):
        found = True
        total += float(value) * {"h": 60.0, "m": 1.0, "s": 1.0 / 60}[unit]
    return total if found else None


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return max(0.0, (b - a).total_seconds() / 60.0)  # a clock behind the log: not negative time


def _size(value: str, unit: str) -> float:
    return float(value) * _UNITS.get(unit, 1)


def _fmt_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def _fmt_minutes(m: float) -> str:
    if m >= 120:
        return f"{m / 60:.1f} h"
    return f"{m:.0f} min"


# ------------------------------------------------------------------------------------------------- scanning


@dataclass
class _Progress:
    line: _Line
    file: str
    done: float
    total: float


@dataclass
class _State:
    stage: str | None = None  # deploy | connect | provisioner | between | distribute | cleanup | ended
    stage_line: _Line | None = None
    # when the stage began: the stage line's own timestamp, else the first timestamp logged after it
    stage_ts: datetime | None = None
    conn_kind: str | None = None
    conn_timeout: float | None = None
    conn_target: str | None = None
    provisioner: str | None = None
    prov_line: _Line | None = None
    prov_count: int = 0
    restart_line: _Line | None = None
    restart_lines: list[_Line] = field(default_factory=list)
    progress: list[_Progress] = field(default_factory=list)
    upload_line: _Line | None = None
    ga_missing: _Line | None = None
    canceled: _Line | None = None
    failed: _Line | None = None  # the first line saying the build failed
    last_ts: datetime | None = None
    lines_after_ts: int = 0  # non-blank lines seen since the line that carried ``last_ts``
    meaningful: deque[_Line] = field(default_factory=lambda: deque(maxlen=LOOP_HOPELESS_REPEATS * 4))
    know: RunningKnowledge = field(default_factory=RunningKnowledge)  # the knowledge base's running signals

    def enter(self, stage: str, line: _Line) -> None:
        if self.stage != stage:
            self.stage = stage
            self.stage_line = line
            self.stage_ts = line.ts
        if stage != "provisioner":
            self.restart_line = None
            self.restart_lines = []


def _scan(lines: Iterable[str], know: RunningKnowledge) -> _State:
    """Run the state machine over the lines. Line numbers count every line; state needs no look-back."""
    st = _State(know=know)
    for n, raw in enumerate(lines, 1):
        if not raw or raw.isspace():
            continue
        try:
            ln = _parse(n, raw, st.last_ts)
        except Exception:  # defensive: one odd line must never stop the analysis
            continue
        if ln.ts is not None:
            st.last_ts = ln.ts
            st.lines_after_ts = 0
            if st.stage_ts is None and st.stage is not None:
                st.stage_ts = ln.ts
        else:
            st.lines_after_ts += 1
        _step(st, ln)
    return st


def _step(st: _State, ln: _Line) -> None:
    msg = ln.msg
    if not msg:
        return
    is_err_noise = "PACKER ERR" in ln.raw[:140] or (ln.ts is not None and " ui: " not in ln.raw[:140])
    know = st.know
    if not is_err_noise or know.search("prompt", msg) or know.search("sysprep-loop", msg):
        st.meaningful.append(ln)

    if st.failed is None and know.search("failed", msg):
        st.failed = ln
    if _ENDED.search(msg):
        st.enter("ended", ln)
        if "Done exporting" in msg:
            st.stage_line = ln
        return
    if _CANCELED.search(msg):
        st.canceled = ln
        st.enter("ended", ln)
        return
    if st.stage == "ended":
        return  # lines after the end (plugin exit messages) change nothing
    m = _START_PROV.search(msg)
    if m:
        st.provisioner = m.group(1)
        st.prov_line = ln
        st.prov_count += 1
        st.progress = []
        st.upload_line = None
        st.ga_missing = None
        st.enter("provisioner", ln)
        st.stage_line = ln
        return
    m = _END_PROV.search(msg)
    if m:
        if m.group(1) == "azure-arm":
            return
        st.enter("between", ln)
        st.provisioner = None
        return
    if _CLEANUP.search(msg):
        st.enter("cleanup", ln)
        return
    # A tail may begin in the middle of a provisioner: before any stage marker, read lines as if inside one.
    if st.stage == "provisioner" or (st.stage is None and not _WAIT_CONN.search(msg)):
        if know.search("restart", msg) or (st.stage == "provisioner" and _WAIT_CONN.search(msg)):
            if st.restart_line is None:
                st.restart_line = ln
            st.restart_lines.append(ln)
            return
        if st.restart_line is not None and know.ended("restart", msg):
            st.restart_line = None
            st.restart_lines = []
        if know.search("agent-missing", msg):
            st.ga_missing = ln
        if msg.startswith("Uploading ") and "=>" in msg:
            st.upload_line = ln
        p = know.search("download", msg)
        if p:
            try:
                st.progress.append(
                    _Progress(
                        ln,
                        p.group("file"),
                        _size(p.group("done"), p.group("du")),
                        _size(p.group("total"), p.group("tu")),
                    )
                )
            except (ValueError, OverflowError):
                pass
            if len(st.progress) > 1000:
                del st.progress[:-500]
        if st.stage == "provisioner" or p or st.restart_line is not None:
            return
    if _DISTRIBUTE.search(msg) and st.stage != "provisioner":
        st.enter("distribute", ln)
        return
    m = _CONN_TIMEOUT.search(msg)
    if m:
        st.conn_kind = m.group(1)
        st.conn_timeout = _duration_minutes(m.group(2))
        if st.stage != "connect":
            st.enter("connect", ln)
        return
    m = _WAIT_CONN.search(msg)
    if m and "restart" not in msg.lower():
        st.conn_kind = m.group(1)
        if st.stage != "connect":
            st.enter("connect", ln)
        return
    if _CONNECTED.search(msg):
        if st.stage == "connect":
            st.enter("between", ln)
        return
    if st.stage == "connect":
        t = _CONN_TARGET.search(msg)
        if t:
            st.conn_target = t.group(1)
        return
    if _DEPLOY.search(msg):
        st.enter("deploy", ln)
        return
    if st.stage == "deploy" and _DEPLOY_DONE.search(msg):
        st.enter("between", ln)
        return

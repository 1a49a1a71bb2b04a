"""The situations a running build can be in, each judged from the log's state (``diagnosis.runlog``): waiting for
a connection, a customizer running, a Windows restart, a repeated-line loop, a File customizer download. Each
returns a :class:`~diagnosis.model.RunningAnalysis`; ``diagnosis.running`` decides which applies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from .model import Evidence, RunningAnalysis
from .redact import redact
from .runlog import LOOP_HOPELESS_REPEATS, _fmt_bytes, _fmt_minutes, _Line, _minutes, _State

MAX_EVIDENCE = 8
# A File customizer is meant for small files only (the guide: < 20 MB).
FILE_CUSTOMIZER_LIMIT_BYTES = 20 * 1024 * 1024
# A connection wait normally ends within minutes; past this the network is the likely cause.
CONNECTION_SUSPECT_MINUTES = 10.0
LOOP_HOPELESS_MINUTES = 30.0
# No Windows restart legitimately takes this long.
RESTART_HOPELESS_MINUTES = 60.0
# After "A system shutdown has already been scheduled (1190)" the restart customizer times out (default 5m);
# past this, it will not succeed.
RESTART_1190_HOPELESS_MINUTES = 30.0


def _ev(lines: Iterable[_Line | None]) -> list[Evidence]:
    out: list[Evidence] = []
    seen: set[int] = set()
    for ln in lines:
        if ln is None or ln.n in seen:
            continue
        seen.add(ln.n)
        out.append(Evidence(text=redact(ln.raw[:1000]), line=ln.n, source="log"))
        if len(out) >= MAX_EVIDENCE:
            break
    return out




def _connection(st: _State, stall: float, now: datetime | None) -> RunningAnalysis:
    start = st.stage_line
    minutes = _minutes(st.stage_ts, now)
    kind = st.conn_kind or "SSH"
    port = "5986" if kind.lower() == "winrm" else "22"
    parts = [f"Waiting for {kind} to the build VM"]
    if minutes is not None:
        parts.append(f" for {_fmt_minutes(minutes)}")
    if st.conn_timeout is not None:
        parts.append(f" (packer gives up after {_fmt_minutes(st.conn_timeout)})")
    if st.conn_target:
        parts.append(f" at {st.conn_target}")
    can: bool | None = None
    category = None
    if minutes is not None and st.conn_timeout is not None and minutes > st.conn_timeout:
        can = False
    if minutes is not None and minutes >= CONNECTION_SUSPECT_MINUTES:
        category = "network-config"
        parts.append(
            f". Check that port {port} is reachable from Image Builder (NSG, firewall, private link, "
            "VNet configuration)"
        )
    last_err = None
    for ln in reversed(st.meaningful):
        if ln.n > (start.n if start else 0) and "timeout" in ln.msg.lower():
            last_err = ln
            break
    return RunningAnalysis(
        waiting_on="connection",
        detail="".join(parts) + ".",
        can_finish=can,
        minutes_in_state=minutes,
        category=category,
        evidence=_ev([start, last_err]),
    )


def _provisioner(st: _State, stall: float, remaining: float | None, now: datetime | None) -> RunningAnalysis:
    start = st.prov_line
    minutes = _minutes(start.at if start else None, now)
    last = st.meaningful[-1] if st.meaningful else None
    detail = f"Provisioner '{st.provisioner}' (step {st.prov_count} in this tail) running"
    if minutes is not None:
        detail += f" for {_fmt_minutes(minutes)}"
    if stall >= 1:
        detail += f"; no output for {_fmt_minutes(stall)}"
    detail += "."
    can = False if remaining is not None and remaining <= 0 else None
    return RunningAnalysis(
        waiting_on="provisioner",
        detail=detail,
        can_finish=can,
        minutes_in_state=minutes,
        provisioner=st.provisioner,
        evidence=_ev([start, last if last is not start else None]),
    )


def _restart(st: _State, stall: float, now: datetime | None) -> RunningAnalysis:
    first = st.restart_line
    lines = st.restart_lines
    minutes = _minutes(first.at if first else None, now)
    if minutes is None:
        minutes = stall or None
    text = " ".join(ln.msg for ln in lines)
    if "1190" in text or "Timeout waiting for machine to restart" in text:
        category = "windows-restart-failed"
        why = "a restart was already scheduled (1190)" if "1190" in text else "the restart timed out"
    else:
        category = "pending-restart"
        why = (
            "Windows Modules Installer is still working"
            if "Modules Installer" in text
            else "a shutdown is in progress (1115)"
            if "1115" in text
            else "waiting for the VM to come back"
        )
    can = False if minutes is not None and minutes >= RESTART_HOPELESS_MINUTES else None
    if category == "windows-restart-failed" and (
        "Timeout waiting" in text or (minutes is not None and minutes >= RESTART_1190_HOPELESS_MINUTES)
    ):
        can = False
    detail = (
        "Windows restart pending"
        + (f" in provisioner '{st.provisioner}'" if st.provisioner else "")
        + f": {why}"
        + (f", for {_fmt_minutes(minutes)}" if minutes is not None else "")
        + ". Add a WindowsRestart customizer after updates and raise its restartTimeout."
    )
    return RunningAnalysis(
        waiting_on="restart",
        detail=detail,
        can_finish=can,
        minutes_in_state=minutes,
        provisioner=st.provisioner,
        category=category,
        evidence=_ev([lines[-1], first, st.prov_line]),
    )


def _generic_loop(st: _State, loop: tuple[int, int], stall: float, now: datetime | None) -> RunningAnalysis:
    k, reps = loop
    run = list(st.meaningful)[-(k * reps) :]
    # From the first repetition's (own or preceding) timestamp to now; without times, the stall is a floor.
    minutes = _minutes(run[0].at, now) if run else None
    if minutes is None or minutes < stall:
        minutes = stall or None
    hopeless = (minutes is not None and minutes >= LOOP_HOPELESS_MINUTES) or reps >= LOOP_HOPELESS_REPEATS
    what = (
        f"the line {run[-1].msg[:160]!r}" if k == 1 else f"a cycle of {k} lines ending {run[-1].msg[:120]!r}"
    )
    detail = (
        f"Repeating {what} {reps} times"
        + (f" over {_fmt_minutes(minutes)}" if minutes else "")
        + (f" in provisioner '{st.provisioner}'" if st.provisioner else "")
        + "."
    )
    return RunningAnalysis(
        waiting_on="loop",
        detail=detail,
        can_finish=False if hopeless else None,
        minutes_in_state=minutes,
        provisioner=st.provisioner,
        evidence=_ev([run[-1], run[0], st.prov_line]),
    )


def _download(st: _State, stall: float, remaining: float | None, now: datetime | None) -> RunningAnalysis:
    cur = st.progress[-1]
    same = [p for p in st.progress if p.file == cur.file and p.total == cur.total]
    rate: float | None = None
    how = ""
    timed = [p for p in same if p.line.ts is not None]
    if len(timed) >= 2 and timed[-1].line.ts != timed[0].line.ts:
        secs = (timed[-1].line.ts - timed[0].line.ts).total_seconds()  # type: ignore[operator]
        if secs > 0 and timed[-1].done >= timed[0].done:
            rate = (timed[-1].done - timed[0].done) / secs
            how = "from the timestamps of its progress lines"
    if rate is None:
        started = st.upload_line or st.prov_line
        begin = started.at if started else None
        if begin is not None and now is not None and (now - begin).total_seconds() > 0:
            rate = cur.done / (now - begin).total_seconds()
            how = "since the upload started"
    if rate is None and len(same) >= 2 and stall > 0:
        # Progress is printed at fixed increments; the next one has not come for ``stall`` minutes, so one
        # increment takes at least that long: an upper bound on the rate (a lower bound on the ETA).
        step = max(same[-1].done - same[-2].done, 0.0)
        rate = step / (stall * 60.0)
        how = "at most, from the last progress step and the time since the log grew"
    eta = None
    left = max(cur.total - cur.done, 0.0)
    if rate is not None and rate > 0:
        eta = left / rate / 60.0
    elif rate == 0 and left > 0:
        eta = math.inf
    can: bool | None = None
    if eta is not None and math.isinf(eta):
        can = False
    elif eta is not None and remaining is not None:
        can = eta <= remaining
    elif left == 0:
        can = True
    pct = 100.0 * cur.done / cur.total if cur.total else 0.0
    detail = (
        f"File customizer uploading {cur.file}: {_fmt_bytes(cur.done)} of {_fmt_bytes(cur.total)} "
        f"({pct:.1f}%)"
    )
    if rate is not None:
        detail += f" at {_fmt_bytes(rate)}/s ({how})"
    if eta is not None:
        detail += ", done in " + ("never at this rate" if math.isinf(eta) else f"about {_fmt_minutes(eta)}")
    if remaining is not None:
        detail += f"; {_fmt_minutes(max(remaining, 0))} left before the build timeout"
    detail += (
        ". The File customizer suits files under 20 MB; download large files in a script (curl, wget, "
        "Invoke-WebRequest)."
    )
    minutes = _minutes(st.prov_line.at if st.prov_line else None, now)
    return RunningAnalysis(
        waiting_on="download",
        detail=detail,
        can_finish=can,
        minutes_in_state=minutes,
        eta_minutes=None if eta is None or math.isinf(eta) else eta,
        rate_bytes_per_second=rate,
        provisioner=st.provisioner,
        category="large-file-download",
        evidence=_ev([cur.line, same[0].line if same else None, st.upload_line, st.prov_line]),
    )

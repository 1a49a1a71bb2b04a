"""What a running Image Builder build waits on, from the tail of its live log.

``analyze_running(tail, minutes_since_growth, minutes_remaining=..., now=...)`` reads the tail of a live
``customization.log`` (or the build container's output) and reports one situation as a
:class:`~diagnosis.model.RunningAnalysis`:

- ``connection``: waiting for SSH/WinRM, for how long, against packer's ``up to timeout: 20m0s``;
- ``provisioner``: a customizer running for N minutes (``(telemetry) Starting provisioner X``);
- ``download``: a File customizer upload with its measured rate and predicted finish;
- ``loop``: the same lines repeated (the sysprep ``IMAGE_STATE_UNDEPLOYABLE`` loop, or any other);
- ``prompt``: a script waiting for an answer (``[Y/n]``, ``Press any key``, ``Are you sure``);
- ``restart``: a Windows restart that has not come back (``Waiting for machine to restart``, 1115, 1190,
  ``Windows Modules Installer``);
- ``deploy`` / ``distribute``: the build VM being deployed, the image being captured or replicated;
- ``nothing``: the log ended (``Done exporting Packer logs``), ``unknown`` otherwise.

Times come from the timestamps in the log (``PACKER ERR 2020/04/30 23:28:50``); ``now`` defaults to the last
timestamp plus ``minutes_since_growth``. Any input is accepted: bytes are decoded leniently, garbage lines are
ignored, nothing raises. Evidence lines are redacted. The lines are read by ``diagnosis.runlog`` (the shared
log-line grammar and the knowledge base's ``running`` signals); this module decides the situation.
"""

from __future__ import annotations

import functools
import math
import os
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from .model import RunningAnalysis
from .rules import RULES_ENV, KnowledgeBase, load_knowledge_base
from .runlog import (
    _fmt_minutes,
    _iter_lines,
    _Line,
    _minutes,
    _scan,
    _State,
)
from .runsignals import running_knowledge
from .runsituations import (
    _connection,
    _download,
    _ev,
    _generic_loop,
    _provisioner,
    _restart,
)

# A sysprep that stays in IMAGE_STATE_UNDEPLOYABLE this long is looping, not working (it polls every 5 s).
SYSPREP_LOOP_MINUTES = 15.0
SYSPREP_POLL_SECONDS = 5.0
# A generic repeated line counts as a loop from this many repetitions, and as hopeless after this long.
LOOP_MIN_REPEATS = 12
LOOP_MIN_CYCLES = 8
# A prompt at the end of a log that has not grown for this long is waiting for an answer.
PROMPT_STALL_MINUTES = 1.0

# ---------------------------------------------------------------------------------------------- situations


def _tail_loop(meaningful: deque[_Line]) -> tuple[int, int] | None:
    """(cycle length, repetitions) when the meaningful lines end in a repeated line or cycle of 2-4 lines."""
    items = [ln.msg for ln in meaningful]
    if len(items) < LOOP_MIN_REPEATS:
        return None
    last = items[-1]
    run = 0
    for msg in reversed(items):
        if msg != last:
            break
        run += 1
    if run >= LOOP_MIN_REPEATS:
        return 1, run
    for k in (2, 3, 4):
        if len(items) < k * LOOP_MIN_CYCLES:
            continue
        cycle = items[-k:]
        if len(set(cycle)) < 2:
            continue
        reps = 0
        i = len(items)
        while i - k >= 0 and items[i - k : i] == cycle:
            reps += 1
            i -= k
        if reps >= LOOP_MIN_CYCLES:
            return k, reps
    return None


def analyze_running(
    tail: str | bytes | Iterable[str],
    minutes_since_growth: float,
    *,
    minutes_remaining: float | None = None,
    now: datetime | None = None,
    rules: KnowledgeBase | None = None,
) -> RunningAnalysis:
    """Say what a running build waits on, from the tail of its live log (see the module docstring).

    ``minutes_since_growth``: minutes since the log last grew. ``minutes_remaining``: minutes left before the
    build's timeout (``buildTimeoutInMinutes`` minus the time it has run), if known. ``now``: the current time
    (UTC; naive values are taken as UTC); defaults to the last timestamp in the log plus
    ``minutes_since_growth``. ``rules``: the knowledge base whose ``running`` signals are read (default: the
    built-in one and the ``DIAGNOSIS_RULES`` files).
    """
    try:
        stall = float(minutes_since_growth)
    except (TypeError, ValueError):
        stall = 0.0
    if not math.isfinite(stall) or stall < 0:
        stall = 0.0
    remaining: float | None
    try:
        remaining = None if minutes_remaining is None else float(minutes_remaining)
    except (TypeError, ValueError):
        remaining = None
    if remaining is not None and not math.isfinite(remaining):
        remaining = None

    st = _scan(_iter_lines(tail), running_knowledge(rules if rules is not None else _default_kb()))
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if now is None and st.last_ts is not None:
        now = st.last_ts + timedelta(minutes=stall)
    try:
        result = _decide(st, stall, remaining, now)
    except Exception as exc:  # defensive: the monitor must get an answer for any input
        result = RunningAnalysis(
            waiting_on="unknown", detail=f"Could not analyze the log tail ({type(exc).__name__})."
        )
    if st.last_ts is not None:
        result.last_log_time = st.last_ts.isoformat()
        result.lines_after_last_time = st.lines_after_ts
    return result


def _default_kb() -> KnowledgeBase:
    """The built-in knowledge base plus the ``DIAGNOSIS_RULES`` files, loaded once per setting value."""
    return _kb_for(os.environ.get(RULES_ENV, ""))


@functools.lru_cache(maxsize=4)
def _kb_for(_setting: str) -> KnowledgeBase:
    return load_knowledge_base()


def _decide(st: _State, stall: float, remaining: float | None, now: datetime | None) -> RunningAnalysis:
    meaningful = st.meaningful
    last = meaningful[-1] if meaningful else None

    if st.stage == "ended":
        line = st.stage_line
        if st.canceled is not None:
            detail = "The build was canceled (context canceled); the log is ending."
        elif st.failed is not None:
            detail = f"The build failed ({st.failed.msg[:160]!r}); the log is ending."
        elif line is not None and "Done exporting" in line.msg:
            detail = (
                "The log ended: Image Builder exported the Packer log (the build is finishing or finished)."
            )
        else:
            detail = "Packer finished the build; Image Builder is finishing the run."
        return RunningAnalysis(
            waiting_on="nothing",
            detail=detail,
            can_finish=True if st.canceled is None else None,
            minutes_in_state=_minutes(line.at if line else None, now),
            evidence=_ev([line, st.failed]),
        )

    # An interactive prompt at the very end of the output.
    recent = list(meaningful)[-3:]
    for ln in reversed(recent):
        if st.know.search("prompt", ln.msg):
            stalled = stall >= PROMPT_STALL_MINUTES
            return RunningAnalysis(
                waiting_on="prompt",
                detail=(
                    f"A script waits for an answer that never comes: {ln.msg[:200]!r}"
                    + (f"; the log has not grown for {_fmt_minutes(stall)}." if stalled else ".")
                    + " Make the command non-interactive (apt-get -y, -Force, -Confirm:$false)."
                ),
                can_finish=False if stalled else None,
                minutes_in_state=stall if stalled else None,
                provisioner=st.provisioner,
                category="interactive-prompt",
                evidence=_ev([ln, st.prov_line]),
            )

    loop = _tail_loop(meaningful)

    # The sysprep loop of the deprovisioning step.
    reps = 0
    for ln in reversed(meaningful):
        if not st.know.search("sysprep-loop", ln.msg):
            break
        reps += 1
    # After "Cannot find any service ... WindowsAzureGuestAgent" a few polls are enough to call it a loop.
    if reps >= LOOP_MIN_REPEATS or (st.ga_missing is not None and reps >= 3):
        run = list(meaningful)[-reps:]
        # The loop polls every 5 s; the time since the last timestamp before it is a second estimate.
        minutes = reps * SYSPREP_POLL_SECONDS / 60.0 + stall
        since = _minutes(run[0].at, now)
        if since is not None and since > minutes:
            minutes = since
        hopeless = st.ga_missing is not None or minutes >= SYSPREP_LOOP_MINUTES
        if hopeless:
            detail = (
                f"Sysprep loop: {run[-1].msg[:60]} repeated {reps} times (about {_fmt_minutes(minutes)})"
                + (" after the guest agent service was not found" if st.ga_missing else "")
                + ". Increase the VM size or add a 60-second sleep customizer before sysprep."
            )
        else:
            detail = (
                f"Sysprep running: {run[-1].msg[:60]} for about {_fmt_minutes(minutes)} ({reps} polls); "
                f"it becomes a loop past {_fmt_minutes(SYSPREP_LOOP_MINUTES)}."
            )
        return RunningAnalysis(
            waiting_on="loop",
            detail=detail,
            can_finish=False if hopeless else None,
            minutes_in_state=minutes,
            provisioner=st.provisioner,
            category="sysprep-timing" if hopeless else None,
            evidence=_ev([last, st.ga_missing, run[0]]),
        )

    if st.stage in ("provisioner", None):
        if st.progress:
            return _download(st, stall, remaining, now)
        if st.restart_line is not None:
            return _restart(st, stall, now)
        if loop is not None:
            return _generic_loop(st, loop, stall, now)
        if st.stage == "provisioner":
            return _provisioner(st, stall, remaining, now)

    if st.stage == "connect":
        return _connection(st, stall, now)
    if st.stage == "deploy":
        minutes = _minutes(st.stage_ts, now)
        return RunningAnalysis(
            waiting_on="deploy",
            detail="Deploying the build VM and its network"
            + (f" for {_fmt_minutes(minutes)}" if minutes is not None else "")
            + ".",
            can_finish=None,
            minutes_in_state=minutes,
            evidence=_ev([st.stage_line]),
        )
    if st.stage == "distribute":
        minutes = _minutes(st.stage_ts, now)
        can = False if remaining is not None and remaining <= 0 else None
        return RunningAnalysis(
            waiting_on="distribute",
            detail="Capturing and distributing the image (gallery replication can take long)"
            + (f"; {_fmt_minutes(minutes)} so far" if minutes is not None else "")
            + ".",
            can_finish=can,
            minutes_in_state=minutes,
            evidence=_ev([st.stage_line, last]),
        )
    if st.stage == "cleanup":
        minutes = _minutes(st.stage_ts, now)
        return RunningAnalysis(
            waiting_on="nothing",
            detail=(
                f"The build failed ({st.failed.msg[:160]!r}); Packer is deleting the build resources."
                if st.failed is not None
                else "The build is done; Packer is deleting the build resources."
            ),
            can_finish=True,
            minutes_in_state=minutes,
            evidence=_ev([st.failed, st.stage_line]),
        )
    if loop is not None:
        return _generic_loop(st, loop, stall, now)
    if st.stage == "between":
        minutes = _minutes(st.stage_ts, now)
        return RunningAnalysis(
            waiting_on="provisioner" if st.prov_count else "unknown",
            detail="Between steps: the last step ended"
            + (f" {_fmt_minutes(minutes)} ago" if minutes is not None else "")
            + ".",
            minutes_in_state=minutes,
            evidence=_ev([st.stage_line]),
        )
    return RunningAnalysis(
        waiting_on="unknown",
        detail="No build step recognized in the log tail"
        + (f"; it has not grown for {_fmt_minutes(stall)}." if stall else "."),
        minutes_in_state=stall or None,
        evidence=_ev([last]),
    )

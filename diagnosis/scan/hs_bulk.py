"""Counting, in bulk, the lines of rules that already hold their first hits (Hyperscan backend).

A rule is saturated once it holds its first hits: another line of it only adds to its count and may become one
of its last hits. From then on (when none of its entries needs its regex confirmed on the line) the match
callback only appends the match's end offset to the rule's own list, and each batch of complete lines is
counted with C-level passes over those lists (``map``/``dict.fromkeys``/``bytes.find``), never a Python
statement per match: the line of a match is the line feed after it, a rule counts once per line. Only the last
``LAST_HITS`` lines of each rule are materialized (line number, bytes, step, phase), once per batch.

The lines the per-line recording handles in the same batch (markers, rules still collecting) report back which
lines they counted (a line counts once in ``packer_lines``) and the step and phase after each line
(``Timeline``), so the result is the one recording every line would give.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate, chain, compress, repeat
from typing import NamedTuple

from diagnosis.scan.core import MAX_LINE, PACKER_HEAD, Recorder
from diagnosis.scan.markers import StepTracker
from diagnosis.scan.model import EVIDENCE_CHARS, LAST_HITS
from diagnosis.times import find_time

_NO_PREFIX = b"[ PACKER"
# in every time an ASCII line can hold: two digits, a colon, two digits ("00:00" once digits read as 0)
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_CLOCK = b"00:00"


@dataclass
class Timeline:
    """What the per-line recording did in one batch: lines counted, and step and phase after each line."""

    ends: list[int]  # line feed ending a recorded line (positions in the batch), ascending; first -1
    states: list[tuple[int | None, str]]  # (step position, phase) after that line; first: before the batch
    counted: set[int] = field(default_factory=set)  # line feeds ending the lines counted (``count_line``)

    def note(self, recorder: Recorder, line_end: int, line_no: int) -> None:
        """After a recorded line: whether it was counted, and the step and phase from then on."""
        if recorder.counted_line == line_no:
            self.counted.add(line_end)
        current = recorder.steps.current
        state = (current.position if current is not None else None, recorder.result.phase)
        if state != self.states[-1]:
            self.ends.append(line_end)
            self.states.append(state)


@dataclass
class Prepared:
    """A batch's saturated matches, located: per rule how many lines it matched and the line feeds ending the
    last ``LAST_HITS`` of them (ascending)."""

    counts: dict[int, int]
    last_lines: dict[int, list[int]]
    line_ends: Sequence[int]  # every line of those, once, ascending
    packer: int  # how many of them are in packer's shape
    numbers: dict[int, int] | None = None  # line feed -> its line's number, for the last lines (when known)

    def shared(self, counted: set[int]) -> list[int]:
        """The line feeds of ``counted`` that end one of these lines too."""
        ends = self.line_ends
        found = []
        for le in counted:
            at = bisect_left(ends, le)
            if at < len(ends) and ends[at] == le:
                found.append(le)
        return found


@dataclass(frozen=True)
class RuleSlots:
    """The rules of a table's entries, numbered: built once per table, read only."""

    slot_of: list[int]  # per entry: its rule's slot (-1: a marker)
    rule_of_slot: list[str]
    entries_of: list[list[int]]  # per slot: its entries; the last slot holds the exit-code marker
    confirmed: list[bool]  # per slot: an entry of the rule is confirmed with its regex on the line

    @classmethod
    def of(cls, rule_ids: list[str | None], confirm: list[bool], marker_index: int) -> RuleSlots:
        slots: dict[str, int] = {}
        slot_of = [slots.setdefault(r, len(slots)) if r is not None else -1 for r in rule_ids]
        entries_of: list[list[int]] = [[] for _ in slots]
        for index, slot in enumerate(slot_of):
            if slot >= 0:
                entries_of[slot].append(index)
        # exit-code lines that change nothing but the count of lines (no rule): located here too
        entries_of.append([marker_index])
        # a rule with an entry to confirm is recorded line by line: its lines must not be counted twice
        confirmed = [any(confirm[i] for i in indices) for indices in entries_of]
        return cls(slot_of, list(slots), entries_of, confirmed)


class SaturatedLines:
    """Per-rule lists of match ends for saturated rules, counted per batch."""

    def __init__(self, slots: RuleSlots, recorder: Recorder) -> None:
        self.recorder = recorder
        self.slot_of = slots.slot_of
        self.rule_of_slot = slots.rule_of_slot
        self.entries_of = slots.entries_of
        self.marker_slot = len(slots.rule_of_slot)
        self.confirmed = slots.confirmed
        self.pending: list[list[int]] = [[] for _ in slots.rule_of_slot]  # per rule: match ends not yet counted
        self.append_to: list = [None] * len(slots.slot_of)  # per entry: where the callback puts its matches, if here
        self.active: list[int] = []  # rules counted here
        self.known = 0  # saturated entries seen
        self.prefix = _NO_PREFIX  # the start of the build's packer lines, once its operation id is known

    def refresh(self, events: list[int], shift: int) -> list[int]:
        """Rules saturated since the last call are counted here from now on; their matches still in ``events``
        (sorted ``end << shift | index``, past the lines recorded so far) move to their lists. Returns the rest."""
        full = self.recorder.full
        if len(full) == self.known:
            return events
        self.known = len(full)
        moved: set[int] = set()
        for index in full:
            slot = self.slot_of[index]
            if self.append_to[index] is None and not self.confirmed[slot]:
                for i in self.entries_of[slot]:
                    self.append_to[i] = self.pending[slot].append
                    moved.add(i)
                self.active.append(slot)
        if not moved or not events:
            return events
        mask = (1 << shift) - 1
        rest = []
        for event in events:
            index = event & mask
            if index in moved:
                self.append_to[index](event >> shift)
            else:
                rest.append(event)
        return rest

    def take(self, stop: int) -> dict[int, list[int]]:
        """The pending match ends up to stream offset ``stop``, per rule, sorted."""
        taken: dict[int, list[int]] = {}
        for slot in self.active:
            ends = self.pending[slot]
            if ends and ends[0] <= stop:
                ends.sort()
                k = bisect_right(ends, stop)
                taken[slot] = ends[:k]
                del ends[:k]
        return taken

    def as_events(self, taken: dict[int, list[int]], shift: int) -> list[int]:
        """``taken`` as events for the per-line recording (over-long or unfinished lines)."""
        events: list[int] = []
        for slot, ends in taken.items():
            index = self.entries_of[slot][0]
            events.extend((end << shift) | index for end in ends)
        return events

    def locate(self, taken: dict[int, list[int]], buf: bytes, offset: int, end: int) -> Prepared | None:
        """The lines of ``taken`` in ``buf[:end]`` (``offset``: stream position of ``buf[0]``); None when one of
        them is over-long (those are matched on windows, line by line) or the last one has no line feed."""
        if buf[end - 1 : end] != b"\n":
            return None
        base = -1 - offset  # a match's last byte, in buf
        # the line feed ending each match's line, for all rules in one pass
        feeds = list(map(buf.find, repeat(b"\n"), map(base.__add__, chain.from_iterable(taken.values()))))
        lines_of: dict[int, list[int]] = {}
        start = 0
        for slot, ends in taken.items():
            lines_of[slot] = list(dict.fromkeys(feeds[start : start + len(ends)]))
            start += len(ends)
        groups = list(lines_of.values())
        line_ends = groups[0]
        others = [lines for lines in groups[1:] if lines != line_ends]  # rules often share every line
        if others:
            line_ends = sorted(set(line_ends).union(*others))  # in order: the searches below walk buf forward
        starts = list(map((1).__add__, map(partial(buf.rfind, b"\n", 0), line_ends)))
        if max(map(operator.sub, line_ends, starts)) > MAX_LINE:
            return None
        packer = self.packer_lines(buf, starts)
        if packer and self.recorder.result.operation_id is None:  # the operation id may come from one of them
            return None
        counts = {slot: len(lines) for slot, lines in lines_of.items()}
        return Prepared(counts, {slot: lines[-LAST_HITS:] for slot, lines in lines_of.items()}, line_ends, packer)

    def packer_lines(self, buf: bytes, starts: list[int]) -> int:
        """How many of the lines starting at ``starts`` are in packer's shape: most start with the build's own
        prefix; the others are checked in full."""
        operation_id = self.recorder.result.operation_id
        if operation_id is not None and self.prefix == _NO_PREFIX:
            self.prefix = f"[{operation_id}] PACKER".encode()
        prefixed = list(map(buf.startswith, repeat(self.prefix), starts))
        packer = sum(prefixed)
        if packer < len(starts):
            others = compress(starts, map(operator.not_, prefixed))
            packer += sum(map(bool, map(PACKER_HEAD.match, repeat(buf), others)))
        return packer

    def count(self, found: Prepared, buf: bytes, line_no: int, timeline: Timeline) -> None:
        """Adds the located lines to their rules; ``line_no``: number of the first line of ``buf``."""
        recorder = self.recorder
        res = recorder.result
        if timeline.counted:  # lines the per-line recording counted too
            found.packer -= sum(1 for le in found.shared(timeline.counted) if _is_packer(buf, le))
        res.packer_lines += found.packer
        wanted = sorted({le for lines in found.last_lines.values() for le in lines})
        number_of = found.numbers
        if number_of is None:
            number_of = {}
            counted_to = 0
            for le in wanted:
                line_no += buf.count(b"\n", counted_to, le)
                counted_to = le
                number_of[le] = line_no
        trackers = recorder.trackers
        for slot, lines in found.last_lines.items():
            if slot == self.marker_slot:
                continue
            tracker = trackers[self.rule_of_slot[slot]]
            tracker.count += found.counts[slot]
            for le in lines:
                ls = buf.rfind(b"\n", 0, le) + 1
                position, phase = timeline.states[bisect_right(timeline.ends, le) - 1]
                tracker.last.append((number_of[le], buf[ls : min(le, ls + EVIDENCE_CHARS * 4)], position, phase))
            tracker.last_line = number_of[lines[-1]]
        recorder.counted_line = max(recorder.counted_line, number_of[wanted[-1]])


class MarkerIndices(NamedTuple):
    """Table indices of the markers whose lines can change nothing (-1: not in the table)."""

    start: int
    exit: int
    failure: int


def count_only_markers(
    batch: list[int], shift: int, buf: bytes, offset: int, marks: MarkerIndices, steps: StepTracker
) -> tuple[list[int], list[int]]:
    """Splits ``batch`` into the events still to record one by one and the end offsets of marker lines that
    change nothing but the count of lines: exit codes while the running step already has its non-zero exit
    code (not on the line of a step start), failure lines once the first ones are kept, except the last one
    with a time (it may be the log's last time) and those after it."""
    mask = (1 << shift) - 1
    indices = list(map(mask.__and__, batch))
    failures_settled = marks.failure in indices and steps.failure_settled()
    if marks.exit not in indices and not failures_settled:
        return batch, []
    wanted = {marks.start, marks.exit, marks.failure} if failures_settled else {marks.start, marks.exit}
    settled = steps.exit_code_settled()
    exits: list[int] = []  # (position in buf, place in batch) of the exit codes that change nothing
    failures: list[int] = []
    for k in compress(range(len(batch)), map(wanted.__contains__, indices)):
        index, pos = indices[k], (batch[k] >> shift) - 1 - offset
        if index == marks.start:  # a new step: its first exit code counts (on its line too, before the start)
            while exits and buf.find(b"\n", (batch[exits[-1]] >> shift) - 1 - offset, pos) < 0:
                exits.pop()
            settled = False
        elif index == marks.exit:
            if settled:
                exits.append(k)
            else:
                ls, le = buf.rfind(b"\n", 0, pos) + 1, buf.find(b"\n", pos)
                settled = 0 <= le - ls <= MAX_LINE  # recorded whole, it sets the step's exit code
        else:
            failures.append(k)
    positions = [(batch[k] >> shift) - 1 - offset for k in failures]
    ends = list(map(buf.find, repeat(b"\n"), positions))
    keep_from = failures_kept_from(buf, [buf.rfind(b"\n", 0, pos) + 1 for pos in positions], ends)
    counted = set(exits).union(failures[:keep_from])
    if not counted:
        return batch, []
    rest = list(compress(batch, map(operator.not_, map(counted.__contains__, range(len(batch))))))
    return rest, sorted((batch[k] >> shift) for k in counted)


def failures_kept_from(buf: bytes, starts: list[int], ends: list[int]) -> int:
    """Of failure lines ``buf[starts[j]:ends[j]]`` (ascending) once the first ones are kept: where the ones still
    to record begin — the last one with a time (it may be the log's last time) and those after it (all of them
    when one is over-long: matched on a window, whether it has a time is not known here).

    Walking back, only lines that can hold a time (a clock ``dd:dd``, searched in the lines joined with their
    digits read as 0, or a non-ASCII byte) or are over-long can stop the walk: only those are looked at."""
    pieces = list(map(buf.__getitem__, map(slice, starts, ends)))
    lengths = list(map(operator.sub, ends, starts))
    over_long = map(operator.or_, map(MAX_LINE.__lt__, lengths), map((0).__gt__, lengths))
    stops = set(compress(range(len(starts)), over_long))
    joined = b"\n".join(pieces)
    begins = list(accumulate(map((1).__add__, map(len, pieces)), initial=0))  # where each line begins in joined
    clocks = joined.translate(_DIGITS_AS_ZERO)
    at = clocks.find(_CLOCK)
    while at >= 0:
        line = bisect_right(begins, at) - 1
        stops.add(line)
        at = clocks.find(_CLOCK, begins[line + 1])  # the next line
    if not joined.isascii():
        stops.update(compress(range(len(pieces)), map(operator.not_, map(bytes.isascii, pieces))))
    for j in sorted(stops, reverse=True):
        if not 0 <= lengths[j] <= MAX_LINE:
            return 0
        if find_time(pieces[j].decode("utf-8", "replace").rstrip("\r")):
            return j
    return len(starts)


def _is_packer(buf: bytes, le: int) -> bool:
    return PACKER_HEAD.match(buf, buf.rfind(b"\n", 0, le) + 1) is not None

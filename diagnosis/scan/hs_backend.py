"""The Hyperscan backend: every table entry (markers and knowledge-base patterns) in one streaming automaton.

The log's blocks go through one Hyperscan stream, so a match across a block boundary is found by the stream
itself. A match reports the entry and the stream offset where it ends; only then is its line located (one
``rfind``/``find``/``count`` in C). Patterns are compiled line-local (``linelocal``); entries that could still
match across a line feed, and entries Hyperscan can only compile approximately (``HS_FLAG_PREFILTER``), are
confirmed with their regex on the line. Matches of rules that hold their first hits, and marker lines that
change nothing, are counted in bulk per block (``hs_bulk``); the rest is recorded line by line here.

The database is compiled and cached by ``hs_compile``. In logs dense with matches (every line an error) the
batches go through numpy (``hs_vector``), imported only then.
"""

from __future__ import annotations

import bisect
import sys
import threading
from typing import TYPE_CHECKING

from diagnosis.scan.core import MAX_LINE, Recorder, Table, evidence_window, line_bounds
from diagnosis.scan.hs_bulk import MarkerIndices, Prepared, RuleSlots, SaturatedLines, Timeline, count_only_markers
from diagnosis.scan.hs_compile import (  # noqa: F401 - the backend's interface, where callers look for it
    PatternNotCompilable,
    automaton_source,
    available,
    compiled_for,
)

try:
    import hyperscan
except ImportError:  # pragma: no cover - depends on the install
    hyperscan = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from diagnosis.scan.hs_vector import VectorBatches

_CLOSE_LOCK = threading.Lock()
CLOSE_REPEAT = 64  # an entry's match ending this close after its previous one, on the same line, is dropped
FIRST_SPLIT = 2048  # matches: a first batch with more is recorded in two parts
# batches go through numpy (``hs_vector``) once this many matches were seen, at least one per DENSE_BYTES in a
# batch (numpy's import costs about as much as recording 100,000 matches line by line: a log that dense pays it back
# within its next 4 MB; nothing once imported)
DENSE_AFTER = 50_000
DENSE_BYTES = 256
# in numpy mode the callback appends every match; a block is scanned in pieces and, once a piece brings more
# than one match per FLOOD_BYTES ("\w+" on a long word ends at every byte), the dropping callback takes over
PIECE = 256 << 10
FLOOD_BYTES = 16


def _layout(table: Table, confirm: list[bool]) -> tuple[int, int, MarkerIndices, RuleSlots]:
    """Where the markers are among the table's entries, and its rules numbered (built once per table)."""
    entries = table.entries
    kinds = [e.kind for e in entries]
    zero_exit = kinds.index("exit-zero") if "exit-zero" in kinds else -1
    markers = MarkerIndices(*(kinds.index(k) if k in kinds else -1 for k in ("start", "exit", "failure")))
    slots = RuleSlots.of([e.rule_id for e in entries], confirm, markers.exit)
    layout = table.derived["hyperscan-layout"] = (zero_exit, markers.start, markers, slots)
    return layout


class HyperscanBackend:
    """Feeds blocks to one stream; turns match end offsets into matched lines."""

    def __init__(self, table: Table, recorder: Recorder) -> None:
        compiled = compiled_for(table)
        self.entries = table.entries
        self.confirm = compiled.confirm
        self.recorder = recorder
        layout = table.derived.get("hyperscan-layout") or _layout(table, self.confirm)
        self.zero_exit, self.step_start, self.markers, slots = layout
        # a match is one int, end offset << shift | entry index: appended without a tuple, sorted as ints
        shift = self.shift = max(1, len(self.entries).bit_length())
        self.events: list[int] = []  # matches not yet recorded
        append = self.events.append
        last_end = [-CLOSE_REPEAT] * len(self.entries)  # per entry: where its previous match ended
        scanning = self._scanning = [b"", 0]  # the block being scanned and its stream offset
        self.split_once = False
        self.saturated = SaturatedLines(slots, recorder)
        counted_append = self.saturated.append_to  # per entry: the list of its saturated rule, or None

        def on_match(index: int, _start: int, end: int, _flags: int, _context: object) -> None:
            previous = last_end[index]
            last_end[index] = end
            if end - previous < CLOSE_REPEAT:  # e.g. "\w+" ends at every byte: one match per line is enough
                block, base = scanning
                if previous > base and block.find(b"\n", previous - base, end - base) < 0:
                    return
            to_rule = counted_append[index]
            if to_rule is None:
                append(end << shift | index)
            else:
                to_rule(end)

        def on_match_dense(index: int, _start: int, end: int, _flags: int, _context: object) -> None:
            append(end << shift | index)

        self.vector: VectorBatches | None = None  # numpy batches, once the log proved dense with matches
        self.seen = 0  # matches seen so far (before numpy batches)
        self.flooded = False  # numpy mode: matches came denser than FLOOD_BYTES, drop repeats in the callback
        # the binding does not keep the handler, scratch or database alive: this object does
        self._on_match = on_match
        self._on_match_dense = on_match_dense
        self._database = compiled.database
        self._scratch = compiled.scratch()  # per thread: scans may run in parallel threads
        self._context = compiled.database.stream(match_event_handler=on_match)
        self._stream = self._context.__enter__()

    def feed(self, block: bytes) -> None:
        scanning = self._scanning
        scanning[1] += len(scanning[0])
        scanning[0] = block
        if self.vector is not None:
            self._scan_dense(block)
            return
        self._stream.scan(block, scratch=self._scratch)
        self.events.sort()  # the automaton reports in end order, mostly

    def _scan_dense(self, block: bytes) -> None:
        events, view = self.events, memoryview(block)
        at = 0
        while at < len(block):
            if self.flooded:
                self._stream.scan(view[at:], scratch=self._scratch, match_event_handler=self._on_match)
                return
            # pieces end at a line feed, as every write to the stream does (core.Backend.feed)
            cut = block.rfind(b"\n", at, at + PIECE) + 1
            if cut <= at:  # a line longer than a piece: up to its end
                cut = block.find(b"\n", at + PIECE) + 1 or len(block)
            before = len(events)
            self._stream.scan(view[at:cut], scratch=self._scratch, match_event_handler=self._on_match_dense)
            self.flooded = (len(events) - before) * FLOOD_BYTES > cut - at
            at = cut

    def end(self) -> None:
        # closing reports matches anchored at the end of the log ($); it runs on the database's own scratch
        # (the binding's close crashes with another one), so closes take turns
        with _CLOSE_LOCK:
            self._context.__exit__(None, None, None)
        self.events.sort()

    def lines(self, buf: bytes, offset: int, end: int, line_no: int, partial: bool) -> None:
        if self.vector is not None:
            self._lines_dense(buf, offset, end, line_no, partial)
            return
        events, shift, saturated = self.events, self.shift, self.saturated
        limit = bisect.bisect_right(events, (offset + end) << shift | ((1 << shift) - 1))
        taken = saturated.take(offset + end) if saturated.active else {}
        if not limit and not taken:
            return
        matched = limit + sum(map(len, taken.values()))
        self.seen += matched
        loaded = sys.modules.get("numpy") is not None
        dense = matched * DENSE_BYTES >= end and self.seen >= (0 if loaded else DENSE_AFTER)
        if dense and self._start_dense(taken):
            self._lines_dense(buf, offset, end, line_no, partial)
            return
        if limit > FIRST_SPLIT and not saturated.active and not partial and not self.split_once:
            # a first batch full of matches: its first lines bring rules their first hits, the rest of it
            # can then be counted in bulk
            self.split_once = True
            cut = buf.find(b"\n", (events[FIRST_SPLIT] >> shift) - 1 - offset, end) + 1
            if 0 < cut < end:
                self.lines(buf, offset, cut, line_no, False)
                self.lines(buf[cut:end], offset + cut, end - cut, line_no + buf.count(b"\n", 0, cut), False)
                return
        batch = events[:limit]
        del events[:limit]
        if saturated.active and not partial:
            batch, ends = count_only_markers(batch, self.shift, buf, offset, self.markers, self.recorder.steps)
            if ends:
                taken[saturated.marker_slot] = ends
        located = None
        if taken:
            located = None if partial else saturated.locate(taken, buf, offset, end)
            if located is None:  # over-long or unfinished lines: recorded one by one, on windows
                batch = sorted(batch + saturated.as_events(taken, shift))
        self._record_and_count(batch, located, buf, offset, end, line_no, partial)
        self.events[:] = saturated.refresh(self.events, shift)  # the same list: the callback appends to it

    def _start_dense(self, taken: dict[int, list[int]]) -> bool:
        """From now on batches go through numpy: the matches held per saturated rule (``taken`` for this batch,
        the rest still pending) go back to ``events``. False when numpy is not installed (batches stay as they
        are)."""
        try:
            from diagnosis.scan.hs_vector import VectorBatches
        except ImportError:
            self.seen = -(1 << 62)
            return False
        every = [self.step_start, self.zero_exit]  # on an over-long line, each of their matches may count
        self.vector = VectorBatches(self.shift, self.saturated, self.recorder, self.markers, len(self.entries), every)
        saturated = self.saturated
        self.events.extend(saturated.as_events(taken, self.shift))
        self.events.extend(saturated.as_events(saturated.take(1 << 62), self.shift))
        saturated.active.clear()
        saturated.append_to[:] = [None] * len(saturated.append_to)  # the dropping callback appends to events
        return True

    def _lines_dense(self, buf: bytes, offset: int, end: int, line_no: int, partial: bool) -> None:
        assert self.vector is not None
        batch = self.vector.take(self.events, offset + end)
        if not len(batch):
            return
        if len(batch) > FIRST_SPLIT and not self.split_once and not partial:
            # the first batch full of matches: its first lines bring rules their first hits, the rest of it can
            # then be counted in bulk
            self.split_once = True
            cut = buf.find(b"\n", (int(batch[FIRST_SPLIT]) >> self.shift) - 1 - offset, end) + 1
            if 0 < cut < end:
                first = int(batch.searchsorted(((offset + cut) << self.shift) | ((1 << self.shift) - 1), "right"))
                self._dense_batch(batch[:first], buf, offset, cut, line_no, False)
                rest_line = line_no + buf.count(b"\n", 0, cut)
                self._dense_batch(batch[first:], buf[cut:end], offset + cut, end - cut, rest_line, False)
                return
        self._dense_batch(batch, buf, offset, end, line_no, partial)

    def _dense_batch(self, batch, buf: bytes, offset: int, end: int, line_no: int, partial: bool) -> None:
        """Records ``batch`` (sorted matches within ``buf[:end]``): in bulk what can be, the rest line by line."""
        assert self.vector is not None
        if not len(batch):
            return
        per_line, located = self.vector.split(batch, buf, offset, end, line_no, partial)
        self._record_and_count(per_line, located, buf, offset, end, line_no, partial)

    def _record_and_count(
        self, batch: list[int], located: Prepared | None, buf: bytes, offset: int, end: int, line_no: int, partial: bool
    ) -> None:
        """Records ``batch`` line by line, then counts the lines ``located`` for rules past their first hits (if
        any) with the step and phase the line-by-line recording had reached at each of them."""
        timeline = None
        if located is not None:
            current = self.recorder.steps.current
            timeline = Timeline([-1], [(current.position if current else None, self.recorder.result.phase)])
        self._record_lines(batch, buf, offset, end, line_no, partial, timeline)
        if located is not None and timeline is not None:
            self.saturated.count(located, buf, line_no, timeline)

    def _record_lines(
        self,
        batch: list[int],
        buf: bytes,
        offset: int,
        end: int,
        line_no: int,
        partial: bool,
        timeline: Timeline | None,
    ) -> None:
        """Records the lines of ``batch`` one by one; notes in ``timeline`` what it counted and the state after."""
        shift = self.shift
        mask = (1 << shift) - 1
        count, rfind, find = buf.count, buf.rfind, buf.find
        record, recorder = self._record, self.recorder
        flood = {i: t for i, t in recorder.full.items() if not self.confirm[i]}  # counted without confirming
        res, steps = recorder.result, recorder.steps
        zero_exit, needs_zero_exit = self.zero_exit, self.recorder.steps.needs_zero_exit
        step_start = self.step_start
        # where step starts end, in buf: zero exit codes before them on the same line count
        starts = [(ev >> shift) - 1 - offset for ev in batch if ev & mask == step_start]
        next_start = 0
        counted_to = 0
        line_start = line_end = first_pos = -1
        found: list[int] = []
        truncated = False
        long_seen: set[int] = set()  # entries already found on the current over-long line (any window of it)
        clear_to = 0
        for event in batch:
            index = event & mask
            pos = (event >> shift) - 1 - offset
            if line_start <= pos < line_end:
                found.append(index)
                if truncated:
                    long_seen.add(index)
                continue
            if pos < 0 or pos >= end:
                pos = min(max(pos, 0), end - 1)
            if buf[pos] == 10 and pos > 0:  # a match ending in the line feed belongs to that line
                pos -= 1
                if line_start <= pos < line_end:
                    found.append(index)
                    if truncated:
                        long_seen.add(index)
                    continue
            same_long_line = truncated and find(b"\n", max(line_end, clear_to), pos) < 0
            if same_long_line:
                clear_to = pos  # no line feed up to here: the next search starts here (linear overall)
                if index in long_seen:  # once per over-long line, not once per window
                    continue
            if found:
                trackers = None if truncated else [flood.get(i) for i in found]
                if trackers is None or None in trackers:
                    record(buf, line_start, line_end, first_pos, line_no, found, truncated)
                else:  # one more line of rules seen often (each has its evidence): count, remember where
                    recorder.count_line(buf[line_start : line_start + 60], line_no, False)
                    current = steps.current
                    position = current.position if current is not None else None
                    for tracker in trackers:
                        if tracker.last_line != line_no:
                            tracker.count += 1
                            tracker.last_line = line_no
                            tracker.last.append((line_no, (line_start, line_end), position, res.phase))
                            tracker.pending = True
                if timeline is not None:
                    timeline.note(recorder, line_end, line_no)
                found = []
            if index == zero_exit and not needs_zero_exit():  # the flood of "exited with code: 0"
                while next_start < len(starts) and starts[next_start] < pos:
                    next_start += 1
                # skipped unless a step starts later on this line (then the zero exit belongs to it)
                if next_start == len(starts) or find(b"\n", pos, starts[next_start]) >= 0:
                    continue
            # the searches run between consecutive matches only, so the whole batch costs O(len(buf))
            if not truncated and line_end >= 0 and count(b"\n", line_end + 1, pos) == 0:  # the next line
                ls = line_end + 1
                line_no += 1
                counted_to = ls
            else:
                ls = rfind(b"\n", counted_to, pos) + 1 or counted_to
            le = find(b"\n", pos, end)
            if le < 0:
                le = end
            if le - ls > MAX_LINE or partial:
                ls, le, truncated = line_bounds(buf, pos, counted_to, end)
                truncated = True
            else:
                truncated = False
            line_no += count(b"\n", counted_to, ls)
            counted_to = ls
            line_start, line_end, first_pos, found = ls, le, pos, [index]
            if truncated:
                if not same_long_line:
                    long_seen = set()
                long_seen.add(index)
        if found:
            record(buf, line_start, line_end, first_pos, line_no, found, truncated)
            if timeline is not None:
                timeline.note(recorder, line_end, line_no)
        for tracker in set(flood.values()):  # the last lines kept as positions: their bytes, while buf lives
            if tracker.pending:
                tracker.settle(buf)

    def _record(self, buf: bytes, ls: int, le: int, pos: int, line_no: int, found: list[int], truncated: bool) -> None:
        raw = buf[ls:le]
        confirm = self.confirm
        if len(found) == 1:
            if confirm[found[0]] and not self.entries[found[0]].regex.search(raw):
                return
        else:
            entries = self.entries
            found = [i for i in sorted(set(found)) if not confirm[i] or entries[i].regex.search(raw)]
            if not found:
                return
        if truncated:
            raw = evidence_window(buf, ls, le, pos)
        self.recorder.line(raw, line_no, found, truncated)

"""The Hyperscan backend's batches with numpy, for logs dense with matches (every line an error).

Imported by ``hs_backend`` only once a log has shown many matches per byte, so a small log never pays numpy's
import time; without numpy the backend keeps its pure-Python batches (``hs_bulk``).

The match callback then only appends ``end << shift | index``. Per batch of complete lines, with array
operations and no Python statement per match, the matches are split into

* bulk: matches of rules that hold their first hits (``Recorder.full``, none of their entries confirmed on the
  line), and marker matches that change nothing but the count of lines (``settled_markers``): each located at
  the line feed after it, deduplicated per (rule, line), counted per rule; only the last ``LAST_HITS`` lines of
  each rule are materialized (``SaturatedLines.count``);
* the rest, recorded line by line as before (``HyperscanBackend._record_lines``).

A batch with an over-long line among its bulk lines, an unfinished line, or packer lines before the operation
id is known goes line by line whole, as in the pure-Python batches; a piece of a line longer than ``MAX_CARRY``
hands the per-line recording only the matches it can use (``VectorBatches._first_on_the_line``).
"""

from __future__ import annotations

import numpy as np

from diagnosis.scan.core import MAX_LINE, WINDOW, Recorder
from diagnosis.scan.hs_bulk import MarkerIndices, Prepared, SaturatedLines, failures_kept_from
from diagnosis.scan.markers import StepTracker
from diagnosis.scan.model import LAST_HITS


class VectorBatches:
    """Holds the matches past the current batch and splits each batch into bulk and per-line matches."""

    def __init__(
        self,
        shift: int,
        saturated: SaturatedLines,
        recorder: Recorder,
        markers: MarkerIndices,
        entries: int,
        every: list[int],
    ) -> None:
        self.shift = shift
        self.every = np.array(every, dtype=np.int64)  # entries all of whose matches on an over-long line count
        self.mask = (1 << shift) - 1
        self.saturated = saturated
        self.recorder = recorder
        self.markers = markers
        self.held = np.empty(0, dtype=np.int64)  # matches past the last batch, sorted
        self.slot_of = np.array(saturated.slot_of, dtype=np.int64)  # entry -> rule slot (-1: marker)
        self.bulk_entry = np.zeros(entries, dtype=bool)  # entry -> its rule is counted in bulk
        self.known = -1  # size of recorder.full when bulk_entry was computed

    def take(self, events: list[int], stop: int) -> np.ndarray:
        """The matches ending at or before stream offset ``stop``, sorted (``events`` is emptied)."""
        if events:
            fresh = np.fromiter(events, dtype=np.int64, count=len(events))
            events.clear()
            merged = np.concatenate((self.held, fresh)) if len(self.held) else fresh
            merged.sort(kind="stable")  # mostly in order already
        else:
            merged = self.held
        cut = int(np.searchsorted(merged, (stop << self.shift) | self.mask, side="right"))
        self.held = merged[cut:]
        return merged[:cut]

    def split(
        self, batch: np.ndarray, buf: bytes, offset: int, end: int, line_no: int, partial: bool
    ) -> tuple[list[int], Prepared | None]:
        """``batch`` (sorted matches within ``buf[:end]``, whose first line is number ``line_no``) as the
        matches to record line by line and the bulk ones located (None: none, or the batch goes line by line
        whole)."""
        if partial:
            return self._first_on_the_line(batch).tolist(), None
        if buf[end - 1 : end] != b"\n":
            return batch.tolist(), None
        shift = self.shift
        indices = batch & self.mask
        self._refresh()
        bulk = self.bulk_entry[indices]
        rest = ~bulk
        feeds = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8, count=end) == 10)
        # the line feed at or after each match's last byte: ascending, as the matches are
        line_of = np.searchsorted(feeds, np.clip((batch >> shift) - 1 - offset, 0, end - 1))
        markers = settled_markers(
            batch[rest], indices[rest], line_of[rest], feeds, shift, buf, offset, self.markers, self.recorder.steps
        )
        if markers is not None:
            rest_at = np.flatnonzero(rest)
            bulk[rest_at[markers]] = True
            rest[rest_at[markers]] = False
        if not bulk.any():
            return batch.tolist(), None
        slots = self.slot_of[indices[bulk]]
        slots[slots < 0] = self.saturated.marker_slot
        located = self._locate(line_of[bulk], slots, feeds, buf, line_no)
        if located is None:
            return batch.tolist(), None
        return batch[rest].tolist(), located

    def _first_on_the_line(self, batch: np.ndarray) -> np.ndarray:
        """Of matches all on one over-long line, those the per-line recording can use: it takes an entry once per
        over-long line, on a window of ``WINDOW`` bytes either side of its first match, together with the other
        matches inside that window. Kept: the first match of each entry, every match of the entries whose later
        matches can still count (``self.every``: step starts and zero exit codes), and the matches within
        ``WINDOW`` of those; the others would be passed over."""
        indices = batch & self.mask
        anchor = np.isin(indices, self.every)
        anchor[np.unique(indices, return_index=True)[1]] = True
        ends = batch >> self.shift
        anchors = ends[anchor]
        after = np.searchsorted(anchors, ends)  # the first anchor at or after each match
        near = (after < len(anchors)) & (anchors[np.minimum(after, len(anchors) - 1)] - ends <= WINDOW)
        near |= (after > 0) & (ends - anchors[np.maximum(after - 1, 0)] <= WINDOW)
        return batch[near]

    def _refresh(self) -> None:
        """Entries of rules that hold their first hits, none of them confirmed on the line: counted in bulk."""
        full = self.recorder.full
        if len(full) == self.known:
            return
        self.known = len(full)
        saturated = self.saturated
        for index in full:
            slot = saturated.slot_of[index]
            if not saturated.confirmed[slot]:
                self.bulk_entry[saturated.entries_of[slot]] = True

    def _locate(
        self, line_of: np.ndarray, slots: np.ndarray, feeds: np.ndarray, buf: bytes, line_no: int
    ) -> Prepared | None:
        """Bulk matches on the lines ending at ``feeds[line_of]`` (ascending), of rules ``slots``."""
        lines = _distinct_sorted(line_of)
        starts = np.where(lines > 0, feeds[lines - 1] + 1, 0)
        if int((feeds[lines] - starts).max()) > MAX_LINE:
            return None
        # per (rule, line) once: sorted by rule, then line
        by_rule = np.argsort(slots.astype(np.int16), kind="stable")  # a radix sort; lines stay ascending per rule
        per_rule = _distinct_sorted(slots[by_rule] * len(feeds) + line_of[by_rule])
        rule_of, line_at = np.divmod(per_rule, len(feeds))
        bounds = np.flatnonzero(np.diff(rule_of)) + 1
        firsts = np.concatenate(([0], bounds)).tolist()
        lasts = np.concatenate((bounds, [len(per_rule)])).tolist()
        counts: dict[int, int] = {}
        last_lines: dict[int, list[int]] = {}
        numbers: dict[int, int] = {}
        for first, last in zip(firsts, lasts, strict=True):
            slot = int(rule_of[first])
            counts[slot] = last - first
            at = line_at[max(first, last - LAST_HITS) : last].tolist()
            last_lines[slot] = feeds[at].tolist()
            numbers.update(zip(last_lines[slot], (line_no + i for i in at), strict=True))
        packer = self._packer_lines(buf, starts)
        if packer and self.recorder.result.operation_id is None:  # the operation id may come from one of them
            return None
        return Prepared(counts, last_lines, feeds[lines], packer, numbers)

    def _packer_lines(self, buf: bytes, starts: np.ndarray) -> int:
        """How many lines starting at ``starts`` are in packer's shape: those starting with the build's own prefix
        (compared eight bytes at a time, on an unaligned view of ``buf``), the others checked one by one."""
        operation_id = self.recorder.result.operation_id
        if operation_id is None or len(buf) < 64:
            return self.saturated.packer_lines(buf, starts.tolist())
        prefix = f"[{operation_id}] PACKER".encode()
        words = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))  # words[i]: buf[i:i + 8]
        whole = len(prefix) // 8 * 8
        tail = prefix[whole - 8 + len(prefix) % 8 :] if len(prefix) % 8 else b""  # the last 8 bytes, overlapping
        inside = starts + len(prefix) <= len(buf)
        same = inside.copy()
        for at in range(0, whole, 8):
            same &= words[np.minimum(starts + at, len(words) - 1)] == int.from_bytes(prefix[at : at + 8], "little")
        if tail:
            at = len(prefix) - 8
            same &= words[np.minimum(starts + at, len(words) - 1)] == int.from_bytes(tail, "little")
        others = starts[~same].tolist()
        return int(same.sum()) + (self.saturated.packer_lines(buf, others) if others else 0)


def _distinct_sorted(ordered: np.ndarray) -> np.ndarray:
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def settled_markers(
    batch: np.ndarray,
    indices: np.ndarray,
    line_of: np.ndarray,
    feeds: np.ndarray,
    shift: int,
    buf: bytes,
    offset: int,
    marks: MarkerIndices,
    steps: StepTracker,
) -> np.ndarray | None:
    """Which of ``batch`` (sorted matches, not counted in bulk) are marker lines that change nothing but the
    count of lines, as ``hs_bulk.count_only_markers`` decides: exit codes while the running step already has
    its non-zero exit code (not on the line of a later step start), failure lines once the first ones are kept
    except the last one with a time and those after it. None: no such marker in the batch."""
    is_exit = indices == marks.exit
    is_failure = indices == marks.failure
    failures_settled = marks.failure >= 0 and bool(is_failure.any()) and steps.failure_settled()
    exits = np.flatnonzero(is_exit) if marks.exit >= 0 else np.empty(0, dtype=np.int64)
    if not len(exits) and not failures_settled:
        return None
    positions = (batch >> shift) - 1 - offset
    counted = np.zeros(len(batch), dtype=bool)
    if len(exits):
        starts = np.flatnonzero(indices == marks.start) if marks.start >= 0 else np.empty(0, dtype=np.int64)
        before = np.searchsorted(exits, starts).tolist()  # per step start: how many exits come before it
        bulk = np.zeros(len(exits), dtype=bool)
        settled = steps.exit_code_settled()
        for lo, hi in zip([0, *before], [*before, len(exits)], strict=True):
            k = lo
            while not settled and k < hi:  # recorded until one sets the step's exit code
                pos = int(positions[exits[k]])
                ls, le = buf.rfind(b"\n", 0, pos) + 1, buf.find(b"\n", pos)
                settled = 0 <= le - ls <= MAX_LINE
                k += 1
            bulk[k:hi] = True
            settled = False  # the next segment begins with a step start
        for start, count in zip(starts.tolist(), before, strict=True):
            start_pos = int(positions[start])
            k = count - 1
            while k >= 0:  # exits on the start's line, before it: its first exit code, recorded
                if buf.find(b"\n", int(positions[exits[k]]), start_pos) >= 0:
                    break
                bulk[k] = False
                k -= 1
        counted[exits[bulk]] = True
    if failures_settled:
        failures = np.flatnonzero(is_failure)
        at = line_of[failures]
        ends = feeds[at]
        starts = np.where(at > 0, feeds[at - 1] + 1, 0)
        keep_from = failures_kept_from(buf, starts.tolist(), ends.tolist())
        counted[failures[:keep_from]] = True
    return counted

"""Which of many literal keywords occur in a text: one Hyperscan block-mode scan instead of a search per keyword."""

from __future__ import annotations

import hashlib

from diagnosis.scan.hs_compile import Compiled, hyperscan

_PROCESS_CACHE: dict[str, LiteralSet] = {}  # by the literals' digest: every knowledge-base load reuses the automaton


class LiteralSet:
    """Literal byte strings, each case-sensitive or ASCII case-insensitive, compiled into one database."""

    def __init__(self, literals: list[tuple[bytes, bool]]) -> None:
        self.size = len(literals)
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        if literals:
            database.compile(
                expressions=[b"".join(b"\\x%02x" % c for c in literal) for literal, _ in literals],
                ids=list(range(len(literals))),
                elements=len(literals),
                flags=[
                    hyperscan.HS_FLAG_SINGLEMATCH | (hyperscan.HS_FLAG_CASELESS if caseless else 0)
                    for _, caseless in literals
                ],
            )
        self._compiled = Compiled(database, [])

    @classmethod
    def of(cls, literals: list[tuple[bytes, bool]]) -> LiteralSet:
        """The automaton for ``literals``, compiled once per process."""
        digest = hashlib.sha256(b"\0".join(b"%d%s" % (caseless, literal) for literal, caseless in literals)).hexdigest()
        found = _PROCESS_CACHE.get(digest)
        if found is None:
            found = _PROCESS_CACHE[digest] = cls(literals)
        return found

    def present(self, texts: tuple[bytes, ...]) -> set[int]:
        """The indices of the literals occurring in any of ``texts``."""
        found: set[int] = set()
        if not self.size:
            return found
        scratch = self._compiled.scratch()

        def on_match(index: int, _start: int, _end: int, _flags: int, _context: object) -> None:
            found.add(index)

        for text in texts:
            if text:
                self._compiled.database.scan(text, match_event_handler=on_match, scratch=scratch)
        return found

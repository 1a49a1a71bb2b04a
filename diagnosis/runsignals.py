"""What the running-build analysis reads from the knowledge base: the ``running`` signals of its entries.

An entry's ``running`` list says what its lines mean while a build still runs (``diagnosis.rules``): a prompt
waiting for an answer, a Windows restart (and the lines that show it came back), the sysprep image-state loop,
a missing guest agent, File-customizer download progress, and the lines that say the build failed. The
analysis (``diagnosis.running``) asks this object instead of keeping regexes of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from diagnosis.rules import RUNNING_SIGNALS, KnowledgeBase

_CACHE_KEY = "running-signals"


@dataclass(frozen=True)
class RunningKnowledge:
    patterns: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    done: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)

    def search(self, signal: str, text: str) -> re.Match[str] | None:
        """The first match of ``signal``'s patterns in ``text``."""
        for regex in self.patterns.get(signal, ()):
            m = regex.search(text)
            if m:
                return m
        return None

    def ended(self, signal: str, text: str) -> bool:
        """True when ``text`` shows that ``signal``'s situation is over (a restart that came back)."""
        return any(regex.search(text) for regex in self.done.get(signal, ()))


def running_knowledge(kb: KnowledgeBase) -> RunningKnowledge:
    """The running signals of every entry in ``kb`` (cached on the knowledge base)."""
    cached = kb.cache.get(_CACHE_KEY)
    if cached is not None:
        return cached
    patterns: dict[str, list[re.Pattern[str]]] = {s: [] for s in RUNNING_SIGNALS}
    done: dict[str, list[re.Pattern[str]]] = {s: [] for s in RUNNING_SIGNALS}
    for rule in kb:
        for sig in rule.running:
            patterns[sig.signal].extend(sig.patterns)
            done[sig.signal].extend(sig.done)
    know = RunningKnowledge(
        {k: tuple(v) for k, v in patterns.items()}, {k: tuple(v) for k, v in done.items()}
    )
    kb.cache[_CACHE_KEY] = know
    return know

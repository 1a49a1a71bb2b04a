"""Why did an Azure VM Image Builder build fail, and what to do: knowledge base, log analyzer, advisories.

Standard library only; importable without any Azure package.
"""

from diagnosis.categories import CATEGORIES, CATEGORY_IDS
from diagnosis.engine import diagnose
from diagnosis.model import Advisory, Diagnosis, Evidence, FailedCustomizer, RunningAnalysis
from diagnosis.redact import redact
from diagnosis.rules import KnowledgeBase, KnowledgeBaseError, load_knowledge_base

__all__ = [
    "CATEGORIES",
    "CATEGORY_IDS",
    "Advisory",
    "Diagnosis",
    "Evidence",
    "FailedCustomizer",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "RunningAnalysis",
    "diagnose",
    "load_knowledge_base",
    "redact",
]

try:  # running-build analysis and template advisories are written in parallel; export them once they exist
    from diagnosis.running import analyze_running  # noqa: F401

    __all__.append("analyze_running")
except ImportError:  # pragma: no cover
    pass
try:
    from diagnosis.advisories import check_template  # noqa: F401

    __all__.append("check_template")
except ImportError:  # pragma: no cover
    pass

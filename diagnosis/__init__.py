"""Why did an Azure VM Image Builder build fail, and what to do: knowledge base, log analyzer, advisories.

Standard library only; importable without any Azure package.
"""

from diagnosis.advisories import check_template
from diagnosis.categories import CATEGORIES, CATEGORY_IDS
from diagnosis.engine import diagnose
from diagnosis.model import Advisory, Diagnosis, Evidence, FailedCustomizer, RunningAnalysis
from diagnosis.redact import redact
from diagnosis.rules import KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from diagnosis.running import analyze_running

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
    "analyze_running",
    "check_template",
    "diagnose",
    "load_knowledge_base",
    "redact",
]

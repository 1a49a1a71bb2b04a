"""The scoring of ``benchmarks/real_reports_accuracy.py``, loaded once for the tests that read the real reports."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REAL = Path(__file__).with_name("cases") / "real"


def load_benchmark(name: str):
    """A script of benchmarks/ as a module (registered under its name, as its own imports expect)."""
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


scoring = load_benchmark("real_reports_accuracy")

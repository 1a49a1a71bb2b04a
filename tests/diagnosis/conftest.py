"""The diagnosis tests that scan run once per scanning backend (``DIAGNOSIS_SCAN_BACKEND``).

The Hyperscan backend is what the deployed app and ``make test`` use; the standard-library backend is what an
install with nothing but Python uses. Both must give the same results, so the scanning tests run on both (the
``hyperscan`` runs are skipped when the package is not installed).
"""

from __future__ import annotations

import pytest

from diagnosis.scan import hs_backend
from diagnosis.scanner import BACKEND_ENV

# test modules whose tests scan logs or texts (directly or through diagnose / the CLI)
SCANNING_MODULES = {
    "test_scanner",
    "test_scanner_memory",
    "test_engine",
    "test_engine_steps",
    "test_engine_signals",
    "test_engine_samplelogs",
    "test_knowledge_cases",
    "test_cli",
}
# the real reports run once: test_scan_backends checks that both backends scan each of them the same


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    name = metafunc.module.__name__.rsplit(".", 1)[-1]
    if name in SCANNING_MODULES and "scan_backend" not in metafunc.fixturenames:
        metafunc.fixturenames.append("scan_backend")
        metafunc.parametrize("scan_backend", ["hyperscan", "stdlib"], indirect=True)


@pytest.fixture
def scan_backend(request, monkeypatch) -> str:
    """Selects the scanning backend for one test (parametrized: both backends)."""
    name = getattr(request, "param", "hyperscan")
    if name == "hyperscan" and not hs_backend.available():
        pytest.skip("hyperscan is not installed")
    monkeypatch.setenv(BACKEND_ENV, name)
    return name

"""pyproject.toml makes the project installable: its console scripts name real entry points, its packages are the
two the code lives in, and the knowledge base's JSON travels with them."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_console_scripts_name_callables() -> None:
    scripts = PROJECT["project"]["scripts"]
    assert set(scripts) == {"aib-diagnose", "aib-monitor"}
    for target in scripts.values():
        module, _, name = target.partition(":")
        assert callable(getattr(importlib.import_module(module), name)), target


def test_packages_and_data() -> None:
    setuptools = PROJECT["tool"]["setuptools"]
    assert setuptools["packages"]["find"]["include"] == ["diagnosis*", "monitor*"]
    patterns = setuptools["package-data"]["diagnosis"]
    knowledge = [p.relative_to(ROOT / "diagnosis") for p in (ROOT / "diagnosis" / "knowledge").rglob("*.json")]
    assert knowledge and all(any(p.match(pattern) for pattern in patterns) for p in knowledge)


def test_dependencies_are_the_functions_apps_minus_the_functions_runtime() -> None:
    wanted = {
        line.split(">=")[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    declared = {d.split(">=")[0] for d in PROJECT["project"]["dependencies"]}
    assert declared == wanted - {"azure-functions"}
    assert PROJECT["project"]["optional-dependencies"]["functions"] == ["azure-functions>=1.21"]

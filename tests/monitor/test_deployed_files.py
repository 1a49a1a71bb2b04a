"""The Functions package is what .funcignore leaves of the checkout; it must import nothing that is not in it
(dev tools, the local stand-ins, tests) and nothing that requirements.txt does not install."""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ignore_patterns() -> list[str]:
    lines = (ROOT / ".funcignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def ignored(relative: Path, is_dir: bool, patterns: list[str]) -> bool:
    """gitignore-style: ``name/`` matches a folder of that name anywhere, other patterns a file or folder name
    anywhere (or the whole path when they contain a slash)."""
    text = relative.as_posix()
    for pattern in patterns:
        if pattern.endswith("/"):
            if is_dir and fnmatch.fnmatch(relative.name, pattern[:-1]):
                return True
        elif "/" in pattern.strip("/"):
            if fnmatch.fnmatch(text, pattern.strip("/")):
                return True
        elif fnmatch.fnmatch(relative.name, pattern):
            return True
    return False


def deployed_files() -> list[Path]:
    patterns = ignore_patterns()
    found: list[Path] = []
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder).relative_to(ROOT)
        dirs[:] = sorted(d for d in dirs if not ignored(here / d, True, patterns))
        found.extend(here / f for f in sorted(files) if not ignored(here / f, False, patterns))
    return found


def test_the_package_holds_the_app_and_leaves_the_dev_tools_out() -> None:
    files = {p.as_posix() for p in deployed_files()}
    assert {"function_app.py", "host.json", "requirements.txt", "monitor/app.py", "diagnosis/engine.py"} <= files
    assert any(f.startswith("diagnosis/knowledge/") and f.endswith(".json") for f in files)
    for left_out in ("devtools/", "localazure/", "tests/", "benchmarks/", "infra/", "node_modules/", ".venv/"):
        assert not any(f.startswith(left_out) for f in files), left_out


def test_every_import_of_the_package_resolves_inside_it_or_to_an_installed_requirement(tmp_path) -> None:
    copy = tmp_path / "package"
    for relative in deployed_files():
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, copy / relative)
    # Every top-level name imported anywhere in the package, lazy imports inside functions included.
    imported: set[str] = set()
    for source in copy.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    code = f"""
import importlib, importlib.util, json, pkgutil, sys
root = {str(copy)!r}
import function_app
modules = ["function_app"]
for package in ("monitor", "diagnosis"):
    for info in pkgutil.walk_packages([root + "/" + package], package + "."):
        importlib.import_module(info.name)
        modules.append(info.name)
outside = sorted(
    name for name, module in sys.modules.items()
    if name.split(".")[0] in ("function_app", "monitor", "diagnosis", "devtools", "localazure", "tests")
    and not (getattr(module, "__file__", None) or root).startswith(root)
)
unresolved = sorted(name for name in {sorted(imported)!r} if importlib.util.find_spec(name) is None)
local = sorted(
    name for name in {sorted(imported)!r}
    if (spec := importlib.util.find_spec(name)) is not None and spec.origin
    and spec.origin.startswith({str(ROOT)!r}) and not spec.origin.startswith(sys.prefix)
)
print(json.dumps({{"modules": len(modules), "outside": outside, "unresolved": unresolved, "checkout": local}}))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=copy, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["modules"] > 30
    assert report["outside"] == [] and report["checkout"] == [], report
    assert report["unresolved"] == [], report

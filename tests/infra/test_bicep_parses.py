"""Every Bicep file in infra/ parses (pycep), and the files hang together: main.bicep is subscription-scoped
and every module it references exists and receives only parameters the module declares."""

from __future__ import annotations

import pytest

from tests.infra.bicep import INFRA, MAIN, bicep_files, parse, resource_body


def test_there_are_bicep_files() -> None:
    names = {p.relative_to(INFRA).as_posix() for p in bicep_files()}
    assert {"main.bicep", "eventgrid.bicep"} <= names
    assert any(n.startswith("modules/") for n in names)


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_bicep_file_parses(path) -> None:
    doc = parse(path)
    assert doc.get("resources") or doc.get("modules"), f"{path.name} declares nothing"


def test_main_is_subscription_scoped() -> None:
    assert parse(MAIN)["globals"]["scope"]["value"] == "subscription"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_module_references_resolve(path) -> None:
    doc = parse(path)
    for name, module in doc.get("modules", {}).items():
        target = (path.parent / module["detail"]["path"]).resolve()
        assert target.is_file(), f"{path.name}: module {name} -> {target} does not exist"
        declared = set(parse(target).get("parameters", {}))
        passed = set(resource_body(module).get("params", {}))
        assert passed <= declared, f"{path.name}: module {name} passes unknown parameters {passed - declared}"
        required = {
            p for p, spec in parse(target).get("parameters", {}).items() if spec.get("default") is None
        }
        # A parameter with no default must be passed (pycep shows a missing default and an explicit null
        # alike; none of ours defaults to null).
        assert required <= passed, (
            f"{path.name}: module {name} misses required parameters {required - passed}"
        )

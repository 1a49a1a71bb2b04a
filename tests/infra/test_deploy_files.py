"""azure.yaml, the azd hooks and the role assignments hang together with the Bicep.

- azure.yaml provisions infra/main.bicep and deploys this repository as a Python function app, with a
  postdeploy hook (the Event Grid subscription needs the deployed function) for POSIX and Windows;
- the hooks use only values main.bicep outputs (azd puts outputs in the hook's environment) or azd sets
  itself;
- every role assignment says why it exists, right above it, and the monitor's identity gets no broad role.
"""

from __future__ import annotations

import re

import yaml

from tests.infra.bicep import INFRA, MAIN, REPO, bicep_files, declarations_with_comments, parse, resource_body

AZD_BUILTIN = {"AZURE_SUBSCRIPTION_ID", "AZURE_ENV_NAME"}


def _azd_variables() -> set[str]:
    """The azd environment values main.parameters.json maps to parameters (azd passes them to hooks too)."""
    text = (INFRA / "main.parameters.json").read_text(encoding="utf-8")
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", text))


def _postdeploy_scripts() -> list:
    return sorted(path for path in (INFRA / "hooks").iterdir() if path.stem == "postdeploy")


def _azure_yaml() -> dict:
    return yaml.safe_load((REPO / "azure.yaml").read_text(encoding="utf-8"))


def test_azure_yaml_provisions_main_and_deploys_the_function_app() -> None:
    doc = _azure_yaml()
    assert (REPO / doc["infra"]["path"] / f"{doc['infra']['module']}.bicep").resolve() == MAIN.resolve()
    assert doc["infra"]["provider"] == "bicep"
    ((name, service),) = doc["services"].items()
    assert service["host"] == "function" and service["language"] == "python"
    project = (REPO / service["project"]).resolve()
    assert (project / "function_app.py").is_file() and (project / "host.json").is_file()
    # azd finds the app by its azd-service-name tag.
    app_module = parse(INFRA / "modules" / "functionapp.bicep")
    assert app_module["parameters"]["serviceName"]["default"] == name


def test_postdeploy_hooks_exist_for_both_shells() -> None:
    hooks = _azure_yaml()["hooks"]["postdeploy"]
    for platform in ("posix", "windows"):
        script = (REPO / hooks[platform]["run"]).resolve()
        assert script.is_file(), script
        text = script.read_text(encoding="utf-8")
        assert "eventgrid.bicep" in text and "DEPLOY_EVENT_SUBSCRIPTION" in text


def test_hooks_use_only_values_azd_provides() -> None:
    outputs = set(parse(MAIN)["outputs"])
    for script in sorted((INFRA / "hooks").iterdir()):
        text = script.read_text(encoding="utf-8")
        pattern = r"\$env:([A-Z][A-Z0-9_]+)" if script.suffix == ".ps1" else r"\$\{?([A-Z][A-Z0-9_]+)"
        used = set(re.findall(pattern, text)) - {"DEPLOY_EVENT_SUBSCRIPTION"}
        assert used, script.name
        known = outputs | AZD_BUILTIN | _azd_variables()
        assert used <= known, f"{script.name} uses {used - known}"


def test_hook_passes_the_parameters_eventgrid_bicep_needs() -> None:
    declared = parse(INFRA / "eventgrid.bicep")["parameters"]
    required = {name for name, spec in declared.items() if spec.get("default") is None}
    required.add("monitorResourceGroupName")  # the topic may be in another group than the monitor
    assert len(_postdeploy_scripts()) == 2
    for script in _postdeploy_scripts():
        text = script.read_text(encoding="utf-8")
        block = text[text.index("--parameters") : text.index("--output", text.index("--parameters"))]
        passed = set(re.findall(r"\b([a-zA-Z]+)=", block))
        assert required <= passed, f"{script.name} misses {required - passed}"
        assert passed <= set(declared), f"{script.name} passes unknown {passed - set(declared)}"


def test_every_role_assignment_says_why() -> None:
    count = 0
    for path in bicep_files():
        for name, rtype, comment in declarations_with_comments(path):
            if rtype.lower() == "microsoft.authorization/roleassignments":
                count += 1
                assert "Why:" in comment, f"{path.name}: {name} has no 'Why:' comment above it"
    assert count >= 7


def test_the_monitor_identity_gets_no_broad_role() -> None:
    broad = {
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",  # Owner
        "b24988ac-6180-42a0-ab88-20f7382dd24c",  # Contributor
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",  # User Access Administrator
        "17d1049b-9a84-46fb-8f53-869881c3d3ab",  # Storage Account Contributor
        "81a9662b-bebf-436f-a333-f67b29880f12",  # Storage Account Key Operator (regenerates keys)
    }
    for path in bicep_files():
        text = path.read_text(encoding="utf-8")
        assert not broad & set(
            re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text)
        )


def test_staging_log_reader_is_limited_to_packerlogs() -> None:
    doc = parse(INFRA / "modules" / "roles-subscription.bicep")
    reader = resource_body(doc["resources"]["stagingLogReader"])["properties"]
    assert reader["conditionVersion"] == "2.0"
    assert "containers:name] StringEquals" in reader["condition"]
    assert doc["parameters"]["stagingLogContainer"]["default"] == "packerlogs"
    role = resource_body(doc["resources"]["listKeysRole"])["properties"]
    (permissions,) = role["permissions"]
    assert permissions["actions"] == ["Microsoft.Storage/storageAccounts/listkeys/action"]
    assert permissions["dataActions"] == []


def _readme_deploy_section() -> str:
    readme = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    return readme.split("<!-- section:deploy -->", 1)[1].split("<!-- /section:deploy -->", 1)[0]


def test_readme_documents_every_parameter() -> None:
    section = _readme_deploy_section()
    for name in parse(MAIN)["parameters"]:
        assert f"| `{name}` |" in section, f"docs/deploy.md does not document parameter {name}"


BUILT_IN_ROLES = {
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}


def test_readme_explains_every_role_infra_assigns() -> None:
    section = _readme_deploy_section()
    for path in bicep_files():
        for role_id in re.findall(
            r"'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'", path.read_text()
        ):
            assert role_id in BUILT_IN_ROLES, (
                f"{path.name}: unknown role {role_id}: add it here and to the README"
            )
            role = BUILT_IN_ROLES[role_id]
            assert re.search(rf"\| {role}[ ,]", section), f"docs/deploy.md roles table does not explain {role}"
    assert "listkeys/action" in section

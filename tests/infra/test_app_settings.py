"""The app settings in infra/ are exactly the settings the code reads (monitor/settings.py SETTING_NAMES,
minus the two that do not apply in Azure) plus the Functions runtime's own, parsed from the Bicep with pycep;
the webhook URLs are Key Vault references; and the defaults infra deploys are valid settings equal to the
code's."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from monitor.settings import SECRET_SETTINGS, SETTING_NAMES, Settings
from tests.infra.bicep import (
    FUNCTION_APP,
    INFRA,
    MAIN,
    REPO,
    object_keys,
    parse,
    resource_body,
    resources_of_type,
)

# SETTING_NAMES that infra deliberately does not set, and why.
NOT_IN_AZURE = {
    "ARCHIVE_CONNECTION_STRING": "no shared keys on the archive account: ARCHIVE_STORAGE_URL + the identity",
    "ARCHIVE_DIR": "the local-folder archive of CLI runs, used only when no archive storage is configured",
}

# The Functions runtime's own settings on Flex Consumption (identity-based host storage, Entra ID telemetry).
RUNTIME_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}

# Settings Flex Consumption rejects or that would bring keys back.
FORBIDDEN = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "AzureWebJobsStorage",
    "APPINSIGHTS_INSTRUMENTATIONKEY",
}

SAMPLE_SUBSCRIPTION = "5f3c1e2a-8b7d-4c6e-9a1f-2d3e4f5a6b7c"
SAMPLE_BLOB_ENDPOINT = "https://staibmonexample.blob.core.windows.net/"
SAMPLE_ACCOUNT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-aibmon/providers/Microsoft.Storage/storageAccounts/staibmonexample"
)


def _vars() -> dict[str, Any]:
    return {name: spec["value"] for name, spec in parse(FUNCTION_APP)["variables"].items()}


def _monitor_settings() -> dict[str, Any]:
    return _vars()["monitorSettings"]


def _runtime_settings() -> dict[str, Any]:
    return _vars()["runtimeSettings"]


def test_the_site_gets_runtime_and_monitor_settings_and_nothing_else() -> None:
    assert _vars()["appSettings"] == {
        "function": {"type": "union", "parameters": {"arg_1": "runtimeSettings", "arg_2": "monitorSettings"}}
    }
    (site,) = resources_of_type(parse(FUNCTION_APP), "Microsoft.Web/sites").values()
    loop = resource_body(site)["properties"]["siteConfig"]["appSettings"]
    assert loop["loop_type"]["detail"]["object_name"] == "appSettings"
    assert loop["config"] == {"name": "setting.key", "value": "setting.value"}


def test_monitor_settings_are_exactly_the_names_the_code_reads() -> None:
    expected = set(SETTING_NAMES) - set(NOT_IN_AZURE)
    actual = object_keys(_monitor_settings())
    assert actual - set(SETTING_NAMES) == set(), "infra sets settings the code does not read"
    assert expected - actual == set(), "settings the code reads are missing from infra"


def test_exclusions_name_real_settings() -> None:
    assert set(NOT_IN_AZURE) <= set(SETTING_NAMES)


def test_runtime_settings_are_the_functions_hosts_own() -> None:
    runtime = object_keys(_runtime_settings())
    assert runtime == RUNTIME_SETTINGS
    assert not runtime & set(SETTING_NAMES)
    everything = runtime | object_keys(_monitor_settings())
    assert not everything & FORBIDDEN


def test_webhook_urls_are_key_vault_references() -> None:
    kv_prefix = _vars()["kvPrefix"]
    assert kv_prefix.startswith("@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=")
    settings = _monitor_settings()
    secrets_in_azure = SECRET_SETTINGS - set(NOT_IN_AZURE)
    assert secrets_in_azure, "SECRET_SETTINGS changed shape"
    for name in secrets_in_azure:
        operands = settings[name]["operator"]["operands"]
        assert settings[name]["operator"]["type"] == "conditional", name
        assert re.fullmatch(r"\$\{kvPrefix\}[a-z-]+\)", operands["true_value"]), (name, operands)
        assert operands["false_value"] == "", name
    for name, value in settings.items():
        if name not in SECRET_SETTINGS:
            assert "KeyVault" not in json.dumps(value), f"{name} is not a secret but references the vault"


def test_readme_tells_how_to_store_each_webhook_secret() -> None:
    readme = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section:deploy -->", 1)[1].split("<!-- /section:deploy -->", 1)[0]
    for name in SECRET_SETTINGS - set(NOT_IN_AZURE):
        operands = _monitor_settings()[name]["operator"]["operands"]
        secret = operands["true_value"].removeprefix("${kvPrefix}").removesuffix(")")
        assert f"--name {secret}" in section, f"docs/deploy.md does not show how to set {secret}"
        flag = operands["condition"]
        assert flag in parse(INFRA / "modules" / "functionapp.bicep")["parameters"]


def _main_param_for(function_app_param: str) -> str | None:
    """The main.bicep parameter passed straight through to a functionapp.bicep parameter, if any."""
    module = resource_body(parse(MAIN)["modules"]["functionApp"])
    value = module["params"].get(function_app_param)
    return value if isinstance(value, str) and value in parse(MAIN)["parameters"] else None


def _deployed_default(setting: str, value: Any) -> str:
    """What the app setting holds when main.bicep is deployed with its defaults."""
    if isinstance(value, dict) and "operator" in value:  # a webhook reference, off until its secret exists
        return value["operator"]["operands"]["false_value"]
    if isinstance(value, dict) and "function" in value:
        kind = value["function"]["type"]
        return {"subscription": SAMPLE_SUBSCRIPTION, "environment": "https://management.azure.com/"}[kind]
    if value == "storageBlobEndpoint":
        return SAMPLE_BLOB_ENDPOINT
    if value == "storageAccountId":
        return SAMPLE_ACCOUNT_ID
    main_param = _main_param_for(value)
    if main_param is not None:
        return str(parse(MAIN)["parameters"][main_param]["default"])
    assert value not in parse(FUNCTION_APP)["parameters"], f"{setting}: parameter {value} not resolved"
    return value  # a literal


def test_deployed_defaults_are_valid_settings_equal_to_the_codes_defaults() -> None:
    env = {name: _deployed_default(name, value) for name, value in _monitor_settings().items()}
    deployed = Settings.from_env(env)
    assert deployed.archive_kind == "blob-aad"
    assert deployed.subscription_id == SAMPLE_SUBSCRIPTION
    assert not deployed.any_alert_channel  # no reference until the operator stores a secret
    # Everything infra does not set on purpose must match the code's own defaults.
    code = Settings.from_env(
        {"AZURE_SUBSCRIPTION_ID": SAMPLE_SUBSCRIPTION, "ARCHIVE_STORAGE_URL": SAMPLE_BLOB_ENDPOINT}
    )
    differ = {
        f.name for f in dataclasses.fields(Settings) if getattr(deployed, f.name) != getattr(code, f.name)
    }
    # /tmp: the only writable folder on Flex Consumption; the account id only infra knows (portal links)
    assert differ == {"alert_dir", "archive_storage_account_id"}, differ


def _parameters_file() -> dict[str, Any]:
    text = (INFRA / "main.parameters.json").read_text(encoding="utf-8")
    return json.loads(text)["parameters"]


def test_parameters_file_matches_main_bicep() -> None:
    declared = parse(MAIN)["parameters"]
    given = _parameters_file()
    assert set(given) <= set(declared), set(given) - set(declared)
    required = {name for name, spec in declared.items() if spec.get("default") is None}
    assert required <= set(given)
    for name, spec in given.items():
        match = re.fullmatch(r"\$\{([A-Z_]+)(?:=(.*))?\}", spec["value"])
        assert match, f"{name}: expected an azd ${{VAR}} or ${{VAR=default}} value, got {spec['value']!r}"
        if match.group(2) is not None and declared[name].get("default") is not None:
            default = declared[name]["default"]
            default_text = str(default).lower() if isinstance(default, bool) else str(default)
            assert match.group(2) == default_text, (
                f"{name}: file default {match.group(2)!r} != Bicep {default!r}"
            )


def test_azd_variables_for_monitor_settings_use_the_setting_names() -> None:
    """`azd env set STUCK_AFTER_MINUTES 45` must change STUCK_AFTER_MINUTES: same name in azd and the app."""
    given = _parameters_file()
    for setting, value in _monitor_settings().items():
        main_param = _main_param_for(value) if isinstance(value, str) else None
        if main_param is None:
            continue
        assert main_param in given, f"{setting}: main parameter {main_param} is not in main.parameters.json"
        variable = re.fullmatch(r"\$\{([A-Z_]+)", given[main_param]["value"].split("=")[0]).group(1)
        assert variable == setting, f"{main_param}: azd variable {variable} should be {setting}"


def test_binding_expressions_in_function_app_resolve_to_app_settings() -> None:
    """`%SWEEP_SCHEDULE%` in a trigger is read from the app settings; a missing one stops the host."""
    names = set(
        re.findall(r"%([A-Za-z_][A-Za-z0-9_]*)%", (REPO / "function_app.py").read_text(encoding="utf-8"))
    )
    assert names, "function_app.py uses no binding expressions any more: drop this test"
    settings = object_keys(_monitor_settings()) | object_keys(_runtime_settings())
    assert names <= settings, names - settings

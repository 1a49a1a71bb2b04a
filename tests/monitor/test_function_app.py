"""function_app.py through the azure.functions app object: registered functions, bindings, config files, and
the Event Grid trigger fed real ``EventGridEvent`` / ``CloudEvent`` objects decoded by the package's own
converter (what the Python worker does with the host's payload).

End-to-end tests against the local cloud (Azurite + local ARM + identity endpoint) are in
test_function_app_e2e.py.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import azure.functions as func
import pytest

from monitor.settings import SETTING_NAMES, Settings
from tests.monitor import eventsamples as samples
from tests.monitor.eventsamples import staging_group_event, template_event
from tests.monitor.functionhost import deliver, registered_functions, timer_request

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def functions():
    return registered_functions()


# --- registration and configuration -------------------------------------------------------------------------


def test_registered_functions_and_bindings(functions):
    assert set(functions) == {"on_resource_event", "sweep"}
    event_bindings = json.loads(functions["on_resource_event"].get_function_json())["bindings"]
    assert event_bindings == [{"direction": "IN", "type": "eventGridTrigger", "name": "event"}]
    (timer,) = json.loads(functions["sweep"].get_function_json())["bindings"]
    assert timer["type"] == "timerTrigger" and timer["name"] == "timer"
    assert timer["schedule"] == "%SWEEP_SCHEDULE%"
    assert timer["runOnStartup"] is False


def test_importing_function_app_does_not_import_the_azure_sdk():
    code = (
        "import sys, function_app\n"
        "prefixes = ('azure.identity', 'azure.mgmt', 'azure.storage', 'monitor.app', 'requests')\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(prefixes))\n"
        "print(repr(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_host_json():
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    hours, minutes, seconds = (int(p) for p in host["functionTimeout"].split(":"))
    assert 0 < hours * 3600 + minutes * 60 + seconds <= 10 * 60  # Consumption plan maximum is 10 minutes
    assert host["logging"]["logLevel"]["Function"] in ("Information", "Debug", "Trace")
    assert "retry" not in host  # Event Grid retries deliveries itself


def test_local_settings_example_names_every_setting_without_secrets():
    example = json.loads((ROOT / "local.settings.json.example").read_text())
    values = example["Values"]
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert set(SETTING_NAMES) <= set(values)
    settings = Settings.from_env(values)  # the example values are valid
    assert settings.sweep_schedule == values["SWEEP_SCHEDULE"]
    text = json.dumps(values).lower()
    for secret in ("sig=", "accountkey=", "sharedaccesssignature", "password", "client_secret"):
        assert secret not in text
    for name in ("TEAMS_WEBHOOK_URL", "EMAIL_WEBHOOK_URL", "ALERT_WEBHOOK_URL"):
        assert values[name] == ""


# --- events that never reach the monitor --------------------------------------------------------------------
# No Monitor can be built in these tests (no subscription or cloud configured, and building one would fail),
# so a clean return proves the event was dropped before any Azure call.


@pytest.fixture
def no_azure(monkeypatch):
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARM_ENDPOINT", "https://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "not-a-guid")  # Settings.from_env would raise


@pytest.mark.parametrize("name", samples.ALL_SAMPLES)
def test_unrelated_sample_events_are_ignored(functions, no_azure, caplog, name):
    handler = functions["on_resource_event"].get_user_function()
    event = deliver(
        (samples.DATA / name).read_text() if name in samples.CLOUD_EVENT_SAMPLES else samples.load(name)
    )
    assert isinstance(event, func.CloudEvent if name in samples.CLOUD_EVENT_SAMPLES else func.EventGridEvent)
    with caplog.at_level(logging.DEBUG, logger="aibmonitor"):
        assert handler(event) is None
    assert any("ignored event" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)


def test_non_staging_group_write_is_ignored(functions, no_azure, caplog):
    handler = functions["on_resource_event"].get_user_function()
    with caplog.at_level(logging.DEBUG, logger="aibmonitor"):
        handler(deliver(staging_group_event("web-prod-rg")))
    assert any("not an Image Builder staging group" in r.getMessage() for r in caplog.records)


def _malformed_cases():
    def base():
        return template_event("img-rg", "tpl", "run/action")

    no_data = base()
    del no_data["data"]
    data_list = base()
    data_list["data"] = ["x"]
    data_text = base()
    data_text["data"] = "{not json"
    op_number = base()
    op_number["data"]["operationName"] = 42
    no_subject = base()
    del no_subject["subject"]
    not_template = base()
    not_template["data"]["resourceUri"] = "/subscriptions/x/resourceGroups/img-rg"
    secret_uri = base()
    secret_uri["data"]["resourceUri"] = "https://a.blob.core.windows.net/c?sig=SUPERSECRETSIGNATURE1234"
    cloud_no_data = template_event("img-rg", "tpl", "write", sample="resource_write_success.json")
    cloud_no_data["data"] = None
    return {
        "no data": (no_data, "has no data"),
        "data is a list": (data_list, "data must be an object"),
        "data is not JSON": (data_text, "data is not JSON"),
        "operationName is a number": (op_number, "data.operationName must be a string"),
        "no subject": (no_subject, "subject is missing"),
        "template op on a group": (not_template, "does not name an image template"),
        "secret in resourceUri": (secret_uri, "does not name an image template"),
        "CloudEvent without data": (cloud_no_data, "has no data"),
    }


@pytest.mark.parametrize("case", sorted(_malformed_cases()))
def test_malformed_events_are_logged_and_dropped(functions, no_azure, caplog, case):
    body, message = _malformed_cases()[case]
    handler = functions["on_resource_event"].get_user_function()
    event = deliver(body)
    with caplog.at_level(logging.DEBUG, logger="aibmonitor"):
        assert handler(event) is None  # never raised: Event Grid would redeliver garbage for a day
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "dropped a malformed event" in warnings[0] and message in warnings[0]
    logged = caplog.text
    assert "SUPERSECRETSIGNATURE1234" not in logged
    assert "{token}" not in logged and "claims" not in logged


def test_sweep_with_bad_settings_fails_loudly_naming_the_setting(functions, no_azure):
    """A misconfigured app must show failed sweeps, not quietly do nothing."""
    from monitor.settings import SettingsError

    timer = timer_request(past_due=False)
    assert isinstance(timer, func.TimerRequest) and timer.past_due is False
    with pytest.raises(SettingsError, match="AZURE_SUBSCRIPTION_ID"):
        functions["sweep"].get_user_function()(timer)


def test_routed_event_with_bad_settings_raises_naming_the_setting(functions, no_azure):
    """Settings are read per invocation; a bad one fails the invocation (Event Grid keeps the event)."""
    from monitor.settings import SettingsError

    event = deliver(template_event("img-rg", "tpl", "run/action"))
    with pytest.raises(SettingsError, match="AZURE_SUBSCRIPTION_ID"):
        functions["on_resource_event"].get_user_function()(event)

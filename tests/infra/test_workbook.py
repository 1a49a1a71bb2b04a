"""The Azure Monitor workbook: valid workbook JSON, deployed over Application Insights, and every query reads only
fields the monitor emits (monitor.telemetry.RunOutcome) from the records it writes."""

from __future__ import annotations

import dataclasses
import json
import re

from monitor.telemetry import EVENT, KQL_RECORD, RunOutcome, emit, run_outcome
from tests.infra.bicep import INFRA, MAIN, parse, resource_body, resources_of_type

WORKBOOK = INFRA / "workbook" / "monitor.workbook.json"
MODULE = INFRA / "modules" / "workbook.bicep"


def _queries() -> dict[str, str]:
    doc = json.loads(WORKBOOK.read_text(encoding="utf-8"))
    return {item["name"]: item["content"]["query"] for item in doc["items"] if item["type"] == 3}


def test_workbook_json_is_a_workbook() -> None:
    doc = json.loads(WORKBOOK.read_text(encoding="utf-8"))
    assert doc["version"] == "Notebook/1.0"
    names = [item["name"] for item in doc["items"]]
    assert len(names) == len(set(names))
    assert {"failures-by-category", "top-templates", "top-customizers", "time-to-alert", "stuck-builds"} <= set(
        _queries()
    )
    (params,) = [item for item in doc["items"] if item["type"] == 9]
    assert [p["name"] for p in params["content"]["parameters"]] == ["TimeRange"]


def test_every_query_reads_the_run_outcome_records() -> None:
    for name, query in _queries().items():
        assert query.startswith("traces\n"), name
        assert f'startswith "{EVENT} "' in query, name
        assert KQL_RECORD in query, name
        assert "{TimeRange}" in query, name


def test_queries_use_only_fields_the_monitor_emits() -> None:
    emitted = {f.name for f in dataclasses.fields(RunOutcome)}
    used: set[str] = set()
    for query in _queries().values():
        used |= set(re.findall(r"\br\.(\w+)", query))
    assert used, "no query reads a record field"
    assert used <= emitted, f"fields the monitor never emits: {sorted(used - emitted)}"


def test_kql_extract_reads_back_an_emitted_line() -> None:
    record = run_outcome(
        template="win2022",
        resource_group="rg-images",
        subscription="0000",
        state="failed",
        run_state="Failed",
        diagnosis={
            "category": "customizer-failed",
            "failed_customizer": {"customizer_name": "install", "type": "PowerShell"},
        },
        run_start=None,
        run_end=None,
        alert_kind="build-failed",
        alerted_at=None,
    )
    line = emit(record)
    pattern = re.search(r'extract\(@"(.+?)", 1, message\)', KQL_RECORD).group(1)
    parsed = json.loads(re.search(pattern, line).group(1))  # the same regex KQL runs
    assert parsed["category"] == "customizer-failed" and parsed["customizer"] == "install"
    assert parsed["schema"] == 1


def test_workbook_module_deploys_the_json_over_application_insights() -> None:
    doc = parse(MODULE)
    (workbook,) = resources_of_type(doc, "Microsoft.Insights/workbooks").values()
    body = resource_body(workbook)
    assert body["kind"] == "shared"
    assert body["properties"]["sourceId"] == "applicationInsightsId"
    assert "loadTextContent('../workbook/monitor.workbook.json')" in MODULE.read_text(encoding="utf-8")
    main = MAIN.read_text(encoding="utf-8")
    assert "applicationInsightsId: monitoring.outputs.applicationInsightsId" in main
    assert "AZURE_WORKBOOK_URL" in parse(MAIN)["outputs"]

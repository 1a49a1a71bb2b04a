"""Infra for operating the monitor: people can read the archive, and a subscription's existing Event Grid system
topic is reused instead of failing on a second one (Azure allows one per source)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.infra.bicep import EVENT_GRID, INFRA, MAIN, REPO, parse, resource_body, resources_of_type

ROLES = INFRA / "modules" / "roles-resources.bicep"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"


def test_archive_readers_get_blob_reader_on_the_archive_container_only() -> None:
    doc = parse(ROLES)
    assert doc["parameters"]["archiveReaderPrincipalIds"]["default"] == ""
    container = doc["resources"]["archiveContainer"]
    assert container["type"] == "Microsoft.Storage/storageAccounts/blobServices/containers"
    assert resource_body(container)["name"] == "archiveContainerName"
    text = ROLES.read_text(encoding="utf-8")
    block = text[text.index("resource archiveReaders") :]
    assert "scope: archiveContainer\n" in block and "storageBlobDataReader" in block
    assert f"var storageBlobDataReader = '{STORAGE_BLOB_DATA_READER}'" in text
    assert "if (!empty(trim(reader)))" in block  # "a,,b" and "" assign nothing for the empty items


def test_main_passes_the_readers_and_the_archive_container() -> None:
    main = parse(MAIN)
    assert main["parameters"]["archiveReaderPrincipalIds"]["default"] == ""
    text = MAIN.read_text(encoding="utf-8")
    roles = text[text.index("module resourceRoles") : text.index("module subscriptionRoles")]
    assert "archiveReaderPrincipalIds: archiveReaderPrincipalIds" in roles
    assert "archiveContainerName: storage.outputs.archiveContainerName" in roles


def test_both_system_topic_variants() -> None:
    main = parse(MAIN)
    for name in ("existingSystemTopicName", "existingSystemTopicResourceGroup"):
        assert main["parameters"][name]["default"] == ""
    text = MAIN.read_text(encoding="utf-8")
    # New topic unless one is named; the named one is only referenced (existing), never created or changed.
    assert "module systemTopic 'modules/systemtopic.bicep' = if (!reuseSystemTopic)" in text
    existing = resources_of_type(main, "Microsoft.EventGrid/systemTopics")
    assert list(existing) == ["existingTopic"] and existing["existingTopic"].get("existing") is True
    # Event subscriptions and the dead-letter role follow the topic actually used.
    events = text[text.index("module events") :]
    assert "scope: resourceGroup(topicResourceGroupName)" in events
    assert "systemTopicName: topicName" in events and "monitorResourceGroupName: rg.name" in events
    assert "topicPrincipalId: topicPrincipalId" in text
    assert "existingTopic.identity.principalId" in text
    assert set(main["outputs"]) >= {"EVENTGRID_SYSTEM_TOPIC_NAME", "EVENTGRID_SYSTEM_TOPIC_RESOURCE_GROUP"}


def test_event_subscriptions_find_the_monitor_in_its_own_group() -> None:
    doc = parse(EVENT_GRID)
    assert "monitorResourceGroupName" in doc["parameters"]
    text = EVENT_GRID.read_text(encoding="utf-8")
    for name in ("resource app ", "resource storage "):
        block = text[text.index(name) : text.index("}", text.index(name))]
        assert "scope: resourceGroup(monitorResourceGroupName)" in block, name


def test_preprovision_hook_reuses_an_existing_topic() -> None:
    hooks = yaml.safe_load((REPO / "azure.yaml").read_text(encoding="utf-8"))["hooks"]["preprovision"]
    for platform in ("posix", "windows"):
        text = (REPO / hooks[platform]["run"]).read_text(encoding="utf-8")
        assert "EXISTING_SYSTEM_TOPIC_NAME" in text and "EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP" in text
        assert "--identity systemassigned" in text  # says how to give the topic the identity it needs


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_preprovision_hook_finds_the_topic_and_sets_the_parameters(tmp_path) -> None:
    """The hook run with stand-ins for az and azd on PATH: it picks the subscription's topic, not the monitor's."""
    sub = "00000000-0000-0000-0000-000000000001"
    calls = tmp_path / "azd-calls"
    (tmp_path / "az").write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        '  "account show") exit 0 ;;\n'
        f'  "eventgrid system-topic") printf "evgt-aibmon-x\\trg-mon\\t/subscriptions/{sub}\\tSystemAssigned\\n'
        f'defender-topic\\trg-security\\t/subscriptions/{sub}\\tSystemAssigned\\n" ;;\n'
        "esac\n"
    )
    (tmp_path / "azd").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    for tool in ("az", "azd"):
        (tmp_path / tool).chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "AZURE_SUBSCRIPTION_ID": sub, "AZURE_RESOURCE_GROUP": "rg-mon"}
    proc = subprocess.run(
        ["sh", str(INFRA / "hooks" / "preprovision.sh")], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert calls.read_text().splitlines() == [
        "env set EXISTING_SYSTEM_TOPIC_NAME defender-topic",
        "env set EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP rg-security",
    ]
    assert "defender-topic" in proc.stdout

"""infra/ type-checks as the Bicep compiler would check it: every resource body against the published Azure
resource types (tests/infra/types/, pruned from Azure/bicep-types-az), and planted errors are caught.

The planted errors are made in copies of each file at places the checker itself found in the original: the
deepest property it recognised gets a typo, a closed-enum value it accepted becomes a value outside the enum
(or, where the file writes none, a closed-enum property is added with such a value), and a required property
it saw is removed. Each must come back as a finding of that kind at that property.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from tests.infra.azure_types import TYPES_DIR, TypeLibrary, source_hint
from tests.infra.bicep import INFRA, REPO, bicep_files
from tests.infra.findings import (
    MISSING_REQUIRED,
    NO_TYPES,
    NOT_ALLOWED,
    NOT_CONSTANT,
    OUT_OF_RANGE,
    READ_ONLY_SET,
    UNKNOWN_PROPERTY,
    WRONG_TYPE,
    Finding,
)
from tests.infra.typecheck import CheckResult, Site, check_bicep

LIBRARY = TypeLibrary()
BAD_ENUM = "NotAnAllowedValue"


def _shown(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


@functools.cache
def _check(path: Path) -> CheckResult:
    return check_bicep(LIBRARY, path, shown_path=_shown(path))


def _files_declaring_resources() -> list[Path]:
    return [path for path in bicep_files() if any(site.kind == "key" for site in _check(path).sites)]


FILE_IDS = {"ids": lambda path: path.relative_to(INFRA).as_posix()}


@pytest.mark.parametrize("path", bicep_files(), **FILE_IDS)
def test_every_resource_type_has_published_types(path: Path) -> None:
    missing = [
        f"{symbol} (line {line}): {type_and_version}: add its types from {source_hint(type_and_version)} "
        "to tests/infra/types/ (see SOURCES.md there)"
        for symbol, type_and_version, line in _check(path).resource_types
        if LIBRARY.body(type_and_version) is None
    ]
    assert missing == []


@pytest.mark.parametrize("path", bicep_files(), **FILE_IDS)
def test_infra_type_checks_clean(path: Path) -> None:
    assert [str(finding) for finding in _check(path).findings] == []


@pytest.mark.parametrize("path", bicep_files(), **FILE_IDS)
def test_every_type_exception_says_why_and_is_used(path: Path) -> None:
    result = _check(path)
    for skip in result.skips:
        assert "https://" in skip.reason and len(skip.reason) >= 40, (
            f"{skip.file}:{skip.line}: skip of {skip.where} needs a reason and the doc link that shows it"
        )
    assert [f"{s.file}:{s.line}: {s.resource} {s.where}" for s in result.unused_skips()] == []


def test_every_types_file_is_in_sources() -> None:
    sources = (TYPES_DIR / "SOURCES.md").read_text(encoding="utf-8")
    files = sorted(TYPES_DIR.glob("*.json"))
    assert files
    assert [f.name for f in files if f"`{f.name}`" not in sources] == []


def test_all_resource_types_of_infra_are_checked() -> None:
    declared = {t.lower() for path in bicep_files() for _, t, _ in _check(path).resource_types}
    assert len(declared) >= 14
    assert all(LIBRARY.body(t) is not None for t in declared)


# -- planted errors ---------------------------------------------------------------------------------------


def _planted(tmp_path: Path, path: Path, text: str) -> CheckResult:
    copy = tmp_path / path.name
    copy.write_text(text, encoding="utf-8")
    return check_bicep(LIBRARY, copy, shown_path=_shown(path))


def _matching(findings: list[Finding], kind: str, where: str, line: int | None = None) -> list[Finding]:
    return [f for f in findings if f.kind == kind and f.where == where and (line is None or f.line == line)]


def _deepest(sites: list[Site]) -> Site:
    return max(sites, key=lambda site: (site.where.count("."), site.where.count("[]"), -site.line))


@pytest.mark.parametrize("path", _files_declaring_resources(), **FILE_IDS)
def test_planted_typo_is_reported(tmp_path: Path, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    site = _deepest([s for s in _check(path).sites if s.kind == "key"])
    key = text[site.start:site.end]
    typo = key[: len(key) // 2] + key[len(key) // 2 + 1:]
    result = _planted(tmp_path, path, text[:site.start] + typo + text[site.end:])
    typo_path = site.where.rsplit(".", 1)[0] + "." + typo if "." in site.where else typo
    assert _matching(result.findings, UNKNOWN_PROPERTY, typo_path, site.line), (
        f"typo {key!r} -> {typo!r} at line {site.line} not reported: {[str(f) for f in result.findings]}"
    )


@pytest.mark.parametrize("path", _files_declaring_resources(), **FILE_IDS)
def test_planted_bad_enum_is_reported(tmp_path: Path, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    sites = _check(path).sites
    written = [s for s in sites if s.kind == "enum"]
    slots = [s for s in sites if s.kind == "enum-slot"]
    if written:
        site, line = written[0], written[0].line
        planted = text[:site.start] + f"'{BAD_ENUM}'" + text[site.end:]
    elif slots:
        site = slots[0]
        *objects, last = site.keys
        insert = "".join(f"\n{key}: {{" for key in objects) + f"\n{last}: '{BAD_ENUM}'\n" + "}\n" * len(objects)
        planted, line = text[:site.start] + insert + text[site.start:], site.line + len(site.keys)
    else:
        types = sorted({t for _, t, _ in _check(path).resource_types})
        pytest.skip(f"the published types of {', '.join(types)} have no closed enum this file could set")
    result = _planted(tmp_path, path, planted)
    assert _matching(result.findings, NOT_ALLOWED, site.where, line), (
        f"{BAD_ENUM!r} for {site.where} (line {line}) not reported: {[str(f) for f in result.findings]}"
    )


@pytest.mark.parametrize("path", _files_declaring_resources(), **FILE_IDS)
def test_planted_missing_required_is_reported(tmp_path: Path, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    required = [s for s in _check(path).sites if s.kind == "required"]
    site = _deepest([s for s in required if s.where != "name"] or required)
    result = _planted(tmp_path, path, text[:site.start] + text[site.end:])
    found = _matching(result.findings, MISSING_REQUIRED, site.where)
    assert found and all(0 < f.line <= site.line for f in found), (
        f"removing {site.where} (line {site.line}) not reported: {[str(f) for f in result.findings]}"
    )


# -- what the checker knows about expressions and types, on small files -----------------------------------

STORAGE = "'Microsoft.Storage/storageAccounts@2023-05-01'"


def _findings(tmp_path: Path, bicep: str) -> list[tuple[str, str, int]]:
    path = tmp_path / "case.bicep"
    path.write_text(bicep, encoding="utf-8")
    return [(f.kind, f.where, f.line) for f in check_bicep(LIBRARY, path).findings]


def test_literal_of_the_wrong_kind_and_read_only_property(tmp_path: Path) -> None:
    bicep = f"""resource account {STORAGE} = {{
  name: 'acct'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {{
    name: 'Standard_LRS'
  }}
  properties: {{
    supportsHttpsTrafficOnly: 'yes'
    provisioningState: 'Succeeded'
  }}
}}
"""
    assert _findings(tmp_path, bicep) == [
        (WRONG_TYPE, "properties.supportsHttpsTrafficOnly", 9),
        (READ_ONLY_SET, "properties.provisioningState", 10),
    ]


def test_parameter_types_allowed_values_and_bounds_flow_into_properties(tmp_path: Path) -> None:
    bicep = f"""@allowed([
  'Hot'
  'Lukewarm'
])
param tier string
@minValue(1)
@maxValue(400)
param days int
param flag bool
var action = flag ? 'Allow' : 'Perhaps'

resource account {STORAGE} = {{
  name: 'acct'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {{
    name: 'Standard_LRS'
  }}
  properties: {{
    accessTier: tier
    networkAcls: {{
      defaultAction: action
    }}
    allowBlobPublicAccess: flag
    isHnsEnabled: days
  }}
}}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {{
  parent: account
  name: 'default'
  properties: {{
    deleteRetentionPolicy: {{
      days: days
    }}
  }}
}}
"""
    assert _findings(tmp_path, bicep) == [
        (NOT_ALLOWED, "properties.networkAcls.defaultAction", 10),
        (NOT_ALLOWED, "properties.accessTier", 20),
        (WRONG_TYPE, "properties.isHnsEnabled", 25),
        (OUT_OF_RANGE, "properties.deleteRetentionPolicy.days", 34),
    ]


def test_discriminated_objects_take_the_branch_their_discriminator_names(tmp_path: Path) -> None:
    bicep = """resource sub 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  name: 'topic/sub'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: 'x'
        containerName: 'c'
      }
    }
    filter: {
      advancedFilters: [
        {
          operatorType: 'StringSometimes'
          key: 'data.operationName'
        }
      ]
    }
  }
}
"""
    assert _findings(tmp_path, bicep) == [
        (UNKNOWN_PROPERTY, "properties.destination.properties.containerName", 8),
        (NOT_ALLOWED, "properties.filter.advancedFilters[].operatorType", 14),
    ]


def test_existing_resources_and_unknown_types(tmp_path: Path) -> None:
    bicep = f"""resource account {STORAGE} existing = {{
  name: 'acct'
  location: 'westeurope'
}}

resource other 'Microsoft.Contoso/widgets@2030-01-01' = {{
  name: 'w'
}}
"""
    assert _findings(tmp_path, bicep) == [(UNKNOWN_PROPERTY, "location", 3), (NO_TYPES, "", 6)]


def test_a_skip_comment_moves_a_finding_aside(tmp_path: Path) -> None:
    path = tmp_path / "case.bicep"
    path.write_text("""resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  // typecheck:skip=properties.newSetting:published types lag the service, see https://learn.microsoft.com/x
  name: 'rg'
  location: 'westeurope'
  properties: {
    newSetting: true
  }
}
""", encoding="utf-8")
    result = check_bicep(LIBRARY, path)
    assert result.findings == []
    assert [(f.kind, f.where) for f in result.skipped] == [(UNKNOWN_PROPERTY, "properties.newSetting")]
    assert result.unused_skips() == []


def test_values_passed_to_a_module_are_checked_against_its_parameters(tmp_path: Path) -> None:
    (tmp_path / "mod.bicep").write_text("""@allowed([
  'Standard_LRS'
  'Standard_GRS'
])
param sku string
@minValue(1)
@maxValue(30)
param days int
param enabled bool
param label string
""", encoding="utf-8")
    bicep = """@allowed([
  'Standard_LRS'
  'Premium_LRS'
])
param storageSku string
@minValue(1)
@maxValue(90)
param retention int

module first 'mod.bicep' = {
  name: 'first'
  params: {
    sku: storageSku
    days: retention
    enabled: 'yes'
    label: 'fine'
  }
}

module second 'mod.bicep' = {
  name: 'second'
  params: {
    sku: 'Standard_GRS'
    days: 31
    enabled: true
    label: 42
  }
}
"""
    assert _findings(tmp_path, bicep) == [
        (NOT_ALLOWED, "params.sku", 13),
        (OUT_OF_RANGE, "params.days", 14),
        (WRONG_TYPE, "params.enabled", 15),
        (OUT_OF_RANGE, "params.days", 24),
        (WRONG_TYPE, "params.label", 26),
    ]


def test_names_must_be_known_before_deployment(tmp_path: Path) -> None:
    (tmp_path / "mod.bicep").write_text("output name string = 'x'\n", encoding="utf-8")
    bicep = f"""module names 'mod.bicep' = {{
  name: 'names'
}}

resource account {STORAGE} existing = {{
  name: names.outputs.name
}}

var principal = account.identity.principalId

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {{
  name: guid(account.id, principal)
  scope: account
  properties: {{
    roleDefinitionId: 'r'
    principalId: principal
  }}
}}

resource fine 'Microsoft.Authorization/roleAssignments@2022-04-01' = {{
  name: guid(account.id, account.name, 'reader')
  properties: {{
    roleDefinitionId: 'r'
    principalId: principal
  }}
}}
"""
    assert _findings(tmp_path, bicep) == [(NOT_CONSTANT, "name", 6), (NOT_CONSTANT, "name", 12)]


def test_nested_resources_take_their_type_from_the_parent(tmp_path: Path) -> None:
    bicep = f"""resource account {STORAGE} = {{
  name: 'acct'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {{
    name: 'Standard_LRS'
  }}

  resource blobs 'blobServices' = {{
    name: 'default'
    properties: {{
      deleteRetentionPolicy: {{
        enabled: true
        dayz: 7
      }}
    }}
  }}
}}
"""
    assert _findings(tmp_path, bicep) == [(UNKNOWN_PROPERTY, "properties.deleteRetentionPolicy.dayz", 14)]


def test_property_access_on_resources_and_modules(tmp_path: Path) -> None:
    (tmp_path / "mod.bicep").write_text("output blobEndpoint string = 'x'\n", encoding="utf-8")
    bicep = f"""module storage 'mod.bicep' = {{
  name: 'storage'
}}

resource account {STORAGE} existing = {{
  name: 'acct'
}}

output endpoint string = account.properties.primaryEndpoints.blob
output typo string = account.properties.primaryEndpoint.blob
output principal string = account.identity.principalId
output missingOutput string = storage.outputs.blobEndpont
output fine string = storage.outputs.blobEndpoint
output rule string = account.properties.networkAcls.ipRules[0].vaule
"""
    assert _findings(tmp_path, bicep) == [
        (UNKNOWN_PROPERTY, "account.properties.primaryEndpoint", 10),
        (UNKNOWN_PROPERTY, "storage.outputs.blobEndpont", 12),
        (UNKNOWN_PROPERTY, "account.properties.networkAcls.ipRules[].vaule", 14),
    ]

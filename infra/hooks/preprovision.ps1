# azd preprovision hook (Windows): same as preprovision.sh - reuse the subscription's Event Grid system topic when
# it already has one (Azure allows one per source), by saving EXISTING_SYSTEM_TOPIC_NAME and
# EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP in the azd environment.
$ErrorActionPreference = 'Stop'

if ($env:EXISTING_SYSTEM_TOPIC_NAME) {
    Write-Host "Event Grid: using the existing system topic $($env:EXISTING_SYSTEM_TOPIC_NAME) ($($env:EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP))."
    exit 0
}
$signedIn = $false
if (Get-Command az -ErrorAction SilentlyContinue) {
    az account show --output none 2>$null
    $signedIn = ($LASTEXITCODE -eq 0)
}
if (-not $signedIn) {
    Write-Host 'Event Grid: Azure CLI not signed in, so an existing system topic cannot be looked for. If provisioning'
    Write-Host 'fails because the subscription already has one, run: azd env set EXISTING_SYSTEM_TOPIC_NAME <name>;'
    Write-Host 'azd env set EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP <resource group>; then azd up again.'
    exit 0
}

$sub = $env:AZURE_SUBSCRIPTION_ID
$own = if ($env:AZURE_RESOURCE_GROUP) { $env:AZURE_RESOURCE_GROUP } elseif ($env:AZURE_RESOURCE_GROUP_NAME) { $env:AZURE_RESOURCE_GROUP_NAME } else { "rg-$($env:AZURE_ENV_NAME)" }
$topics = az eventgrid system-topic list --subscription $sub --output json | ConvertFrom-Json
$found = $topics | Where-Object { $_.source -ieq "/subscriptions/$sub" -and $_.resourceGroup -ine $own } | Select-Object -First 1
if (-not $found) { exit 0 }

Write-Host "Event Grid: this subscription already has the system topic $($found.name) (resource group $($found.resourceGroup)); Azure allows"
Write-Host 'only one, so the monitor''s event subscriptions are added to it:'
Write-Host "  azd env set EXISTING_SYSTEM_TOPIC_NAME $($found.name)"
Write-Host "  azd env set EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP $($found.resourceGroup)"
azd env set EXISTING_SYSTEM_TOPIC_NAME $found.name
azd env set EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP $found.resourceGroup
if (-not ($found.identity -and $found.identity.type -like '*SystemAssigned*')) {
    Write-Host 'The topic has no system-assigned identity, which dead-lettering needs. Turn it on (it changes nothing else):'
    Write-Host "  az eventgrid system-topic update --name $($found.name) --resource-group $($found.resourceGroup) --identity systemassigned"
    throw 'then run azd up again.'
}

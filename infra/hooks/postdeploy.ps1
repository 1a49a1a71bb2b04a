# azd postdeploy hook (Windows): same as postdeploy.sh - create the Event Grid subscription to the
# `on_resource_event` function now that the code is deployed (Event Grid requires the function to exist).
$ErrorActionPreference = 'Stop'

foreach ($name in 'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME',
                  'AZURE_STORAGE_ACCOUNT_NAME', 'EVENTGRID_SYSTEM_TOPIC_NAME', 'EVENTGRID_SYSTEM_TOPIC_RESOURCE_GROUP') {
    if (-not [Environment]::GetEnvironmentVariable($name)) { throw "$name is missing: run azd provision first" }
}
$deadLetter = if ($env:DEAD_LETTER_CONTAINER) { $env:DEAD_LETTER_CONTAINER } else { 'eventgrid-deadletter' }

azd env set DEPLOY_EVENT_SUBSCRIPTION true
if ($LASTEXITCODE -ne 0) { throw 'azd env set failed' }

$template = Join-Path $PSScriptRoot '..' 'eventgrid.bicep'
$useAz = $false
if (Get-Command az -ErrorAction SilentlyContinue) {
    az account show --output none 2>$null
    $useAz = ($LASTEXITCODE -eq 0)
}

for ($attempt = 1; $attempt -le 5; $attempt++) {
    if ($useAz) {
        Write-Host "Creating the Event Grid subscription (az deployment group create, attempt $attempt)..."
        az deployment group create `
            --subscription $env:AZURE_SUBSCRIPTION_ID `
            --resource-group $env:EVENTGRID_SYSTEM_TOPIC_RESOURCE_GROUP `
            --name aibmon-eventgrid `
            --template-file $template `
            --parameters systemTopicName=$env:EVENTGRID_SYSTEM_TOPIC_NAME `
                         monitorResourceGroupName=$env:AZURE_RESOURCE_GROUP `
                         functionAppName=$env:AZURE_FUNCTION_APP_NAME `
                         storageAccountName=$env:AZURE_STORAGE_ACCOUNT_NAME `
                         deadLetterContainerName=$deadLetter `
            --output none
    } else {
        Write-Host "Azure CLI not signed in; creating the Event Grid subscription with azd provision (attempt $attempt)..."
        azd provision --no-prompt
    }
    if ($LASTEXITCODE -eq 0) {
        Write-Host "Event Grid subscription to $($env:AZURE_FUNCTION_APP_NAME)/functions/on_resource_event is in place."
        exit 0
    }
    if ($attempt -lt 5) { Write-Host 'Retrying in 30 s (the function may not be indexed yet)...'; Start-Sleep -Seconds 30 }
}
throw 'Could not create the Event Grid subscription. The timer sweep still runs; retry with: azd provision'

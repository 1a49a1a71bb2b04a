// AIB build monitor: everything it needs in one subscription-scope deployment.
//   azd up                                   (provision + deploy code + Event Grid subscription, see azure.yaml)
//   az deployment sub create -f infra/main.bicep ...   (README "Deploy" has the step-by-step alternative)
//
// Creates: a resource group; a storage account (Functions runtime + log archive, identity access only);
// Log Analytics + Application Insights with a workbook over the run outcomes; a Flex Consumption function app
// (Python 3.11, system-assigned identity);
// a Key Vault (RBAC) for the webhook URLs; the subscription's Event Grid system topic (or, with
// existingSystemTopicName, the one the subscription already has); least-privilege role
// assignments (modules/roles-*.bicep say why each one exists); and, once the code is deployed, the Event Grid
// subscription to the function (eventgrid.bicep).

targetScope = 'subscription'

@description('Name of the environment (azd: AZURE_ENV_NAME). Used in resource names and tags.')
@minLength(1)
@maxLength(40)
param environmentName string

@description('Azure region for the resources (must offer the Flex Consumption plan).')
param location string

@description('Resource group to create; default rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of the deploying user or pipeline (azd: AZURE_PRINCIPAL_ID). Gets Key Vault Secrets Officer on the vault so it can store the webhook URLs. Empty: no assignment.')
param principalId string = ''

@description('Tags for every resource.')
param tags object = {}

// --- Storage --------------------------------------------------------------------------------------------------

@description('Days archived logs are kept (cool tier after 30 days, deleted after this many).')
@minValue(31)
param retentionDays int = 365

@description('Replication of the runtime + archive storage account (geo-redundant by default: the archive must survive).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_GRS'

@description('Blob container for archived logs and run records (setting ARCHIVE_CONTAINER).')
param archiveContainerName string = 'aib-logs'

@description('Days Log Analytics keeps the function\'s logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Users or groups (object ids, comma-separated) who may read archived logs: Storage Blob Data Reader on the archive container only. Empty: nobody but the app.')
param archiveReaderPrincipalIds string = ''

// --- Function app -----------------------------------------------------------------------------------------------

@description('Flex Consumption: most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Flex Consumption: memory per instance (MB).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// --- Monitor settings (app settings; names and meaning in monitor/settings.py and the README) -------------------

@description('STAGING_LOG_AUTH: aad = read staging logs with the identity (Storage Blob Data Reader, default); key = through listKeys (adds a custom listKeys role).')
@allowed([
  'aad'
  'key'
])
param stagingLogAuth string = 'aad'

@description('STUCK_AFTER_MINUTES: a running build whose log has not grown for this long is stuck.')
param stuckAfterMinutes string = '30'

@description('TIMEOUT_GRACE_MINUTES: minutes past buildTimeoutInMinutes before a running build counts as stuck.')
param timeoutGraceMinutes string = '15'

@description('SWEEP_SCHEDULE: NCRONTAB (6 fields) of the timer sweep.')
param sweepSchedule string = '0 */5 * * * *'

@description('TEMPLATE_FILTER: which templates to watch, e.g. "rg:images-*,tag:monitor=yes"; empty = all.')
param templateFilter string = ''

@description('DIAGNOSIS_RULES: extra knowledge-base files shipped with the app (paths relative to the app root, separated by ":").')
param diagnosisRules string = ''

@description('TEAMS_WEBHOOK_FORMAT: workflows (Teams Workflows / Power Automate, default) or messagecard (legacy connector).')
@allowed([
  'workflows'
  'messagecard'
])
param teamsWebhookFormat string = 'workflows'

@description('EMAIL_TO: recipients for the email webhook (comma-separated); required when emailWebhookInVault is true.')
param emailTo string = ''

@description('STUCK_REPEAT_HOURS: repeat a still-stuck alert this often.')
param stuckRepeatHours string = '4'

@description('SWEEP_BUDGET_MINUTES: a sweep starts and waits for no template after this (well under functionTimeout).')
param sweepBudgetMinutes string = '5'

@description('ALERT_MIN_SEVERITY: info, warning, error or critical.')
@allowed([
  'info'
  'warning'
  'error'
  'critical'
])
param alertMinSeverity string = 'info'

@description('ALERT_MUTE_CATEGORIES: diagnosis category ids not to alert on (comma-separated).')
param alertMuteCategories string = ''

@description('ALERT_ROUTES: per-team alert routes (JSON, or @path to a JSON file shipped with the app); channels name the app settings that hold their URLs. Empty: every alert goes to the default channels.')
param alertRoutes string = ''

@description('ALERT_GROUP_WINDOW_MINUTES: failures with one cause across templates within this many minutes become one alert (sent when the window closes); 0 = off.')
param alertGroupWindowMinutes string = '0'
@description('ALERT_LANGUAGE: the language of every alert text, en or ru.')
@allowed([
  'en'
  'ru'
])
param alertLanguage string = 'en'

@description('Set to true once the secret teams-webhook-url is in the vault: TEAMS_WEBHOOK_URL then references it.')
param teamsWebhookInVault bool = false

@description('Set to true once the secret email-webhook-url is in the vault: EMAIL_WEBHOOK_URL then references it.')
param emailWebhookInVault bool = false

@description('Set to true once the secret alert-webhook-url is in the vault: ALERT_WEBHOOK_URL then references it.')
param alertWebhookInVault bool = false

// --- Event Grid -------------------------------------------------------------------------------------------------

@description('Name of an Event Grid system topic the subscription already has for Microsoft.Resources.Subscriptions (Azure allows one per source). Set with existingSystemTopicResourceGroup: the event subscriptions are added to that topic and none is created. Empty: create one.')
param existingSystemTopicName string = ''

@description('Resource group of existingSystemTopicName.')
param existingSystemTopicResourceGroup string = ''

@description('Create the Event Grid subscription to the function. Only after the code is deployed (the function must exist); the azd postdeploy hook sets it.')
param deployEventSubscription bool = false

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var allTags = union(tags, {
  'azd-env-name': environmentName
  application: 'aib-build-monitor'
})
var rgName = empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
var reuseSystemTopic = !empty(existingSystemTopicName)
var topicResourceGroupName = reuseSystemTopic ? existingSystemTopicResourceGroup : rgName

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
  tags: allTags
}

module storage 'modules/storage.bicep' = {
  name: 'aibmon-storage'
  scope: rg
  params: {
    name: 'staibmon${resourceToken}'
    location: location
    tags: allTags
    skuName: storageSku
    archiveContainerName: archiveContainerName
    retentionDays: retentionDays
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'aibmon-monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-aibmon-${resourceToken}'
    applicationInsightsName: 'appi-aibmon-${resourceToken}'
    location: location
    tags: allTags
    logRetentionDays: logRetentionDays
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'aibmon-workbook'
  scope: rg
  params: {
    location: location
    tags: allTags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'aibmon-keyvault'
  scope: rg
  params: {
    name: 'kv-aibmon-${resourceToken}'
    location: location
    tags: allTags
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'aibmon-functionapp'
  scope: rg
  params: {
    name: 'func-aibmon-${resourceToken}'
    planName: 'plan-aibmon-${resourceToken}'
    location: location
    tags: allTags
    storageAccountName: storage.outputs.name
    storageAccountId: storage.outputs.id
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    archiveContainerName: archiveContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultName: keyVault.outputs.name
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    stagingLogAuth: stagingLogAuth
    stuckAfterMinutes: stuckAfterMinutes
    timeoutGraceMinutes: timeoutGraceMinutes
    sweepSchedule: sweepSchedule
    templateFilter: templateFilter
    diagnosisRules: diagnosisRules
    teamsWebhookFormat: teamsWebhookFormat
    emailTo: emailTo
    stuckRepeatHours: stuckRepeatHours
    sweepBudgetMinutes: sweepBudgetMinutes
    alertMinSeverity: alertMinSeverity
    alertMuteCategories: alertMuteCategories
    alertRoutes: alertRoutes
    alertGroupWindowMinutes: alertGroupWindowMinutes
    alertLanguage: alertLanguage
    teamsWebhookInVault: teamsWebhookInVault
    emailWebhookInVault: emailWebhookInVault
    alertWebhookInVault: alertWebhookInVault
  }
}

module systemTopic 'modules/systemtopic.bicep' = if (!reuseSystemTopic) {
  name: 'aibmon-systemtopic'
  scope: rg
  params: {
    name: 'evgt-aibmon-${resourceToken}'
    tags: allTags
  }
}

// The subscription's own system topic when it already has one: it must have a system-assigned identity, which
// dead-letters undeliverable events (the postdeploy hook checks and says how to turn it on).
resource existingTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = if (reuseSystemTopic) {
  name: existingSystemTopicName
  scope: resourceGroup(topicResourceGroupName)
}

var topicName = reuseSystemTopic ? existingSystemTopicName : systemTopic.outputs.name
var topicPrincipalId = reuseSystemTopic ? existingTopic.identity.principalId : systemTopic.outputs.principalId

module resourceRoles 'modules/roles-resources.bicep' = {
  name: 'aibmon-roles-resources'
  scope: rg
  params: {
    functionPrincipalId: functionApp.outputs.principalId
    topicPrincipalId: topicPrincipalId
    deployerPrincipalId: principalId
    storageAccountName: storage.outputs.name
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    archiveContainerName: storage.outputs.archiveContainerName
    archiveReaderPrincipalIds: archiveReaderPrincipalIds
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module subscriptionRoles 'modules/roles-subscription.bicep' = {
  name: 'aibmon-roles-subscription'
  params: {
    functionPrincipalId: functionApp.outputs.principalId
    stagingLogAuth: stagingLogAuth
  }
}

module events 'eventgrid.bicep' = if (deployEventSubscription) {
  name: 'aibmon-eventgrid'
  scope: resourceGroup(topicResourceGroupName)
  params: {
    systemTopicName: topicName
    monitorResourceGroupName: rg.name
    functionAppName: functionApp.outputs.name
    storageAccountName: storage.outputs.name
    deadLetterContainerName: storage.outputs.deadLetterContainerName
  }
  dependsOn: [
    resourceRoles
  ]
}

// azd stores these in .azure/<env>/.env; the postdeploy hook and the README commands use them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output ARCHIVE_STORAGE_URL string = storage.outputs.blobEndpoint
output ARCHIVE_CONTAINER string = storage.outputs.archiveContainerName
output DEAD_LETTER_CONTAINER string = storage.outputs.deadLetterContainerName
output EVENTGRID_SYSTEM_TOPIC_NAME string = topicName
output EVENTGRID_SYSTEM_TOPIC_RESOURCE_GROUP string = topicResourceGroupName
output FUNCTION_PRINCIPAL_ID string = functionApp.outputs.principalId
output AZURE_WORKBOOK_URL string = '${environment().portal}/#@${tenant().tenantId}/resource${workbook.outputs.id}/workbook'

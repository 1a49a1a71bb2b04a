// The monitor's Function App on the Flex Consumption plan (Linux, Python 3.11), with a system-assigned identity
// that every Azure call uses: AzureWebJobsStorage, the deployment package, Application Insights, Key Vault
// references and the monitor's own ARM and storage calls. No keys or connection strings anywhere.

param name string

param planName string

param location string

param tags object = {}

@description('azd service name (azure.yaml) this app hosts; azd finds the app by this tag.')
param serviceName string = 'monitor'

param storageAccountName string

@description('Resource id of the archive account (alert links open archived logs in the Azure portal).')
param storageAccountId string

param storageBlobEndpoint string

param deploymentContainerName string

param archiveContainerName string

param applicationInsightsConnectionString string

param keyVaultName string

@description('Largest number of instances the plan scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance (MB).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Monitor settings (monitor/settings.py). Values are strings; empty means "use the default".')
param stagingLogAuth string
param stuckAfterMinutes string
param timeoutGraceMinutes string
param sweepSchedule string
param templateFilter string
param diagnosisRules string
param teamsWebhookFormat string
param emailTo string
param stuckRepeatHours string
param sweepBudgetMinutes string
param alertMinSeverity string
param alertMuteCategories string
param alertLanguage string

param alertRoutes string = ''

param alertGroupWindowMinutes string = '0'

@description('Which webhook URLs are in the vault (secrets teams-webhook-url, email-webhook-url, alert-webhook-url).')
param teamsWebhookInVault bool = false
param emailWebhookInVault bool = false
param alertWebhookInVault bool = false

var kvPrefix = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName='

// The Functions runtime's own settings. Flex Consumption sets the runtime (functionAppConfig.runtime) and the
// package location (functionAppConfig.deployment) itself and rejects FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION and WEBSITE_RUN_FROM_PACKAGE, so they are not here.
var runtimeSettings = {
  // Host storage through the app's identity (no connection string): leases, timer schedule, host keys.
  AzureWebJobsStorage__accountName: storageAccountName
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // Telemetry is sent with the managed identity (local auth is off on the Application Insights resource).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
}

// The monitor's settings: exactly the names monitor/settings.py SETTING_NAMES reads that apply in Azure
// (tests/infra checks this). Not set here: ARCHIVE_CONNECTION_STRING (the account allows no shared keys; the
// archive is reached with the identity through ARCHIVE_STORAGE_URL) and ARCHIVE_DIR (the local-folder archive of
// CLI runs, used only when no storage is configured).
var monitorSettings = {
  AZURE_SUBSCRIPTION_ID: subscription().subscriptionId
  ARM_ENDPOINT: environment().resourceManager
  ARCHIVE_STORAGE_URL: storageBlobEndpoint
  ARCHIVE_CONTAINER: archiveContainerName
  ARCHIVE_STORAGE_ACCOUNT_ID: storageAccountId
  STAGING_LOG_AUTH: stagingLogAuth
  STUCK_AFTER_MINUTES: stuckAfterMinutes
  TIMEOUT_GRACE_MINUTES: timeoutGraceMinutes
  SWEEP_SCHEDULE: sweepSchedule
  TEMPLATE_FILTER: templateFilter
  DIAGNOSIS_RULES: diagnosisRules
  // Webhook URLs carry signatures: Key Vault references, resolved by the platform with the app's identity. A
  // reference to a secret that does not exist would arrive as the literal "@Microsoft.KeyVault(...)" text and
  // fail validation at start-up, so a reference is only set once the operator says the secret is in the vault.
  TEAMS_WEBHOOK_URL: teamsWebhookInVault ? '${kvPrefix}teams-webhook-url)' : ''
  TEAMS_WEBHOOK_FORMAT: teamsWebhookFormat
  EMAIL_WEBHOOK_URL: emailWebhookInVault ? '${kvPrefix}email-webhook-url)' : ''
  EMAIL_TO: emailTo
  ALERT_WEBHOOK_URL: alertWebhookInVault ? '${kvPrefix}alert-webhook-url)' : ''
  // With no webhook configured alerts are written as files; /tmp is the only writable folder on Flex
  // Consumption (and it is per instance and temporary), so configure a webhook for alerts anyone will see.
  ALERT_DIR: '/tmp/aib-alerts'
  STUCK_REPEAT_HOURS: stuckRepeatHours
  SWEEP_BUDGET_MINUTES: sweepBudgetMinutes
  ALERT_MIN_SEVERITY: alertMinSeverity
  ALERT_MUTE_CATEGORIES: alertMuteCategories
  ALERT_ROUTES: alertRoutes
  ALERT_GROUP_WINDOW_MINUTES: alertGroupWindowMinutes
  ALERT_LANGUAGE: alertLanguage
}

var appSettings = union(runtimeSettings, monitorSettings)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Zone redundancy on Flex Consumption exists only in some regions and needs zone-redundant storage; a monitor that sleeps between events and is backed up by a 5-minute sweep does not need it, and forcing it would make the deployment fail in most regions.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222:Event Grid delivers to the Event Grid trigger's webhook over the public endpoint (it cannot reach an app that only has a private endpoint); the webhook requires the extension's system key, and the app has no HTTP-triggered functions.
  // checkov:skip=CKV_AZURE_212:Flex Consumption has no fixed worker count (numberOfWorkers): it scales from zero per event, and a lost instance is replaced on the next event or timer tick.
  // checkov:skip=CKV_AZURE_213:Health check pings an HTTP path to route traffic between instances; the app serves no HTTP traffic (Event Grid webhook and timer only), so there is nothing to route.
  // checkov:skip=CKV_AZURE_17:The app's only HTTP caller is Event Grid delivering to the Event Grid trigger's webhook, authenticated by the extension's system key; Event Grid presents no client certificate, so requiring one would block every delivery. The app has no HTTP-triggered functions.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: 'SystemAssigned'
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [for setting in items(appSettings): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

output id string = app.id
output name string = app.name
output principalId string = app.identity.principalId
output defaultHostName string = app.properties.defaultHostName

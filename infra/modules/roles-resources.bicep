// Role assignments on the resources of the monitor's own resource group. Least privilege: each role is scoped to
// the one resource (or container) that needs it, and each says why.

@description('Principal id of the function app\'s system-assigned identity.')
param functionPrincipalId string

@description('Principal id of the Event Grid system topic\'s identity (dead-lettering).')
param topicPrincipalId string

@description('Optional: the deploying user or pipeline, allowed to write the webhook secrets into the vault.')
param deployerPrincipalId string = ''

param storageAccountName string

param deadLetterContainerName string

@description('Container of the archived logs (ARCHIVE_CONTAINER).')
param archiveContainerName string

@description('Users or groups (object ids, comma-separated) who may read the archive: Storage Blob Data Reader on its container only.')
param archiveReaderPrincipalIds string = ''

param keyVaultName string

param applicationInsightsName string

// Built-in role definition ids (the same in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageBlobDataReader = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

resource archiveContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: archiveContainerName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Function identity -> Storage Blob Data Owner on the runtime + archive account (this account only).
// Why: the Functions host keeps its state here through AzureWebJobsStorage__accountName (no keys): it creates its
// containers (azure-webjobs-hosts, azure-webjobs-secrets), takes blob leases for the timer's singleton lock and
// stores host keys; Flex Consumption reads the app package from the deployment container with this identity; the
// monitor writes archived logs, run records and the alert outbox with conditional writes, leases and blob index
// tags. Owner (not Contributor) because it is the role Functions documents for host storage and because setting
// blob index tags needs .../blobs/tags/write, which Storage Blob Data Contributor does not include. It also covers
// "Storage Blob Data Contributor on the archive account", which is therefore not assigned a second time.
resource functionBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    description: 'AIB monitor: Functions host storage, app package, log archive and run records (blob, this account only).'
  }
}

// Function identity -> Storage Table Data Contributor on the same account.
// Why: the Functions host writes its diagnostic events (AZFD* codes) to Table storage in AzureWebJobsStorage;
// without it the host logs AZFD0003 errors. The monitor itself uses no tables.
// No queue role: nothing here uses queues (the Event Grid trigger is pushed over HTTPS, the timer uses blob leases,
// there are no queue or blob triggers).
resource functionTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionPrincipalId, storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    description: 'AIB monitor: Functions host diagnostic events (table, this account only).'
  }
}

// Function identity -> Key Vault Secrets User on the vault (this vault only).
// Why: the platform resolves the TEAMS_WEBHOOK_URL / EMAIL_WEBHOOK_URL / ALERT_WEBHOOK_URL Key Vault references
// with the app's identity. Read-only on secret values; it cannot list, write or delete them.
resource functionSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, functionPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    description: 'AIB monitor: resolve the webhook URL Key Vault references.'
  }
}

// Function identity -> Monitoring Metrics Publisher on the Application Insights component (this one only).
// Why: local (key) authentication is disabled on Application Insights; telemetry is sent with an Entra ID token
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD), which needs this role.
resource functionMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, functionPrincipalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    description: 'AIB monitor: send logs and traces to Application Insights with Entra ID auth.'
  }
}

// Event Grid system topic identity -> Storage Blob Data Contributor on the dead-letter container only.
// Why: events Event Grid could not deliver after all retries are written there (deadLetterWithResourceIdentity);
// the account allows no shared keys, so dead-lettering must use an identity. Scoped to one container.
resource topicDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, topicPrincipalId, storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: topicPrincipalId
    principalType: 'ServicePrincipal'
    description: 'AIB monitor: Event Grid dead-letters undeliverable events (this container only).'
  }
}

// Deployer -> Key Vault Secrets Officer on the vault (only when deployerPrincipalId is given; azd passes the
// signed-in user). Why: in RBAC mode even a subscription Owner cannot write secrets; this lets the person who
// deployed the monitor run `az keyvault secret set` for the webhook URLs (README "Deploy"). Remove it afterwards
// if you prefer; the monitor does not need it.
resource deployerSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(vault.id, deployerPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
    description: 'AIB monitor: the deployer may set the webhook URL secrets.'
  }
}

// archiveReaderPrincipalIds (people, groups) -> Storage Blob Data Reader on the archive container only.
// Why: the account has shared keys and public access off, so a person opens an archived log (the alert's "Archived
// log" button, the portal's storage browser, `az storage blob download --auth-mode login`) with Entra sign-in and
// this role. Scoped to the archive container: runtime state, the deployment package and dead letters stay closed.
resource archiveReaders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for reader in split(archiveReaderPrincipalIds, ','): if (!empty(trim(reader))) {
    name: guid(archiveContainer.id, trim(reader), storageBlobDataReader)
    scope: archiveContainer
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReader)
      principalId: trim(reader)
      description: 'AIB monitor: read archived build logs (this container only).'
    }
  }
]

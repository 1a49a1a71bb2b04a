// Role assignments at subscription scope for the monitor's identity: what it needs to watch every image template
// in the subscription and read the logs Image Builder leaves in its staging storage accounts.

targetScope = 'subscription'

@description('Principal id of the function app\'s system-assigned identity.')
param functionPrincipalId string

@description('aad: read staging logs with the identity (default). key: read them with the staging account\'s keys.')
@allowed([
  'aad'
  'key'
])
param stagingLogAuth string = 'aad'

@description('Name of the container Image Builder writes build logs to in each staging account.')
param stagingLogContainer string = 'packerlogs'

var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
var storageBlobDataReader = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'

// Reader on the subscription.
// Why: list and get image templates (provisioningState, lastRunStatus, runOutputs) across all resource groups,
// read the IT_ staging resource groups and their tags, find each staging storage account and its blob endpoint,
// and read the build container instance's logs while a build runs
// (Microsoft.ContainerInstance/containerGroups/containers/logs/read is a read action). Reader cannot change
// anything and grants no data-plane access.
resource subscriptionReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, functionPrincipalId, reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    description: 'AIB monitor: watch image templates, staging groups, staging accounts and build container logs.'
  }
}

// Storage Blob Data Reader on the subscription, limited by a condition to containers named packerlogs.
// Why: staging accounts are created by Image Builder in IT_ groups that do not exist yet at deployment time, so
// the role cannot be scoped to them; the subscription is the narrowest fixed scope. The condition (ABAC) lets the
// blob read data action through only in containers named `packerlogs`, so the identity cannot read any other blob
// in the subscription. The role also carries Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action
// (all Storage Blob Data roles include it), which the monitor uses to sign user-delegation SAS URLs for
// server-side copies of logs into the archive (Storage checks a user-delegation SAS against its signer's role
// assignments, so the SAS can never read more than the identity itself).
resource stagingLogReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (stagingLogAuth == 'aad') {
  name: guid(subscription().id, functionPrincipalId, storageBlobDataReader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReader)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    description: 'AIB monitor: read Image Builder build logs (packerlogs containers only).'
    conditionVersion: '2.0'
    condition: '((!(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read\'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals \'${stagingLogContainer}\'))'
  }
}

// STAGING_LOG_AUTH=key: a custom role with exactly Microsoft.Storage/storageAccounts/listkeys/action.
// Why: in key mode the monitor calls listKeys on each staging account and reads packerlogs with the key (for
// tenants where data-plane roles cannot be granted at subscription scope). The built-in "Storage Account Key
// Operator Service Role" would also allow regeneratekey/action, which can break Image Builder's own access, so
// it is not used. Be aware that an account key is full access to that account's data; this is why 'aad' is the
// default. An ABAC condition cannot narrow listKeys, so the role is the whole story in this mode.
resource listKeysRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (stagingLogAuth == 'key') {
  name: guid(subscription().id, 'aib-monitor-staging-listkeys')
  properties: {
    roleName: 'AIB monitor staging account key reader (${subscription().subscriptionId})'
    description: 'Lists the keys of storage accounts, to read Image Builder build logs in staging accounts (STAGING_LOG_AUTH=key).'
    type: 'CustomRole'
    assignableScopes: [
      subscription().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Storage/storageAccounts/listkeys/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

// Function identity -> the listKeys custom role above, on the subscription (only with STAGING_LOG_AUTH=key).
// Why: same as the role definition: staging accounts appear in new IT_ groups at build time, so no narrower
// fixed scope exists.
resource listKeysAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (stagingLogAuth == 'key') {
  name: guid(subscription().id, functionPrincipalId, 'aib-monitor-staging-listkeys')
  properties: {
    roleDefinitionId: listKeysRole.id
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    description: 'AIB monitor: list staging account keys to read build logs (STAGING_LOG_AUTH=key).'
  }
}

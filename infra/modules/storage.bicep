// Storage account for the Functions runtime (AzureWebJobsStorage, deployment packages) and the log archive.
// Identity access only: shared keys are off, so nothing in this account can be read with a key or an account SAS.

@description('Storage account name (3-24 lowercase letters and digits).')
param name string

param location string

param tags object = {}

@description('Container for archived logs, run records and alert outbox (setting ARCHIVE_CONTAINER).')
param archiveContainerName string = 'aib-logs'

@description('Container Event Grid dead-letters undeliverable events into.')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Container the Flex Consumption plan deploys the app package into.')
param deploymentContainerName string = 'app-package'

@description('Days after which archived blobs are deleted (they move to the cool tier after 30 days).')
@minValue(31)
param retentionDays int = 365

@description('Days deleted blobs and containers stay recoverable (soft delete).')
@minValue(1)
@maxValue(365)
param softDeleteDays int = 14

@description('Replication. Geo-redundant by default: the archive is what must survive. GZRS adds zone redundancy where the region offers it; LRS/ZRS are cheaper.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_GRS'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:The Flex Consumption app reaches its host storage and the archive over the public endpoint (no VNet integration here) and Functions is not a trusted service for the storage firewall, so defaultAction Deny would lock the app out. Shared keys are off: every request needs an Entra ID token and a data role.
  // checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: public network access is how the Functions host and the monitor reach this account without a VNet; access is by Entra ID identity only (allowSharedKeyAccess false, no public blobs).
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
  }
}

resource archiveContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: archiveContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Archived logs: block blobs go cool after 30 days and are deleted after retentionDays; append blobs (the tier
// actions do not apply to them) are only deleted. Old versions (every overwrite of a run record or a growing-log
// snapshot leaves one) are removed after 30 days so versioning does not double the bill.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'archive-block-blobs'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${archiveContainerName}/'
                '${deadLetterContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                tierToCool: {
                  daysAfterModificationGreaterThan: 30
                }
                delete: {
                  daysAfterModificationGreaterThan: retentionDays
                }
              }
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 30
                }
              }
            }
          }
        }
        {
          name: 'archive-append-blobs'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'appendBlob'
              ]
              prefixMatch: [
                '${archiveContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: retentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    archiveContainer
    deadLetterContainer
  ]
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output archiveContainerName string = archiveContainer.name
output deadLetterContainerName string = deadLetterContainer.name
output deploymentContainerName string = deploymentContainer.name

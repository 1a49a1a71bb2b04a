// Key Vault (RBAC mode) holding the alert webhook URLs: they carry signatures (sig=...), so they live here and the
// function app reads them through Key Vault references, never as plain app settings.
// The secrets themselves are added by the operator (README "Deploy"): this template never sees them.

param name string

param location string

param tags object = {}

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:The function app resolves Key Vault references over the public endpoint; Flex Consumption without VNet integration cannot pass a vault firewall (App Service is not a trusted service for references). Access is by Entra ID RBAC only.
  // checkov:skip=CKV_AZURE_189:Public network access stays on for the same reason as CKV_AZURE_109 (the app has no VNet to reach a private endpoint); every request needs an Entra ID token and a data-plane role.
  // checkov:skip=CKV_AZURE_110:Purge protection would block `azd down --purge` and a redeploy under the same name for up to 90 days; the vault holds only webhook URLs that can be regenerated, and soft delete (90 days) still protects them.
  // checkov:skip=CKV_AZURE_42:Recoverable means soft delete + purge protection. Soft delete is on; purge protection is off because it would block `azd down --purge` and a redeploy under the same name for up to 90 days, and the vault holds only webhook URLs that can be regenerated.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri

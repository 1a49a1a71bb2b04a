// Log Analytics workspace + workspace-based Application Insights for the function app's logs and traces.
// Local (instrumentation-key) authentication is off: the app sends telemetry with its managed identity
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING, Monitoring Metrics Publisher role in roles-resources.bicep).

param logAnalyticsName string

param applicationInsightsName string

param location string

param tags object = {}

@description('Days Log Analytics keeps the function logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
    IngestionMode: 'LogAnalytics'
  }
}

output workspaceId string = workspace.id
output applicationInsightsId string = appInsights.id
output applicationInsightsName string = appInsights.name
output connectionString string = appInsights.properties.ConnectionString

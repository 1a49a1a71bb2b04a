// Azure Monitor workbook over the monitor's run outcomes (monitor/telemetry.py: one `aib.run_outcome` trace per
// failed, stuck or recovered run): failures by category per day, top failing templates and customizers, minutes
// from a run's end to its alert, stuck builds. Opened from the Application Insights resource (Workbooks) or the
// portal link in the deployment outputs.

param location string

param tags object = {}

@description('Application Insights component whose traces the workbook queries.')
param applicationInsightsId string

param displayName string = 'AIB build monitor'

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, applicationInsightsId, 'aib-build-monitor-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: loadTextContent('../workbook/monitor.workbook.json')
  }
}

output id string = workbook.id

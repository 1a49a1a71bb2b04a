// The Event Grid subscription that delivers the subscription's resource events to the monitor's Event Grid
// trigger (function `on_resource_event`).
//
// Order problem: Event Grid checks that the function exists when the subscription is created, and the function
// exists only once the code is deployed, i.e. after provisioning. So this file is deployed after the code:
// by the azd `postdeploy` hook (infra/hooks/postdeploy.*), or by main.bicep with deployEventSubscription=true on
// any later provisioning (the hook sets that for you), or by hand (README "Deploy").
//
// Two subscriptions, same topic, same function, same retry and dead-lettering. Together their filters let through
// exactly what monitor/events/ route() acts on (tests/infra checks both ways), so the function is not woken
// for the thousands of unrelated ARM operations in a busy subscription:
// - subscriptionToFunction: image template operations and resource group writes/deletes (HANDLED_EVENT_TYPES,
//   HANDLED_OPERATION_PREFIXES);
// - buildEndToFunction: the end of a run (BUILD_END_EVENT_TYPE, BUILD_END_OPERATIONS): Image Builder's cleanup
//   deletes the build VM / container group in the staging group after every run, success or failure, so the
//   monitor looks within a minute, before a pipeline deletes the template. Any resource group: a template may
//   name its own stagingResourceGroup (no IT_ prefix); the function tells staging groups from others (Image
//   Builder's tags on the group, the staging groups the sweep remembers) before it reads any template. A
//   separate subscription because advanced filters are ANDed across keys: the operation condition would drop
//   the template events of the first one.

@description('Name of the Event Grid system topic of the subscription (modules/systemtopic.bicep).')
param systemTopicName string

@description('Resource group of the monitor (function app and storage account); the topic may be in another one.')
param monitorResourceGroupName string = resourceGroup().name

@description('Name of the monitor\'s function app.')
param functionAppName string

@description('Name of the Event Grid trigger function in function_app.py.')
param functionName string = 'on_resource_event'

@description('Storage account (the archive account) that undeliverable events are dead-lettered into.')
param storageAccountName string

param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Event Grid gives up on an event after this many delivery attempts (then dead-letters it).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('...or after this many minutes, whichever comes first.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

param eventSubscriptionName string = 'aib-monitor'

@description('Name of the second event subscription: the end of each build (cleanup deletes the build VM).')
param buildEndSubscriptionName string = 'aib-monitor-build-end'

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource app 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
  scope: resourceGroup(monitorResourceGroupName)
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
  scope: resourceGroup(monitorResourceGroupName)
}

resource subscriptionToFunction 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: eventSubscriptionName
  properties: {
    // Delivery to an Azure Function endpoint: Event Grid calls the function's Event Grid webhook with the
    // extension's system key, which it fetches itself. Managed-identity delivery (deliveryWithResourceIdentity)
    // is not offered for AzureFunction endpoints, so `destination` is used; dead-lettering, which goes to storage
    // that allows no keys, does use the topic's identity (deadLetterWithResourceIdentity below).
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${app.id}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      // monitor/events/ HANDLED_EVENT_TYPES
      includedEventTypes: [
        'Microsoft.Resources.ResourceWriteSuccess'
        'Microsoft.Resources.ResourceWriteFailure'
        'Microsoft.Resources.ResourceDeleteSuccess'
        'Microsoft.Resources.ResourceActionSuccess'
        'Microsoft.Resources.ResourceActionFailure'
        'Microsoft.Resources.ResourceActionCancel'
      ]
      enableAdvancedFilteringOnArrays: false
      advancedFilters: [
        {
          // monitor/events/ HANDLED_OPERATION_PREFIXES: image template operations and resource group
          // writes/deletes (the function keeps only IT_ staging groups; a filter cannot match on the group name
          // without also dropping the template events, whose subjects are in any resource group).
          operatorType: 'StringBeginsWith'
          key: 'data.operationName'
          values: [
            'Microsoft.VirtualMachineImages/imageTemplates'
            'Microsoft.Resources/subscriptions/resourceGroups'
          ]
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

// Same destination, delivery schema, retry policy and dead-lettering as subscriptionToFunction (tests/infra
// checks they stay equal); only the filter differs.
resource buildEndToFunction 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: buildEndSubscriptionName
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${app.id}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      // monitor/events/ BUILD_END_EVENT_TYPE
      includedEventTypes: [
        'Microsoft.Resources.ResourceDeleteSuccess'
      ]
      enableAdvancedFilteringOnArrays: false
      // ANDed; string comparisons are case-insensitive.
      advancedFilters: [
        {
          // monitor/events/ BUILD_END_OPERATIONS
          operatorType: 'StringIn'
          key: 'data.operationName'
          values: [
            'Microsoft.Compute/virtualMachines/delete'
            'Microsoft.ContainerInstance/containerGroups/delete'
          ]
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output id string = subscriptionToFunction.id
output name string = subscriptionToFunction.name
output buildEndId string = buildEndToFunction.id
output buildEndName string = buildEndToFunction.name

// The subscription's Event Grid system topic (Microsoft.Resources.Subscriptions): it publishes an event for every
// ARM write, delete and action in the subscription. Image Builder has no events of its own, so this is how the
// monitor hears about image templates and their IT_ staging groups within seconds.
// Azure allows one system topic per source: if the subscription already has one for
// Microsoft.Resources.Subscriptions, the deployment fails (README "Deploy" says what to do).
// Its system-assigned identity dead-letters undeliverable events into the archive account (no keys there).

param name string

param tags object = {}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

output id string = topic.id
output name string = topic.name
output principalId string = topic.identity.principalId

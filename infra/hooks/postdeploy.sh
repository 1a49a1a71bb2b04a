#!/bin/sh
# azd postdeploy hook: create the Event Grid subscription to the `on_resource_event` function.
#
# Event Grid checks that the function exists when the subscription is created, and the function exists only
# after `azd deploy` has uploaded the code, so this cannot be part of the first provisioning. azd runs this hook
# after every deploy with the environment's values (outputs of infra/main.bicep) in the environment.
#
# 1. DEPLOY_EVENT_SUBSCRIPTION=true is saved in the azd environment, so every later `azd provision` / `azd up`
#    keeps the subscription in main.bicep (and in sync with the filter there).
# 2. The subscription itself is created now: with the Azure CLI when it is installed and signed in
#    (infra/eventgrid.bicep, a small deployment into the topic's resource group: the monitor's own, or that of
#    the subscription's existing system topic), otherwise by provisioning again with azd.
# The function can take a minute to be indexed after a deploy, so creation is retried a few times.
set -eu

: "${AZURE_SUBSCRIPTION_ID:?run through azd (azd up / azd deploy)}"
: "${AZURE_RESOURCE_GROUP:?missing: run azd provision first}"
: "${AZURE_FUNCTION_APP_NAME:?missing: run azd provision first}"
: "${AZURE_STORAGE_ACCOUNT_NAME:?missing: run azd provision first}"
: "${EVENTGRID_SYSTEM_TOPIC_NAME:?missing: run azd provision first}"
: "${EVENTGRID_SYSTEM_TOPIC_RESOURCE_GROUP:?missing: run azd provision first}"
DEAD_LETTER_CONTAINER="${DEAD_LETTER_CONTAINER:-eventgrid-deadletter}"

azd env set DEPLOY_EVENT_SUBSCRIPTION true

here="$(cd "$(dirname "$0")" && pwd)"
attempt=1
while :; do
  if command -v az >/dev/null 2>&1 && az account show >/dev/null 2>&1; then
    echo "Creating the Event Grid subscription (az deployment group create, attempt $attempt)..."
    if az deployment group create \
        --subscription "$AZURE_SUBSCRIPTION_ID" \
        --resource-group "$EVENTGRID_SYSTEM_TOPIC_RESOURCE_GROUP" \
        --name aibmon-eventgrid \
        --template-file "$here/../eventgrid.bicep" \
        --parameters systemTopicName="$EVENTGRID_SYSTEM_TOPIC_NAME" \
                     monitorResourceGroupName="$AZURE_RESOURCE_GROUP" \
                     functionAppName="$AZURE_FUNCTION_APP_NAME" \
                     storageAccountName="$AZURE_STORAGE_ACCOUNT_NAME" \
                     deadLetterContainerName="$DEAD_LETTER_CONTAINER" \
        --output none; then
      break
    fi
  else
    echo "Azure CLI not signed in; creating the Event Grid subscription with azd provision (attempt $attempt)..."
    if azd provision --no-prompt; then
      break
    fi
  fi
  if [ "$attempt" -ge 5 ]; then
    echo "Could not create the Event Grid subscription. The timer sweep still runs; retry with: azd provision" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  echo "Retrying in 30 s (the function may not be indexed yet)..."
  sleep 30
done
echo "Event Grid subscription to ${AZURE_FUNCTION_APP_NAME}/functions/on_resource_event is in place."

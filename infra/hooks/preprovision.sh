#!/bin/sh
# azd preprovision hook: reuse the subscription's Event Grid system topic when it already has one.
#
# Azure allows one system topic per source. Many subscriptions already have one for
# Microsoft.Resources.Subscriptions (Defender, policy and other tools create it); creating a second fails the
# deployment. When one exists (outside the monitor's own resource group), this hook saves its name and resource
# group as EXISTING_SYSTEM_TOPIC_NAME / EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP in the azd environment, so
# infra/main.bicep adds the monitor's event subscriptions to that topic instead of creating one. The topic needs
# a system-assigned identity (it dead-letters undeliverable events into the archive account); the hook says how
# to turn it on when it is missing.
set -eu

if [ -n "${EXISTING_SYSTEM_TOPIC_NAME:-}" ]; then
  echo "Event Grid: using the existing system topic ${EXISTING_SYSTEM_TOPIC_NAME} (${EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP:-?})."
  exit 0
fi
if ! command -v az >/dev/null 2>&1 || ! az account show >/dev/null 2>&1; then
  echo "Event Grid: Azure CLI not signed in, so an existing system topic cannot be looked for. If provisioning"
  echo "fails because the subscription already has one, run: azd env set EXISTING_SYSTEM_TOPIC_NAME <name>;"
  echo "azd env set EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP <resource group>; then azd up again."
  exit 0
fi

sub="${AZURE_SUBSCRIPTION_ID:?run through azd}"
own="${AZURE_RESOURCE_GROUP:-${AZURE_RESOURCE_GROUP_NAME:-rg-${AZURE_ENV_NAME:-}}}"
found=$(az eventgrid system-topic list --subscription "$sub" \
  --query "[].[name, resourceGroup, source, identity.type]" --output tsv 2>/dev/null |
  awk -F '\t' -v src="/subscriptions/$sub" -v own="$own" \
    'tolower($3) == tolower(src) && tolower($2) != tolower(own) { print; exit }')
[ -n "$found" ] || exit 0

name=$(printf '%s' "$found" | cut -f1)
group=$(printf '%s' "$found" | cut -f2)
identity=$(printf '%s' "$found" | cut -f4)
echo "Event Grid: this subscription already has the system topic $name (resource group $group); Azure allows"
echo "only one, so the monitor's event subscriptions are added to it:"
echo "  azd env set EXISTING_SYSTEM_TOPIC_NAME $name"
echo "  azd env set EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP $group"
azd env set EXISTING_SYSTEM_TOPIC_NAME "$name"
azd env set EXISTING_SYSTEM_TOPIC_RESOURCE_GROUP "$group"
case "$identity" in
  *SystemAssigned*) ;;
  *)
    echo "The topic has no system-assigned identity, which dead-lettering needs. Turn it on (it changes nothing else):" >&2
    echo "  az eventgrid system-topic update --name $name --resource-group $group --identity systemassigned" >&2
    echo "then run azd up again." >&2
    exit 1
    ;;
esac

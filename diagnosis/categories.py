"""The category ids: a contract between diagnosis, monitor, alerts and dashboards. Keep them stable."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    id: str
    title: str
    transient: bool = False  # a re-run is the first thing to try


CATEGORIES: dict[str, Category] = {
    c.id: c
    for c in (
        Category("template-update-conflict", "Image template already exists (update not supported)"),
        Category("permissions", "Image Builder identity lacks permissions"),
        Category("managed-identity-invalid", "Managed identity cannot be used"),
        Category("source-image-not-found", "Source image not found"),
        Category("customizer-download-failed", "Customizer file could not be downloaded"),
        Category("customizer-failed", "Customizer failed"),
        Category("build-timeout", "Build timed out"),
        Category("build-timeout-too-short", "buildTimeoutInMinutes too short"),
        Category("large-file-download", "File customizer downloading a large file"),
        Category("windows-restart-failed", "Windows restart failed"),
        Category("distribution-failed", "Distribution failed"),
        Category("vm-resources-exhausted", "Build VM out of resources"),
        Category("no-artifacts", "Build finished without artifacts", transient=True),
        Category("sysprep-timing", "Sysprep timing / deprovisioning loop"),
        Category("deprovision-failed", "Deprovisioning failed"),
        Category("connection-lost", "Connection to the build VM lost"),
        Category("network-config", "Network configuration blocks the build"),
        Category("devops-task-canceled", "Azure DevOps task canceled"),
        Category("pending-restart", "Pending restart or installs"),
        Category("policy-violation", "Azure Policy denied a resource"),
        Category("quota-or-capacity", "Quota or capacity exhausted", transient=True),
        Category("container-instances", "Azure Container Instances unavailable"),
        Category("template-invalid", "Image template invalid"),
        Category("provider-not-registered", "Resource provider not registered"),
        Category("template-busy", "Template busy (running or canceling)"),
        Category("service-error", "Image Builder service error", transient=True),
        Category("interactive-prompt", "Script waits for interactive input"),
        Category("unknown", "Unrecognized failure"),
        Category("none", "No failure found"),
    )
}

CATEGORY_IDS: tuple[str, ...] = tuple(CATEGORIES)

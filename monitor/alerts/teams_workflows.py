"""Teams through a Workflows webhook (Power Automate "When a Teams webhook request is received" -> "Post
card"):
a message envelope carrying an Adaptive Card 1.4."""

from __future__ import annotations

from typing import Any

from .cards import adaptive_card, workflows_message
from .channel import WebhookChannel
from .content import AlertContent


class TeamsWorkflowsChannel(WebhookChannel):
    name = "teams"
    min_interval = 0.3  # Teams throttles more than 4 requests a second

    def payload(self, content: AlertContent) -> dict[str, Any]:
        return workflows_message(adaptive_card(content))

"""Teams through a legacy Office 365 connector (``TEAMS_WEBHOOK_FORMAT=messagecard``): a MessageCard."""

from __future__ import annotations

from typing import Any

from .cards import message_card
from .channel import WebhookChannel
from .content import AlertContent


class TeamsMessageCardChannel(WebhookChannel):
    name = "teams"
    min_interval = 0.3

    def payload(self, content: AlertContent) -> dict[str, Any]:
        return message_card(content)

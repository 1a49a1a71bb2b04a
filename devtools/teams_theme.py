"""How Teams shows an Adaptive Card, for the local renderer (``devtools.render``): the host configs of its light and
dark themes (fonts, spacing, container and text colours), and the CSS and colours of the page around the card.
"""

from __future__ import annotations

from typing import Any

THEMES = ("light", "dark")


def _container_styles(foreground: dict[str, Any], backgrounds: dict[str, str]) -> dict[str, Any]:
    """Each container style (default, emphasis, accent, ...) with its background and the theme's text colours."""
    return {
        style: {"backgroundColor": background, "foregroundColors": foreground}
        for style, background in backgrounds.items()
    }


_TEXT = {"default": "#242424", "subtle": "#616161"}
TEAMS_HOST_CONFIG: dict[str, Any] = {
    "fontFamily": "'Segoe UI', 'Helvetica Neue', 'Liberation Sans', Arial, sans-serif",
    "supportsInteractivity": True,
    "spacing": {"small": 4, "default": 8, "medium": 16, "large": 20, "extraLarge": 24, "padding": 16},
    "separator": {"lineThickness": 1, "lineColor": "#E0E0E0"},
    "fontSizes": {"small": 12, "default": 14, "medium": 16, "large": 20, "extraLarge": 24},
    "fontWeights": {"lighter": 300, "default": 400, "bolder": 600},
    "fontTypes": {
        "default": {"fontFamily": "'Segoe UI', 'Helvetica Neue', 'Liberation Sans', Arial, sans-serif"},
        "monospace": {
            "fontFamily": "Consolas, 'Liberation Mono', 'DejaVu Sans Mono', Menlo, monospace",
            "fontSizes": {"small": 12, "default": 13, "medium": 14, "large": 18, "extraLarge": 22},
        },
    },
    "containerStyles": _container_styles(
        {
            "default": _TEXT,
            "dark": {"default": "#252424", "subtle": "#484644"},
            "light": {"default": "#FFFFFF", "subtle": "#FFF"},
            "accent": {"default": "#5B5FC7", "subtle": "#4F52B2"},
            "good": {"default": "#237B4B", "subtle": "#1B6A3F"},
            "warning": {"default": "#835C00", "subtle": "#6E4E00"},
            "attention": {"default": "#C4314B", "subtle": "#A72037"},
        },
        {
            "default": "#FFFFFF",
            "emphasis": "#F5F5F5",
            "accent": "#E8EBFA",
            "good": "#E7F2DA",
            "attention": "#FCF4F6",
            "warning": "#FBF6D9",
        },
    ),
    "actions": {
        "maxActions": 6,
        "spacing": "default",
        "buttonSpacing": 8,
        "showCard": {"actionMode": "inline", "inlineTopMargin": 16},
        "actionsOrientation": "horizontal",
        "actionAlignment": "left",
    },
    "factSet": {
        "title": {
            "color": "default",
            "size": "default",
            "isSubtle": True,
            "weight": "default",
            "wrap": True,
            "maxWidth": 150,
        },
        "value": {
            "color": "default",
            "size": "default",
            "isSubtle": False,
            "weight": "default",
            "wrap": True,
        },
        "spacing": 16,
    },
    "textBlock": {"headingLevel": 2},
}

# Teams dark theme: the same host config with dark container backgrounds and light text.
_DARK_TEXT = {"default": "#FFFFFF", "subtle": "#ADADAD"}
TEAMS_DARK_HOST_CONFIG: dict[str, Any] = {
    **TEAMS_HOST_CONFIG,
    "separator": {"lineThickness": 1, "lineColor": "#3D3D3D"},
    "containerStyles": _container_styles(
        {
            "default": _DARK_TEXT,
            "dark": {"default": "#ADADAD", "subtle": "#8A8886"},
            "light": {"default": "#FFFFFF", "subtle": "#FFF"},
            "accent": {"default": "#7F85F5", "subtle": "#AAB1FA"},
            "good": {"default": "#92C353", "subtle": "#A8D57A"},
            "warning": {"default": "#F8D22A", "subtle": "#FFE57A"},
            "attention": {"default": "#F1707B", "subtle": "#F59BA3"},
        },
        {
            "default": "#292929",
            "emphasis": "#1F1F1F",
            "accent": "#2F2F4A",
            "good": "#0D2E0D",
            "attention": "#3E1F25",
            "warning": "#463100",
        },
    ),
}
HOST_CONFIGS = {"light": TEAMS_HOST_CONFIG, "dark": TEAMS_DARK_HOST_CONFIG}

TEAMS_CSS = """
body { margin: 0; padding: 16px; background: %(page)s; }
#frame { width: %(width)dpx; background: %(card)s; border-radius: 4px; border: 1px solid %(border)s;
  box-shadow: 0 1px 2px rgba(0,0,0,.08); overflow: hidden; }
.ac-pushButton { font-family: 'Segoe UI', 'Liberation Sans', sans-serif; font-size: 14px; font-weight: 600;
  background: %(card)s; color: %(text)s; border: 1px solid %(button_border)s; border-radius: 4px; padding: 5px 12px;
  min-height: 32px; }
.ac-pushButton:hover { background: %(page)s; }
.ac-richTextBlock, .ac-textBlock { overflow-wrap: anywhere; }
"""
THEME_COLORS = {
    "light": {"page": "#F5F5F5", "card": "#FFFFFF", "border": "#E0E0E0", "text": "#242424", "button_border": "#D1D1D1"},
    "dark": {"page": "#1F1F1F", "card": "#292929", "border": "#3D3D3D", "text": "#FFFFFF", "button_border": "#5C5C5C"},
}

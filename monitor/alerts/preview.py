"""``python -m monitor.alerts.preview --out preview`` (``make preview``): what each alert looks like where
it lands.

Writes, for every alert kind, the Teams card as PNG (official Adaptive Cards renderer in headless Chromium,
Teams-like
host config), the email HTML as PNG, and the payloads themselves (card JSON, email HTML, MessageCard, JSON
webhook
document) so they can be inspected or posted by hand. Sample alerts come from ``monitor.alerts.samples``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .cards import adaptive_card, message_card, workflows_message
from .channel import PAYLOAD_LIMIT, encode, fit
from .content import build_content
from .email_webhook import email_html, email_payload
from .model import ALERT_KINDS
from .render import page_height, renderer_missing, screenshot, screenshot_card
from .samples import sample_alert
from .webhook import alert_document

EMAIL_WIDTH = 800


def write_preview(out: Path, *, images: bool = True, kinds: Sequence[str] = ALERT_KINDS) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for kind in kinds:
        alert = sample_alert(kind)
        content = build_content(alert)
        body, level = fit(content, lambda c: workflows_message(adaptive_card(c)), PAYLOAD_LIMIT)
        card = json.loads(body)["attachments"][0]["content"]
        files = {
            f"{kind}.teams-workflows.json": json.dumps(json.loads(body), indent=2, ensure_ascii=False),
            f"{kind}.teams-messagecard.json": json.dumps(message_card(content), indent=2, ensure_ascii=False),
            f"{kind}.email.html": email_html(content),
            f"{kind}.email.json": json.dumps(
                email_payload(content, ["platform-team@example.com"]), indent=2, ensure_ascii=False
            ),
            f"{kind}.webhook.json": json.dumps(alert_document(alert), indent=2, ensure_ascii=False),
        }
        for name, text in files.items():
            path = out / name
            path.write_text(text + "\n", encoding="utf-8")
            written.append(path)
        sizes = {
            "teams": len(body),
            "messagecard": len(encode(message_card(content))),
            "email": len(encode(email_payload(content, ["platform-team@example.com"]))),
            "webhook": len(encode(alert_document(alert))),
        }
        print(
            f"{kind:18} bytes: " + ", ".join(f"{k} {v}" for k, v in sizes.items()) + f" (trim level {level})"
        )
        if images:
            card_png = out / f"{kind}.teams.png"
            screenshot_card(card, card_png)
            html_page = email_html(content)
            email_png = out / f"{kind}.email.png"
            screenshot(html_page, email_png, width=EMAIL_WIDTH, height=page_height(html_page))
            written += [card_png, email_png]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m monitor.alerts.preview", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, default=Path("preview"), help="folder to write into (default: preview)"
    )
    parser.add_argument("--no-images", action="store_true", help="write the payloads only, no screenshots")
    parser.add_argument("--kind", action="append", choices=ALERT_KINDS, help="only this kind (repeatable)")
    args = parser.parse_args(argv)
    images = not args.no_images
    if images and (why := renderer_missing()):
        print(f"cannot take screenshots: {why}; writing the payloads only", file=sys.stderr)
        images = False
    written = write_preview(args.out, images=images, kinds=args.kind or ALERT_KINDS)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

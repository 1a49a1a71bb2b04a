"""``python -m devtools.preview --out preview`` (``make preview``): what each alert looks like where it lands.

For every alert kind and language (``en``, ``ru``) it writes the Teams card as PNG (official Adaptive Cards
renderer in headless Chromium, Teams-like host config) at desktop width, at phone width (360 px) and in the Teams
dark theme, the email HTML as PNG, and the payloads themselves (card JSON, email HTML, MessageCard, JSON webhook
document) so they can be inspected or posted by hand. Sample alerts come from ``devtools.samples``; the extra
kind ``engine`` is a build-failed alert made by the real diagnosis engine from a realistic log.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from diagnosis.i18n import LANGUAGES
from monitor.alerts.cards import adaptive_card, message_card, workflows_message
from monitor.alerts.channel import PAYLOAD_LIMIT, encode, fit
from monitor.alerts.content import build_content
from monitor.alerts.email_webhook import email_html, email_payload
from monitor.alerts.model import ALERT_KINDS, Alert
from monitor.alerts.webhook import alert_document

from .render import CARD_WIDTH, PHONE_WIDTH, page_height, renderer_missing, screenshot, screenshot_card
from .samples import engine_alert, sample_alert

EMAIL_WIDTH = 800
ENGINE = "engine"
PREVIEW_KINDS = (*ALERT_KINDS, ENGINE)
# (file suffix, card width, theme) of each card screenshot
CARD_SHOTS = (("teams", CARD_WIDTH, "light"), ("teams-360", PHONE_WIDTH, "light"), ("teams-dark", CARD_WIDTH, "dark"))
RECIPIENTS = ["platform-team@example.com"]


def preview_alert(kind: str) -> Alert:
    return engine_alert() if kind == ENGINE else sample_alert(kind)


def write_preview(
    out: Path,
    *,
    images: bool = True,
    kinds: Sequence[str] = PREVIEW_KINDS,
    languages: Sequence[str] = LANGUAGES,
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for kind in kinds:
        alert = preview_alert(kind)
        for language in languages:
            written += _write_one(out, kind, alert, language, images=images)
    return written


def _write_one(out: Path, kind: str, alert: Alert, language: str, *, images: bool) -> list[Path]:
    stem = f"{kind}.{language}"
    content = build_content(alert, language)
    body, level = fit(content, lambda c: workflows_message(adaptive_card(c)), PAYLOAD_LIMIT)
    card = json.loads(body)["attachments"][0]["content"]
    document = alert_document(alert, language=language)
    files = {
        f"{stem}.teams-workflows.json": json.dumps(json.loads(body), indent=2, ensure_ascii=False),
        f"{stem}.teams-messagecard.json": json.dumps(message_card(content), indent=2, ensure_ascii=False),
        f"{stem}.email.html": email_html(content),
        f"{stem}.email.json": json.dumps(email_payload(content, RECIPIENTS), indent=2, ensure_ascii=False),
        f"{stem}.webhook.json": json.dumps(document, indent=2, ensure_ascii=False),
    }
    written: list[Path] = []
    for name, text in files.items():
        path = out / name
        path.write_text(text + "\n", encoding="utf-8")
        written.append(path)
    sizes = {
        "teams": len(body),
        "messagecard": len(encode(message_card(content))),
        "email": len(encode(email_payload(content, RECIPIENTS))),
        "webhook": len(encode(document)),
    }
    print(f"{stem:21} bytes: " + ", ".join(f"{k} {v}" for k, v in sizes.items()) + f" (trim level {level})")
    if images:
        for suffix, width, theme in CARD_SHOTS:
            path = out / f"{stem}.{suffix}.png"
            screenshot_card(card, path, width=width, theme=theme)
            written.append(path)
        page = email_html(content)
        email_png = out / f"{stem}.email.png"
        screenshot(page, email_png, width=EMAIL_WIDTH, height=page_height(page))
        written.append(email_png)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.preview", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("preview"), help="folder to write into (default: preview)")
    parser.add_argument("--no-images", action="store_true", help="write the payloads only, no screenshots")
    parser.add_argument("--kind", action="append", choices=PREVIEW_KINDS, help="only this kind (repeatable)")
    parser.add_argument("--lang", action="append", choices=LANGUAGES, help="only this language (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    images = not args.no_images
    if images and (why := renderer_missing()):
        print(f"cannot take screenshots: {why}; writing the payloads only", file=sys.stderr)
        images = False
    written = write_preview(args.out, images=images, kinds=args.kind or PREVIEW_KINDS, languages=args.lang or LANGUAGES)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

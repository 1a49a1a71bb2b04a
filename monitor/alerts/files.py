"""No channel configured (CLI runs, the demo): each alert is written to ``ALERT_DIR`` as JSON and text."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

from .content import build_content, knowledge_base, plain_text
from .model import Alert
from .retry import DeliveryOutcome
from .webhook import alert_document

log = logging.getLogger("monitor.alerts")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "alert"


class FileChannel:
    name = "files"

    def __init__(
        self, directory: Path | str, *, language: str = "en", rules: tuple[str, ...] | None = None
    ) -> None:
        self.directory = Path(directory)
        self.rules = rules  # DIAGNOSIS_RULES files (None: from the environment)
        self.language = language  # ALERT_LANGUAGE of the text file (the JSON document is language-neutral data)

    def path_for(self, alert: Alert) -> Path:
        digest = hashlib.sha256(alert.dedupe_key.encode()).hexdigest()[:10]
        stamp = re.sub(r"[^0-9T]", "", alert.created_at.split("+")[0])[:15]
        return self.directory / f"{stamp}-{alert.kind}-{_slug(alert.template_name)}-{digest}"

    def deliver(self, alert: Alert) -> DeliveryOutcome:
        base = self.path_for(alert)
        content = build_content(alert, self.language, knowledge=knowledge_base(self.rules))
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            Path(f"{base}.json").write_text(
                json.dumps(alert_document(alert, content=content), indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
            Path(f"{base}.txt").write_text(plain_text(content), encoding="utf-8")
        except OSError as exc:
            return DeliveryOutcome(channel=self.name, ok=False, error=f"cannot write {base}: {exc.strerror}")
        log.info(
            "alert %s for template %s written to %s.txt (no alert channel configured)",
            alert.kind,
            alert.template_name,
            base,
        )
        return DeliveryOutcome(channel=self.name, ok=True, attempts=1, path=f"{base}.txt")

"""`python -m monitor.alerts.preview` (make preview): payloads always, screenshots when Chromium is there."""

from __future__ import annotations

import json
import re
import struct

import pytest

from devtools.preview import main
from devtools.render import renderer_missing
from monitor.alerts.channel import PAYLOAD_LIMIT
from monitor.alerts.model import ALERT_KINDS


def test_preview_writes_every_payload(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--no-images"]) == 0
    printed = capsys.readouterr().out
    for kind in ALERT_KINDS:
        message = json.loads((tmp_path / f"{kind}.teams-workflows.json").read_text())
        assert message["attachments"][0]["content"]["version"] == "1.4"
        assert json.loads((tmp_path / f"{kind}.teams-messagecard.json").read_text())["@type"] == "MessageCard"
        assert (tmp_path / f"{kind}.email.html").read_text().startswith("<!DOCTYPE html>")
        assert json.loads((tmp_path / f"{kind}.webhook.json").read_text())["kind"] == kind
        assert kind in printed
    sizes = [int(n) for n in re.findall(r"(?:teams|messagecard|email|webhook) (\d+)", printed)]
    assert len(sizes) == 4 * len(ALERT_KINDS) and max(sizes) < PAYLOAD_LIMIT


@pytest.mark.browser
@pytest.mark.skipif(renderer_missing() is not None, reason=f"cannot render cards: {renderer_missing()}")
def test_preview_screenshots(tmp_path):
    # Two kinds keep it quick; test_render renders every kind's card in the same browser.
    kinds = ["build-failed", "recovered"]
    assert main(["--out", str(tmp_path), *(f"--kind={k}" for k in kinds)]) == 0
    assert not (tmp_path / "build-stuck.teams.png").exists()
    for kind in kinds:
        for name in (f"{kind}.teams.png", f"{kind}.email.png"):
            data = (tmp_path / name).read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n", name
            width, height = struct.unpack(">II", data[16:24])
            assert width >= 600 and height >= 300, (name, width, height)

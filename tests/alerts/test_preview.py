"""`python -m devtools.preview` (make preview): payloads always, screenshots when Chromium is there."""

from __future__ import annotations

import json
import re
import struct

import pytest

from devtools.preview import PREVIEW_KINDS, main
from devtools.render import renderer_missing
from diagnosis.i18n import LANGUAGES
from monitor.alerts.channel import PAYLOAD_LIMIT


def test_preview_writes_every_payload_in_every_language(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--no-images"]) == 0
    printed = capsys.readouterr().out
    for kind in PREVIEW_KINDS:
        for language in LANGUAGES:
            stem = f"{kind}.{language}"
            message = json.loads((tmp_path / f"{stem}.teams-workflows.json").read_text())
            assert message["attachments"][0]["content"]["version"] == "1.4"
            assert json.loads((tmp_path / f"{stem}.teams-messagecard.json").read_text())["@type"] == "MessageCard"
            assert (tmp_path / f"{stem}.email.html").read_text().startswith("<!DOCTYPE html>")
            document = json.loads((tmp_path / f"{stem}.webhook.json").read_text())
            assert document["kind"] == ("build-failed" if kind == "engine" else kind)
            assert document["language"] == language
            assert stem in printed
    sizes = [int(n) for n in re.findall(r"(?:teams|messagecard|email|webhook) (\d+)", printed)]
    assert len(sizes) == 4 * len(PREVIEW_KINDS) * len(LANGUAGES) and max(sizes) < PAYLOAD_LIMIT


@pytest.mark.browser
@pytest.mark.skipif(renderer_missing() is not None, reason=f"cannot render cards: {renderer_missing()}")
def test_preview_screenshots(tmp_path):
    # One kind in one language keeps it quick; test_render renders every kind's card in both languages.
    assert main(["--out", str(tmp_path), "--kind=engine", "--lang=ru"]) == 0
    assert not (tmp_path / "build-stuck.ru.teams.png").exists() and not (tmp_path / "engine.en.teams.png").exists()
    expected = {"teams": 600, "teams-360": 360, "teams-dark": 600, "email": 600}
    for suffix, min_width in expected.items():
        data = (tmp_path / f"engine.ru.{suffix}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", suffix
        width, height = struct.unpack(">II", data[16:24])
        assert width >= min_width and height >= 300, (suffix, width, height)
    assert struct.unpack(">I", (tmp_path / "engine.ru.teams-360.png").read_bytes()[16:20])[0] < 600

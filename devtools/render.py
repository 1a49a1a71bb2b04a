"""Render Teams cards and email HTML in headless Chromium with the official ``adaptivecards`` npm renderer.

Used by the card-rendering tests and by ``make preview``. A card is rendered in a local page with a
Teams-like host
config and markdown-it (Teams renders TextBlock Markdown, so the test page does too). The page reports parse
warnings, validation failures, script errors and console errors, plus what the rendered DOM contains, in a
``<pre id="result">`` element that ``chromium --dump-dom`` returns; screenshots use ``chromium --screenshot``.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.teams_theme import HOST_CONFIGS, TEAMS_CSS, THEME_COLORS

REPO = Path(__file__).resolve().parents[1]
ADAPTIVECARDS_JS = REPO / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.min.js"
ADAPTIVECARDS_CSS = REPO / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.css"
MARKDOWN_IT_JS = REPO / "node_modules" / "markdown-it" / "dist" / "markdown-it.min.js"

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--allow-file-access-from-files",
)

CARD_WIDTH = 640  # about the width Teams gives a card in a channel on a desktop
PHONE_WIDTH = 360  # a phone (Teams mobile gives a card 340-390 px)
PAGE_SCRIPT = r"""
(function () {
  var result = { errors: [], console: [], parseEvents: [], validation: [], text: "", html: "",
                 counts: {}, actions: [], height: 0, version: null };
  window.addEventListener("error", function (e) { result.errors.push("script error: " + e.message); });
  ["error", "warn"].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      result.console.push(level + ": " + Array.prototype.join.call(arguments, " "));
      original.apply(console, arguments);
    };
  });
  try {
    var payload = JSON.parse(document.getElementById("card-json").textContent);
    var card = new AdaptiveCards.AdaptiveCard();
    var host = JSON.parse(document.getElementById("host-json").textContent);
    card.hostConfig = new AdaptiveCards.HostConfig(host);
    var context = new AdaptiveCards.SerializationContext();
    context.targetVersion = AdaptiveCards.Versions.v1_4;
    card.parse(payload, context);
    for (var i = 0; i < context.eventCount; i++) {
      var ev = context.getEventAt(i);
      result.parseEvents.push(ev.message);
    }
    var validation = card.validateProperties();
    validation.validationEvents.forEach(function (v) { result.validation.push(v.message); });
    result.version = card.version ? card.version.toString() : null;
    var element = card.render();
    if (!element) { result.errors.push("render() returned nothing"); }
    else {
      document.getElementById("frame").appendChild(element);
      result.text = element.innerText;

      result.html = element.innerHTML;
      ["script", "img", "strong", "b", "em", "i", "a", "h1", "h2", "h3", "ul", "ol", "li", "code",
      "blockquote",
       "button", "iframe"].forEach(function (tag) {
        result.counts[tag] = element.getElementsByTagName(tag).length;
      });
      result.actions = Array.prototype.map.call(element.querySelectorAll("button"), function (b) {
        return b.innerText; });
      // A button whose text does not fit (the renderer cuts it with an ellipsis): its own box or any child's.
      result.truncated = [];
      Array.prototype.forEach.call(element.querySelectorAll("button"), function (b) {
        var boxes = [b].concat(Array.prototype.slice.call(b.querySelectorAll("*")));
        if (boxes.some(function (n) { return n.scrollWidth > n.clientWidth + 1; })) {
          result.truncated.push(b.innerText);
        }
      });
      // Where each probe text ends, in px from the top of the card (the smallest element containing it).
      var top = element.getBoundingClientRect().top;
      var probes = JSON.parse(document.getElementById("probe-json").textContent);
      result.probes = {};
      probes.forEach(function (probe) {
        var best = null;
        Array.prototype.forEach.call(element.querySelectorAll("*"), function (n) {
          if (n.textContent.indexOf(probe) >= 0 && n.getBoundingClientRect().height > 0) { best = n; }
        });
        result.probes[probe] = best ? Math.round(best.getBoundingClientRect().bottom - top) : null;
      });
      result.cardHeight = Math.round(element.getBoundingClientRect().height);
      // Open every "Show details" card (rendered on demand), then read all the text.
      if (JSON.parse(document.getElementById("expand-json").textContent)) {
        Array.prototype.forEach.call(element.querySelectorAll("button[aria-expanded]"), function (b) {
          b.click();
        });
      }
      result.allText = element.textContent;
    }
  } catch (e) {
    result.errors.push("exception: " + (e && e.stack ? e.stack : String(e)));
  }
  result.pwned = window.__pwned || null;
  result.title = document.title;
  result.height = document.body.scrollHeight;
  document.getElementById("result").textContent = JSON.stringify(result);
})();
"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def renderer_missing() -> str | None:
    """Why cards cannot be rendered here (None when everything is present)."""
    if find_chromium() is None:
        return "chromium is not installed (Debian: apt-get install chromium; `make chromium` does it as root)"
    if not ADAPTIVECARDS_JS.exists():
        return f"{ADAPTIVECARDS_JS} is missing (run `npm ci`)"
    return None


def _script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element (no "</script>", no "<!--")."""
    text = json.dumps(data, ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def card_page(
    card: dict[str, Any],
    *,
    width: int = CARD_WIDTH,
    markdown: bool = True,
    theme: str = "light",
    probes: tuple[str, ...] = (),
    expand_details: bool = False,
) -> str:
    scripts = [f'<script src="{ADAPTIVECARDS_JS.as_uri()}"></script>']
    if markdown and MARKDOWN_IT_JS.exists():
        scripts.insert(0, f'<script src="{MARKDOWN_IT_JS.as_uri()}"></script>')
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html><head><meta charset="utf-8"><title>card</title>',
            f'<link rel="stylesheet" href="{ADAPTIVECARDS_CSS.as_uri()}">',
            f"<style>{TEAMS_CSS % {'width': width, **THEME_COLORS[theme]}}</style>",
            *scripts,
            "</head><body>",
            '<div id="frame"></div>',
            '<pre id="result" style="display:none"></pre>',
            f'<script type="application/json" id="card-json">{_script_json(card)}</script>',
            f'<script type="application/json" id="host-json">{_script_json(HOST_CONFIGS[theme])}</script>',
            f'<script type="application/json" id="probe-json">{_script_json(list(probes))}</script>',
            f'<script type="application/json" id="expand-json">{_script_json(expand_details)}</script>',
            f"<script>{PAGE_SCRIPT}</script>",
            "</body></html>",
        ]
    )


@dataclass
class RenderReport:
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    parse_events: list[str] = field(default_factory=list)
    validation: list[str] = field(default_factory=list)
    text: str = ""
    html: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    height: int = 0
    version: str | None = None
    pwned: Any = None
    title: str = ""
    all_text: str = ""  # the text including hidden parts (the "Show details" card)
    truncated: list[str] = field(default_factory=list)  # buttons whose text is cut
    probes: dict[str, int | None] = field(default_factory=dict)  # probe text → its bottom, px from the card top
    card_height: int = 0

    @property
    def problems(self) -> list[str]:
        """Everything that counts as a render error."""
        console_errors = [c for c in self.console if c.startswith("error:")]
        return self.errors + console_errors + self.parse_events + self.validation


def _run_chromium(args: list[str], workdir: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError(renderer_missing() or "chromium missing")
    profile = workdir / "profile"
    profile.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(workdir)}
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=workdir,
        check=False,
    )


def dump_dom(page_html: str) -> str:
    with tempfile.TemporaryDirectory(prefix="aib-render-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(page_html, encoding="utf-8")
        proc = _run_chromium(["--virtual-time-budget=5000", "--dump-dom", page.as_uri()], Path(tmp))
        if proc.returncode != 0 or "<html" not in proc.stdout:
            raise RuntimeError(f"chromium --dump-dom failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
        return proc.stdout


@dataclass(frozen=True)
class CardRender:
    """One card to render: at ``width`` px in ``theme``; ``probes`` are texts whose position in the card is
    measured."""

    card: dict[str, Any]
    width: int = CARD_WIDTH
    markdown: bool = True
    theme: str = "light"
    probes: tuple[str, ...] = ()


# Collects the result of every card's frame into the outer page once all frames have loaded.
COLLECT_SCRIPT = r"""
window.addEventListener("load", function () {
  var results = {};
  Array.prototype.forEach.call(document.querySelectorAll("iframe[data-name]"), function (f) {
    var pre = f.contentDocument && f.contentDocument.getElementById("result");
    results[f.getAttribute("data-name")] = pre && pre.textContent ? JSON.parse(pre.textContent) : null;
  });
  document.getElementById("results").textContent = JSON.stringify(results);
});
"""


def _report(data: dict[str, Any]) -> RenderReport:
    return RenderReport(
        errors=data["errors"],
        console=data["console"],
        parse_events=data["parseEvents"],
        validation=data["validation"],
        text=data["text"],
        html=data["html"],
        counts=data["counts"],
        actions=data["actions"],
        height=int(data["height"]),
        version=data["version"],
        pwned=data["pwned"],
        title=data["title"],
        all_text=data.get("allText", ""),
        truncated=data.get("truncated", []),
        probes=data.get("probes", {}),
        card_height=int(data.get("cardHeight") or 0),
    )


def render_cards(renders: dict[str, CardRender]) -> dict[str, RenderReport]:
    """Render every card in its own frame of one page, so one Chromium run serves them all."""
    frames = []
    for name, r in renders.items():
        page = card_page(
            r.card, width=r.width, markdown=r.markdown, theme=r.theme, probes=r.probes, expand_details=True
        )
        frames.append(
            f'<iframe data-name="{html.escape(name)}" style="display:block;border:0;width:{r.width + 64}px;'
            f'height:1600px" srcdoc="{html.escape(page, quote=True)}"></iframe>'
        )
    outer = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html><head><meta charset="utf-8"><title>cards</title></head><body>',
            *frames,
            '<pre id="results" style="display:none"></pre>',
            f"<script>{COLLECT_SCRIPT}</script>",
            "</body></html>",
        ]
    )
    dom = dump_dom(outer)
    match = re.search(r'<pre id="results"[^>]*>(.*?)</pre>', dom, re.DOTALL)
    if not match or not match.group(1).strip():
        raise RuntimeError("the render page produced no result (did the frames load?)")
    data = json.loads(html.unescape(match.group(1)))
    missing = [name for name in renders if not data.get(name)]
    if missing:
        raise RuntimeError(f"no result from the frames of {missing} (did the renderer script load?)")
    return {name: _report(data[name]) for name in renders}


def render_card(
    card: dict[str, Any],
    *,
    width: int = CARD_WIDTH,
    markdown: bool = True,
    theme: str = "light",
    probes: tuple[str, ...] = (),
) -> RenderReport:
    """Render ``card`` at ``width`` px in ``theme``; ``probes`` are texts whose position in the card is measured."""
    return render_cards({"card": CardRender(card, width, markdown, theme, probes)})["card"]


def screenshot(page_html: str, out: Path, *, width: int, height: int) -> Path:
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aib-shot-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(page_html, encoding="utf-8")
        proc = _run_chromium(
            [
                "--virtual-time-budget=5000",
                f"--window-size={width},{height}",
                f"--screenshot={out}",
                page.as_uri(),
            ],
            Path(tmp),
        )
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"chromium --screenshot failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return out


def screenshot_card(card: dict[str, Any], out: Path, *, width: int = CARD_WIDTH, theme: str = "light") -> RenderReport:
    report = render_card(card, width=width, theme=theme)
    if report.problems:
        raise RuntimeError(f"card does not render cleanly: {report.problems}")
    # The card as it first shows ("Show details" closed): its height was measured before the details opened.
    screenshot(card_page(card, width=width, theme=theme), out, width=width + 34, height=report.card_height + 36)
    return report


def page_height(page_html: str) -> int:
    """Height of an arbitrary page (the email HTML) as Chromium lays it out."""
    marker = (
        '<pre id="__h" style="display:none"></pre><script>document.getElementById("__h").textContent='
        "String(document.documentElement.scrollHeight);</script>"
    )
    dom = dump_dom(page_html.replace("</body>", marker + "</body>"))
    match = re.search(r'<pre id="__h"[^>]*>(\d+)</pre>', dom)
    return int(match.group(1)) if match else 1200

"""Escaped pasted text (a message inside a JSON string, HTML entities) is diagnosed like the printed message."""

from __future__ import annotations

import html
import json

import pytest

from diagnosis import diagnose
from diagnosis.pasted import unescape_pasted
from diagnosis.rules import BUILTIN_DIR, load_knowledge_base

INVENTORY = json.loads((BUILTIN_DIR / "inventory" / "messages.json").read_text(encoding="utf-8"))
SPECIFIC = [
    example
    for entry in INVENTORY["entries"]
    if entry["resolves"] not in ("failure-signal", "ambiguous", "benign", "recovered", "not-a-failure")
    and not entry["resolves"].startswith("record-")  # error records are read at a line's start, not quoted
    for example in entry["examples"]
]


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base()


def test_nested_arm_error_bodies_are_unescaped() -> None:
    inner = {"error": {"code": "InvalidParameter", "message": "The value of parameter sku is invalid."}}
    outer = {"error": {"code": "BadRequest", "message": json.dumps(inner, indent=2)}}
    text = unescape_pasted(json.dumps(json.dumps(outer)))
    assert '"code": "InvalidParameter"' in text
    assert "\\" not in text


@pytest.mark.parametrize(
    "plain",
    [
        r"copy C:\temp\new\file.txt failed",
        r"C:\Windows\Temp\script.ps1 not found",
        "a & b < c",
        r"cd c:\temp\new\tools",
    ],
)
def test_text_without_an_unmistakable_escape_stays_as_it_is(plain: str) -> None:
    assert unescape_pasted(plain) == plain


def test_html_entities_are_decoded() -> None:
    assert unescape_pasted("Code=&quot;AuthorizationFailed&quot; &#39;x&#39;") == "Code=\"AuthorizationFailed\" 'x'"


def test_unprintable_code_points_stay_escaped() -> None:
    assert unescape_pasted('\\"a\\u0000b\\"') == '"a\\u0000b"'


def test_escaped_inventory_examples_get_the_category_of_the_printed_message(kb) -> None:
    assert len(SPECIFIC) > 50
    for example in SPECIFIC:
        printed = diagnose(example, rules=kb).category
        variants = {
            "json string": '"message": "' + json.dumps(example)[1:-1] + '"',
            "json twice": json.dumps(json.dumps(example)),
            "html": html.escape(example),
        }
        for how, text in variants.items():
            assert diagnose(text, rules=kb).category == printed, (how, example)

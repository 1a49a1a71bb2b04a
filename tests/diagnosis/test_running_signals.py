"""The running analysis reads its prompt/restart/sysprep/download/failure signals from the knowledge base."""

from __future__ import annotations

import json

import pytest

from diagnosis.rules import KnowledgeBaseError, load_knowledge_base, parse_rules
from diagnosis.running import analyze_running
from diagnosis.runsignals import running_knowledge

KB = load_knowledge_base(use_env=False)


def test_builtin_entries_carry_every_running_signal():
    know = running_knowledge(KB)
    assert know.search("prompt", "Do you want to continue? [Y/n]")
    assert know.search("restart", "==> azure-arm: Waiting for machine to restart...")
    assert know.ended("restart", "    azure-arm: pkrvm123 restarted.")
    assert know.search("sysprep-loop", "IMAGE_STATE_UNDEPLOYABLE")
    assert know.search("agent-missing", "Cannot find any service with service name 'RdAgent'.")
    m = know.search("download", "app.zip 12 MB / 300 MB  4.00%")
    assert m and m.group("total") == "300" and m.group("tu") == "MB"
    assert know.search("failed", "Script exited with non-zero exit status: 1")
    assert not know.search("prompt", "Reading package lists... Done")


def test_a_user_entry_adds_a_prompt_the_analysis_recognizes(tmp_path):
    tail = "\n".join(
        [
            "[00000000-0000-0000-0000-000000000001] PACKER ERR 2024/03/01 10:00:00 [INFO] (telemetry) "
            "Starting provisioner shell",
            "[00000000-0000-0000-0000-000000000001] PACKER OUT     azure-arm: Type the licence key now >>",
        ]
    )
    assert analyze_running(tail, 10, rules=KB).waiting_on != "prompt"
    rules = tmp_path / "prompt.json"
    rules.write_text(
        json.dumps(
            {
                "rules": [
                    {
                        "id": "licence-key-prompt",
                        "category": "interactive-prompt",
                        "title": "Installer asks for a licence key",
                        "log_patterns": ["Type the licence key now"],
                        "remediation": ["Pass the key on the command line."],
                        "running": [{"signal": "prompt", "patterns": ["Type the licence key now"]}],
                    }
                ]
            }
        )
    )
    kb = load_knowledge_base([rules], use_env=False)
    a = analyze_running(tail, 10, rules=kb)
    assert a.waiting_on == "prompt" and a.category == "interactive-prompt"


@pytest.mark.parametrize(
    ("running", "problem"),
    [
        ([{"signal": "nap", "patterns": ["x{3}"]}], "must be one of"),
        ([{"signal": "download", "patterns": ["(?P<file>\\S+) \\d+%"]}], "named groups"),
        ([{"signal": "prompt", "patterns": []}], "at least one pattern"),
        ([{"signal": "prompt", "patterns": ["(unclosed"]}], "invalid regex"),
        ({"signal": "prompt"}, "must be a list"),
    ],
)
def test_running_field_is_validated(running, problem):
    entry = {
        "id": "x",
        "category": "interactive-prompt",
        "title": "x",
        "log_patterns": ["xyz"],
        "remediation": ["fix"],
        "running": running,
    }
    with pytest.raises(KnowledgeBaseError, match=problem):
        parse_rules({"rules": [entry]})

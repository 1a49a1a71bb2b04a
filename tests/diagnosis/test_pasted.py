"""Escaped pasted text (a message inside a JSON string, HTML entities) is diagnosed like the printed message."""

from __future__ import annotations

import html
import json

import pytest

from diagnosis import diagnose
from diagnosis.pasted import _drop_line_number_gutter, clixml_lines, unescape_pasted
from diagnosis.rules import BUILTIN_DIR, load_knowledge_base
from tests.diagnosis.realscoring import REAL, scoring

INVENTORY = json.loads((BUILTIN_DIR / "inventory" / "messages.json").read_text(encoding="utf-8"))
SPECIFIC = [
    example
    for entry in INVENTORY["entries"]
    if entry["resolves"] not in ("failure-signal", "ambiguous", "benign", "recovered", "not-a-failure")
    and not entry["resolves"].startswith("record-")  # error records are read at a line's start, not quoted
    for example in entry["examples"]
]


def _sample(examples: list[str], every: int, offset: int = 0) -> list[str]:
    """One example in ``every``, chosen by a hash of its text (as the wrap tests choose reports): a new inventory line
    joins a sample without changing which of the others are in it."""
    return [example for example in examples if scoring.name_hash(example) % every == offset]


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


@pytest.fixture(scope="module")
def printed(kb) -> dict[str, str]:
    """The category of each inventory example the escaping tests read, as printed."""
    read = set(_sample(SPECIFIC, 4)) | set(_sample(SPECIFIC, 6, 1))
    return {example: diagnose(example, rules=kb).category for example in read}


def test_escaped_inventory_examples_get_the_category_of_the_printed_message(kb, printed) -> None:
    assert len(SPECIFIC) > 50
    for example in _sample(SPECIFIC, 4):  # a fourth: the unescaping does not depend on the message
        # unescaped, JSON leaves the message after a key or a quote, where a shape anchored at a line's start
        # does not match: those variants get the category of the message with the same key or quote around it
        in_field = '"message": "' + example + '"'
        in_quotes = '"' + example + '"'
        variants = {
            "json string": ('"message": "' + json.dumps(example)[1:-1] + '"', diagnose(in_field, rules=kb).category),
            "json twice": (json.dumps(json.dumps(example)), diagnose(in_quotes, rules=kb).category),
            "html": (html.escape(example), printed[example]),
        }
        for how, (text, category) in variants.items():
            assert diagnose(text, rules=kb).category == category, (how, example)


@pytest.mark.parametrize("line_end", ["\r\n", "\r\r\n", "\r"])
def test_a_message_with_windows_or_old_mac_line_ends_reads_as_with_line_feeds(kb, line_end) -> None:
    several_lines = [example for example in SPECIFIC if example.count("\n") >= 2]
    assert len(several_lines) > 20
    for example in _sample(several_lines, 3):
        expected = diagnose(example, rules=kb)
        got = diagnose(example.replace("\n", line_end), rules=kb)
        assert (got.category, got.rule_id) == (expected.category, expected.rule_id), example


@pytest.mark.parametrize(
    ("wrapped", "line"),
    [
        ("> Error: the build failed", "Error: the build failed"),
        ("> > Error: the build failed", "Error: the build failed"),
        ("2024-01-19T12:22:07.4918893Z ##[error]Packer build failed", "##[error]Packer build failed"),
        ("build\tRun packer\t2024-06-12T14:37:59.1234567Z ==> azure-arm: Done", "==> azure-arm: Done"),
        ("> 2024-01-19T12:22:07Z Error: x", "Error: x"),
        ("2024-01-19T12:22:07.491918Z 01O ==> azure-arm: Done", "==> azure-arm: Done"),
        ("2024-01-19T12:22:07.491918Z 02E+E: Unable to locate package x", "E: Unable to locate package x"),
        ("[2024-01-19T12:22:07.491Z] Build 'azure-arm' errored", "Build 'azure-arm' errored"),
        ("2024-01-19T12:22:07Z: ==> azure-arm: Done", "==> azure-arm: Done"),
        ("2024-01-19T13:22:07+01:00:     azure-arm: E: x", "    azure-arm: E: x"),
        ("\u2502 Error: creating Image: unexpected status 400", "Error: creating Image: unexpected status 400"),
        ("\u2577\n\u2502 Error: x\n\u2502 \n\u2575", "\nError: x\n\n"),
        (
            "Apr 29 06:12:39 buildvm cloud-init[1234]: Failed to run module scripts-user",
            "Failed to run module scripts-user",
        ),
        ("Apr  9 06:12:39 vm1 waagent: Event: name=x", "Event: name=x"),
        ("\x1b[1;32m==> azure-arm: Connected to SSH!\x1b[0m", "==> azure-arm: Connected to SSH!"),
        (
            "[1;31m==> azure-arm: Script exited with non-zero exit status: 1[0m",
            "==> azure-arm: Script exited with non-zero exit status: 1",
        ),
        ("a\u00a0no-break\u202fspace and zero\u200bwidth", "a no-break space and zerowidth"),
        (
            "The term \u2018winget\u2019 is not recognized, \u201cC:\\x\u201d isn\u2019t there\u2026",
            "The term 'winget' is not recognized, \"C:\\x\" isn't there...",
        ),
        ("VERBOSE: ==> azure-arm: Done", "==> azure-arm: Done"),
        (
            "2026-02-11T14:58:04.6688682Z [33;1mVERBOSE:     azure-arm.ubuntu2204: TASK [x]",
            "    azure-arm.ubuntu2204: TASK [x]",
        ),
        ("> DEBUG: E: Unable to locate package x", "E: Unable to locate package x"),
        ("1589606815,,ui,say,==> azure-arm: done%!(PACKER_COMMA) moving on", "==> azure-arm: done, moving on"),
        ("1589606815,azure-arm,error,Script exited\\nnext", "Script exited\nnext"),
        (
            "2024-01-19T12:22:07.4918893Z 1589606815,,ui,error,==> azure-arm: bash: $'\\r': command not found",
            "==> azure-arm: bash: $'\\r': command not found",
        ),
    ],
)
def test_quote_markers_ci_prefixes_colour_codes_and_web_page_spaces_are_removed(wrapped: str, line: str) -> None:
    assert unescape_pasted(wrapped) == line


def test_a_line_number_gutter_that_runs_on_from_line_to_line_is_removed() -> None:
    numbered = " 998 | amazon-ebs.linux: Building for 6.5.0\n 999 | amazon-ebs.linux: Error! Bad return status\n"
    numbered += "1000 |     amazon-ebs.linux: Consult make.log"
    assert unescape_pasted(numbered).split("\n") == [
        "amazon-ebs.linux: Building for 6.5.0",
        "amazon-ebs.linux: Error! Bad return status",
        "    amazon-ebs.linux: Consult make.log",
    ]


@pytest.mark.parametrize(
    "numbered",
    [
        "Line | Count\n  1 | 2\n  3 | 4\n  7 | 8",  # a table: its numbers do not run on
        "  12 | a\n  13 | b",  # two lines are no run
        "Line |\n  12 |  Install-Module x\n     |  ~~~~~~~~~~~~~~~\n     | No match was found",  # a concise view
    ],
)
def test_numbers_before_bars_that_are_no_gutter_stay(numbered: str) -> None:
    assert _drop_line_number_gutter(numbered) == numbered


@pytest.mark.parametrize(
    "kept",
    [
        ">>> Sysprep complete",
        "> > > three levels",
        "a > b",
        "2024-01-19 12:22 started",
        "Allowed exit codes are: [0]",
        "timeout [10m]",
        "array[3]m",
        "[opid] PACKER OUT",
        "2024/03/01 10:00:00 [INFO] Packer version: 1.9.4",
        "[2024-01-19 12:22:07] started",
        "\u251c\u2500\u2500 file",
        "Apr 29 06:12:39 started",
        "    azure-arm: VERBOSE: Removing Provisioned Package x",
        "VERBOSE:",
        "1392158785,amazon-ebs,artifact-count,1",
        "1589606815 errors, ui, say",
        "| 12 | x |",
        "2 || exit 1",
    ],
)
def test_script_output_inner_angle_brackets_and_brackets_that_are_no_colour_code_stay(kept: str) -> None:
    assert unescape_pasted(kept) == kept


def test_quoted_or_ci_prefixed_inventory_examples_get_the_category_of_the_printed_message(kb, printed) -> None:
    for example in _sample(SPECIFIC, 6, 1):  # a sixth: the prefixes are removed the same way whatever the message
        lines = example.split("\n")
        variants = {
            "quoted": "\n".join("> " + line for line in lines),
            "azure devops": "\n".join("2024-01-19T12:22:07.4918893Z " + line for line in lines),
            "github actions": "\n".join("build\tRun packer\t2024-06-12T14:37:59.1234567Z " + line for line in lines),
            # a reporter's Markdown: a line that starts at the margin marked up as code or in bold
            "markdown": "\n".join(f"`{ln}`" if ln[:1].strip() and "`" not in ln else ln for ln in lines),
            "markdown bold": "\n".join(f"**{ln}**" if ln[:1].strip() and "*" not in ln else ln for ln in lines),
            # a reporter's Markdown list of the messages seen
            "markdown list": "\n".join(f"- `{ln}`" if ln[:1].strip() and "`" not in ln else ln for ln in lines),
            "numbered list": "\n".join(f"1. {ln}" if ln[:1].strip() else ln for ln in lines),
        }
        for how, text in variants.items():
            assert diagnose(text, rules=kb).category == printed[example], (how, example)


@pytest.mark.parametrize(
    ("marked", "plain"),
    [
        (
            "**sed: -e expression #1, char 23: unterminated `s' command**",
            "sed: -e expression #1, char 23: unterminated `s' command",
        ),
        ("`ResolvePackageNotFound: `", "ResolvePackageNotFound: "),
        # each line of a wrapped message in its own code marks: the marks go before the lines join
        (
            "`An error occurred while downloading the remote file. The error`\n`message, if any, is reproduced below.`",
            "An error occurred while downloading the remote file. The error message, if any, is reproduced below.",
        ),
    ],
)
def test_markdown_marks_around_whole_lines_are_dropped(marked: str, plain: str) -> None:
    assert unescape_pasted(marked) == plain


@pytest.mark.parametrize(
    "kept",
    [
        "+ apt-get install -y nginx",
        "+ CategoryInfo          : NotSpecified: (:) [], RuntimeException",
        "- 5 packages",
        "--> azure-arm",
    ],
)
def test_shell_traces_error_records_and_what_is_no_list_item_keep_their_marks(kept: str) -> None:
    assert unescape_pasted(kept) == kept


def test_packer_machine_readable_output_is_diagnosed_as_the_messages_it_carries(kb) -> None:
    text = (
        "1589606815,,ui,say,==> azure-arm: Provisioning with shell script: /tmp/install.sh\n"
        "1589606815,,ui,message,    azure-arm: E: Unable to locate package contoso-agent\n"
        "1589606815,,ui,error,==> azure-arm: Script exited with non-zero exit status: 100.%!(PACKER_COMMA)"
        " Allowed exit codes are: [0]\\n==> azure-arm: Step \"StepProvision\" failed\n"
        "1589606815,azure-arm,error,Script exited with non-zero exit status: 100\n"
    )
    d = diagnose(text, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "linux-package-not-found")
    assert "E: Unable to locate package contoso-agent" in d.evidence[0].text
    assert not any("PACKER_COMMA" in e.text or "\\n" in e.text for e in d.evidence)


def test_a_quoted_reporter_sentence_still_states_the_failure(kb) -> None:
    text = "> Our Windows image build fails every night since the update.\n> Any idea?"
    assert diagnose(text, rules=kb).category == "unknown"


def test_a_quoted_reply_reads_as_the_text_it_quotes() -> None:
    """A reply quotes every line, its empty lines too, and quotes a viewer's numbered lines with their gutter; a quoted
    line as wide as a console is not joined with the quoted line below it."""
    text = "\n".join(
        [
            'Error: Failed preparing post-processor-block "docker-import" ""',
            "",
            "  on ./config.pkr.hcl line 64:",
            "1344 | amazon-ebs.linux: debconf: unable to initialize frontend: Dialog",
            "1345 | amazon-ebs.linux: Error! Bad return status for module build on kernel: 6.5.0-1015-aws (x86_64)",
            "x" * 118,
            "next line",
        ]
    )
    quoted = "\n".join("> " + line for line in text.split("\n"))
    assert unescape_pasted(quoted) == unescape_pasted(text)


MAX_CHANGED_SHARE = 0.01  # of the sample's answers a wrapping may change


def _in_sample(name: str) -> bool:
    return scoring.name_hash(name) % 54 == 1  # % 3 == 1: never the held-out third


@pytest.fixture(scope="module")
def plain_answers(kb) -> dict[str, str]:
    """The answer to a thirty-sixth of the tuning reports as they were written: chosen by the hash of the file name, so
    that new reports join the sample without changing who else is in it."""
    sample = {p.name for p in REAL.glob("*.txt") if _in_sample(p.name)}
    return {r.name: r.got for r in scoring.evaluate(kb, REAL, split="tuned", only=sample)}


@pytest.mark.parametrize("wrap", sorted(scoring.WRAPPINGS))
def test_wrapped_real_reports_get_the_same_answers(kb, plain_answers, wrap) -> None:
    """A real report quoted line by line in a reply, inside a CI system's log or Image Builder's customization.log,
    copied from a web page or a console that cuts lines at its width, or with a terminal's colour codes reads as the
    report itself (a thirty-sixth of the tuning reports; at most one in a hundred answers changes; the benchmark's
    ``--wrap`` measures all of them)."""
    changed = [
        f"  {r.name}: {plain_answers[r.name]} -> {r.got}"
        for r in scoring.evaluate(kb, REAL, split="tuned", only=set(plain_answers), wrap=wrap)
        if r.got != plain_answers[r.name]
    ]
    assert len(changed) <= len(plain_answers) * MAX_CHANGED_SHARE, f"{wrap}: answers changed:\n" + "\n".join(changed)


# PowerShell's error stream over WinRM as Packer prints it: one CLIXML line of string records and a progress object
_RECORDS = (
    "Install-Package : No match was found for the specified search criteria and package name _x000D__x000A_",
    "&apos;contoso-agent&apos;. Try Get-PackageSource to see all available registered package sources._x000D__x000A_",
    "    + FullyQualifiedErrorId : NoMatchFoundForCriteria,Microsoft.PowerShell.PackageManagement.Cmdlets."
    "InstallPackage_x000D__x000A_",
)
_PROGRESS = (
    '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN><MS>'
    '<PR N="Record"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /></PR></MS></Obj>'
)


def _clixml_error(progress: str) -> str:
    return (
        "==> azure-arm: Provisioning with powershell script: ./install.ps1\n"
        "==> azure-arm: #< CLIXML\n"
        '==> azure-arm: <Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        + progress
        + "".join(f'<S S="Error">{record}</S>' for record in _RECORDS)
        + "</Objs>\n==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]\n"
    )


def test_clixml_records_are_the_lines_they_print() -> None:
    prefix, printed = clixml_lines(_clixml_error(_PROGRESS).splitlines()[2])
    assert prefix == "==> azure-arm: "
    assert printed == [
        "Install-Package : No match was found for the specified search criteria and package name",
        "'contoso-agent'. Try Get-PackageSource to see all available registered package sources.",
        "    + FullyQualifiedErrorId : NoMatchFoundForCriteria,Microsoft.PowerShell.PackageManagement.Cmdlets."
        "InstallPackage",
    ]  # the progress object's texts are no printed line
    assert clixml_lines("Install-Package : <name> not found") is None
    cut = clixml_lines('x: <Objs Version="1.1.0.1"><S S="Warning">WARNING: disk _x0009_low')
    assert cut == ("x: ", ["WARNING: disk \tlow"])  # a record cut off with the line keeps its text


def test_a_record_copied_without_its_clixml_ends_its_line_at_the_escaped_newline(kb) -> None:
    """A record's text copied out of the CLIXML keeps its escaped CR LF (the closing "_" cut off with the line)."""
    text = (
        '    azure-arm: Exception calling "DownloadString" with "1" argument(s): "The request was aborted: Could not '
        "create SSL/TLS secure _x000D__x000A\n    azure-arm: At C:\\Windows\\Temp\\script.ps1:3 char:1_x000D__x000A_\n"
        "==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]"
    )
    assert "_x000" not in unescape_pasted(text)
    assert diagnose(text, rules=kb).rule_id == "guest-download-tls-protocol"


def test_pasted_clixml_is_diagnosed_and_shown_as_the_error_it_holds(kb) -> None:
    d = diagnose(_clixml_error(_PROGRESS), rules=kb)
    assert d.category == "customizer-failed" and d.rule_id == "windows-package-not-found"
    shown = " ".join([d.summary, *(e.text for e in d.evidence)])
    assert "No match was found" in shown
    assert not any(mark in shown for mark in ("<S S=", "_x000D_", "&apos;", "<Objs", "Preparing modules"))


def test_clixml_in_a_log_line_is_shown_as_the_error_it_holds(kb) -> None:
    """The log is scanned as written (its lines are not rewritten); the evidence shows what the records print."""
    op = "[7c3e9a12-4b5d-4e8f-9a61-2f0d3c5b8e71] PACKER OUT "
    log = "".join(op + line + "\n" for line in _clixml_error("").splitlines()).encode()
    d = diagnose(None, log=log, rules=kb)
    assert d.rule_id == "windows-package-not-found"
    first = d.evidence[0].text
    assert "No match was found" in first and "'contoso-agent'" in first and "<S S=" not in first

"""Lines a console cut at its width, a mail client wrapped at word boundaries, or PowerShell 7's ConciseView split,
read whole again."""

from __future__ import annotations

import textwrap
import time

import pytest

from diagnosis import diagnose
from diagnosis.pasted import unescape_pasted
from diagnosis.rules import load_knowledge_base
from tests.diagnosis.realscoring import scoring


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base()


def test_a_report_copied_from_a_console_is_read_with_its_lines_whole(kb) -> None:
    # cut inside a word at both widths ("criter|ia", "monit|oring"): a console's hard wrap, not a line's own end
    line = (
        "==> azure-arm: Install-Package : No match was found for the specified search criteria and package name "
        "'contoso-monitoring-agent'. Try Get-PackageSource to see all available registered package sources."
    )
    exit_line = "==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]"
    whole = f"{line}\n{exit_line}\n"
    for width in (80, 120):
        wrapped = scoring.WRAPPINGS[f"console-{width}"](whole)
        assert unescape_pasted(wrapped) == unescape_pasted(whole), width
        assert diagnose(wrapped, rules=kb).evidence[0].text == line


@pytest.mark.parametrize(
    "cut",
    [
        ("x" * 75 + " net.", "webclient).DownloadString(url)"),  # inside a name, at a dot
        ("x" * 73 + " Could ", "not create SSL/TLS secure channel"),  # after the space that stood there
        ("x" * 76 + " log", " into the VM as the user"),  # before it
    ],
)
def test_a_console_cut_next_to_a_space_or_inside_a_name_is_joined_again(cut: tuple[str, str]) -> None:
    line, rest = cut
    assert len(line) == 80
    assert unescape_pasted(f"{line}\n{rest}\nnext line") == f"{line}{rest}\nnext line"


@pytest.mark.parametrize("width", [79, 119])
def test_powershell_output_cut_one_column_short_of_the_console_is_joined_again(kb, width: int) -> None:
    # PowerShell's formatter leaves the console's last column unwritten: an 80- or 120-column window cuts at 79 or 119
    record = (
        "New-AzResourceGroupDeployment : 09:14:02 - Resource Microsoft.Compute/virtualMachines/extensions 'vm/setup' "
        "failed with message 'VM has reported a failure when processing extension 'setup'. Error message: \"Invoking "
        "web request failed with error. The remote server returned an error: (404) Not Found.\"'"
    )
    cut = "\n".join(record[i : i + width] for i in range(0, len(record), width))
    assert unescape_pasted(cut) == record
    assert diagnose(cut, rules=kb).category == "customizer-download-failed"


def test_a_bordered_table_of_one_width_is_not_joined() -> None:
    rows = [("win2022", "Failed"), ("ubuntu", "Ok")] * 3
    table = "\n".join(f"|{name:<38}|{state:<39}|" for name, state in rows)
    assert unescape_pasted(table) == table


def test_lines_of_one_width_that_end_where_a_word_ends_are_not_joined() -> None:
    table = "\n".join(f"{name:<40}{state:<40}" for name, state in [("win2022-image", "Failed"), ("ubuntu", "Ok")] * 3)
    assert unescape_pasted(table) == table


def test_a_text_wrapped_at_word_boundaries_reads_as_its_lines() -> None:
    """A message its program, a mail client or a commit-message editor wrapped at word boundaries is joined again;
    the records of a log around it stay lines of their own."""
    message = (
        "Failed to upload a file to the guest VM via SCP due to a permissions\n"
        "error. This is normally because the SSH user doesn't have permission\n"
        "to write to the destination location."
    )
    assert unescape_pasted(message) == message.replace("\n", " ")
    log = (
        "2024-03-08T12:02:28-05:00:     amazon-ebs:\n"
        "/home/ec2-user/script_2147.sh: line 19: /usr/bin/kubelet: Permission\n"
        "denied\n"
        "2024-03-08T12:02:28-05:00: ==> amazon-ebs: Provisioning step had errors:\n"
        "Running the cleanup provisioner, if present...\n"
        "Build 'amazon-ebs' errored after 4 minutes 2 seconds: Script exited with\n"
        "non-zero exit status: 1. Allowed exit codes are: [0]"
    )
    assert unescape_pasted(log).split("\n") == [  # Packer's times go as a CI system's do
        "    amazon-ebs: /home/ec2-user/script_2147.sh: line 19: /usr/bin/kubelet: Permission denied",
        "==> amazon-ebs: Provisioning step had errors: Running the cleanup provisioner, if present...",
        "Build 'amazon-ebs' errored after 4 minutes 2 seconds: Script exited with non-zero exit status: 1. Allowed exit"
        " codes are: [0]",
    ]
    table = "name    state     size\nalpha   running   10\nbeta    stopped   20\n"
    assert unescape_pasted(table) == table
    fetches = [  # a URL longer than the width stood alone on its line, and no line of words reaches the width
        "==> arm: E: Failed to fetch http://ports.ubuntu.com/ubuntu-ports/pool/main/g/gcc-9/gcc-9_9.3.0-17ubuntu1"
        f"~20.04_{arch}.deb Temporary failure resolving 'ports.ubuntu.com'"
        for arch in ("arm64", "armhf")
    ]
    wrapped = "\n".join(textwrap.fill(line, 72, break_long_words=False, break_on_hyphens=False) for line in fetches)
    assert len(wrapped.split("\n")) == 6
    assert unescape_pasted(wrapped) == "\n".join(fetches)
    kept_apart = (
        [  # a path too long for the line it was on; a number after a word and a colon
            "    vmware-iso: 'C:\\Users\\ADMINI~2\\AppData\\Local\\Temp\\packer-shell138523863\\"
            "packer-shell-script.cmd' is not recognized as an internal or external command,",
            "    azure-arm.build_vhd: Installation process returned unexpected exit code: 1603",
        ],
        [  # Packer's message without its build's prefix starts a line of its own
            'error: Permission denied (os error 13) at path "/var/folders/sk/1rps9wzs79zdj9f2wz8m0yf00000gn/T/.tmpjK"',
            "Provisioning step had errors: Running the cleanup provisioner, if present...",
        ],
        [  # a log record cut right after its prefix goes on with its message; the next record stays apart
            "[d4e4e1ff-57a5-4aa1-b3b6-83e0d11e6550] PACKER ERR 2024/11/04 18:20:10 ui error: ==> azure-arm:"
            " System.Management.Automation.ParameterBindingValidationException: Cannot validate argument on"
            " parameter 'Optimizations'.",
            "[d4e4e1ff-57a5-4aa1-b3b6-83e0d11e6550] PACKER ERR 2024/11/04 18:20:11 ui error: ==> azure-arm:"
            " Provisioning step had errors: Running the cleanup provisioner, if present...",
        ],
        [  # a PowerShell parameter is no list item
            "PACKER OUT ==> azure-arm: Unexpected token ':[\"Get-WindowsCapability -Name RSAT* -Online |"
            ' Add-WindowsCapability -Online"]\' in expression or statement.',
        ],
        [  # a qualified exception name starts a line of its own, though a number follows its colon
            "I run the build from a pipeline.",
            "google.api_core.exceptions.ServiceUnavailable: 400 aaaaaaaaa",
        ],
    )
    for lines in kept_apart:
        wrapped = "\n".join(textwrap.fill(line, 72, break_long_words=False, break_on_hyphens=False) for line in lines)
        assert unescape_pasted(wrapped) == "\n".join(lines)


def test_a_text_wrapped_at_word_boundaries_to_80_columns_is_no_console_cut() -> None:
    """A line that fills 80 columns in text wrapped at word boundaries ends where a word ends: joined with a space,
    as the other wrapped lines are, not glued to the next word as a console's cut."""
    lines = [
        "    azure-arm: The installer of the monitoring agent xxxxxxx could not reach its download server and gave up"
        " after three attempts at the configured endpoint of the vendor.",
        "    azure-arm: Install-Package : No match was found for the specified search criteria and package name"
        " 'contoso-agent'. Try Get-PackageSource to see all available registered package sources.",
    ]
    wrapped = "\n".join(textwrap.fill(line, 80, break_long_words=False, break_on_hyphens=False) for line in lines)
    assert 80 in map(len, wrapped.split("\n"))
    assert unescape_pasted(wrapped) == "\n".join(lines)


def test_a_log_record_after_a_line_as_wide_as_a_console_stays_a_line_of_its_own() -> None:
    first = "2024/05/01 10:00:00 packer-provisioner-shell plugin: " + "x" * (120 - 53 - 4) + " end"
    log = f"{first}\n2024/05/01 10:00:01 packer-provisioner-shell plugin: next record\nplain line"
    assert len(first) == 120
    assert unescape_pasted(log) == log


def test_a_ci_log_line_as_wide_as_a_console_keeps_the_prefixed_line_after_it(kb) -> None:
    """A GitHub Actions log downloaded with its ``<job>\\t<step>\\t<time>`` prefix: a line that happens to be as wide
    as a console is no cut when the next line starts with the same prefix (even an empty line of the log)."""
    prefix = "build\tRun packer\t2024-06-12T14:37:59.1234567Z "
    failed = "/usr/share/lxc/templates/lxc-fedora: line 1078: openssl: command not found"
    first = prefix + failed
    assert len(first) == 120
    log = f"{first}\n{prefix}"
    assert unescape_pasted(log) == failed + "\n"
    assert diagnose(log, rules=kb).category == "customizer-failed"


def test_a_list_item_as_wide_as_a_console_keeps_the_next_item_apart(kb) -> None:
    """A reporter lists the lines he saw as Markdown items: an item that happens to be as wide as a console is no cut
    when the next line is an item of its own (a cut would glue the next item's marks into the message)."""
    first = '- `error: cannot install "docker": snap "docker" assumes unsupported features:`'
    assert len(first) == 79  # a console's width less the column PowerShell leaves free
    listed = f"{first}\n- `snapd2.59.1 (try to refresh snapd)`"
    # the items lose their marks first; the message the reporter's console had wrapped is then one line again
    assert unescape_pasted(listed).endswith("assumes unsupported features: snapd2.59.1 (try to refresh snapd)")
    assert diagnose(listed, rules=kb).rule_id == "snap-assumes-newer-snapd"


def test_a_tool_line_as_wide_as_a_console_keeps_the_tools_next_line_apart(kb) -> None:
    """Two lines of one tool (``tar: ``): the first happens to be as wide as a console and ends inside a word as the
    next begins with one, yet the next line starts with the tool's own name, so it is a line of its own."""
    first = "tar: nginx-1.25.5: Cannot change ownership to uid 502, gid 20: Invalid argument"
    assert len(first) == 79  # a console's width less the column PowerShell leaves free
    text = f"{first}\ntar: Exiting with failure status due to previous errors"
    assert unescape_pasted(text) == text
    assert diagnose(text, rules=kb).category == "customizer-failed"


# PowerShell 7's ConciseView of an error in a script, as Packer prints a pwsh script's error stream
_CONCISE = [
    "==> azure-arm: Provisioning with powershell script: /tmp/install.ps1",
    "    azure-arm: Invoke-WebRequest: C:\\Windows\\Temp\\install.ps1:12",
    "    azure-arm: Line |",
    "    azure-arm:   12 |  Invoke-WebRequest -Uri $url -OutFile $out",
    "    azure-arm:      |  ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
    "    azure-arm:      | Response status code does not indicate success: 404",
    "    azure-arm:      | (Not Found).",
    "==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
]


def test_a_concise_view_message_cut_at_the_console_width_reads_as_one_record_line(kb) -> None:
    lines = unescape_pasted("\n".join(_CONCISE)).split("\n")
    message = "Invoke-WebRequest : Response status code does not indicate success: 404 (Not Found)."
    assert "    azure-arm: " + message in lines
    assert "    azure-arm:   12 |  Invoke-WebRequest -Uri $url -OutFile $out" in lines  # where it failed stays
    d = diagnose("\n".join(_CONCISE), rules=kb)
    assert d.evidence[0].text.endswith(message)


def test_a_concise_view_record_without_its_head_line_keeps_the_message_alone() -> None:
    text = "Line |\n 279 |  $v = New-AzGalleryImageVersion `\n     |       ~~~~~~~~~~~~\n"
    text += "     | The security type\n     | is not supported."
    assert unescape_pasted(text).split("\n")[-1] == "The security type is not supported."


def test_concise_view_message_lines_pasted_without_their_header_join_the_line_above(kb) -> None:
    """A reply quotes a ConciseView record from its message on: the lines behind the bar continue the line above."""
    text = (
        "Status Message: The property\n"
        "     | 'securityProfile.encryptionAtHost' is not valid because the\n"
        "     | 'Microsoft.Compute/EncryptionAtHost' feature is not enabled\n"
        "     | for this subscription. (Code:InvalidParameter)"
    )
    joined = "Status Message: The property 'securityProfile.encryptionAtHost' is not valid because the "
    joined += "'Microsoft.Compute/EncryptionAtHost' feature is not enabled for this subscription."
    joined += " (Code:InvalidParameter)"
    assert unescape_pasted(text) == joined
    assert diagnose(text, rules=kb).category == "provider-not-registered"


def test_a_table_with_bars_is_no_concise_view_record() -> None:
    table = "Line | Count\n  1 | 2\n     | total 3"
    assert unescape_pasted(table) == table


def test_hostile_concise_view_lookalikes_take_linear_time() -> None:
    text = " " * 1_000_000 + "Line |\nLine |\n" + ("     | " + " " * 5000 + "x\n") * 200
    started = time.process_time()
    unescape_pasted(text)
    assert time.process_time() - started < 2

"""``python -m diagnosis [--json] [--template FILE] [--rules FILE] [INPUT ...]``.

INPUT is a customization.log (or validation.log), a saved status message, ``az image builder show`` JSON, or
pasted error output (pipeline log, az or PowerShell error); ``-`` reads stdin, and pipes, FIFOs and process
substitution work like files. Each input is recognised by its content.

Exit status (``EXIT_CODES`` maps every exception to one; no input produces a traceback): 0 no failure found,
1 a failure was diagnosed (including ``unknown``), 2 usage or input error (missing file, directory, input too
large or nested too deeply, invalid rules), 3 internal error (``DIAGNOSIS_DEBUG=1`` prints its traceback),
130 interrupted, 141 output pipe closed.
"""

from __future__ import annotations

import argparse
import codecs
import io
import itertools
import json
import os
import sys
import textwrap
import traceback
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO

from diagnosis.engine import diagnose
from diagnosis.i18n import LANGUAGES, localize_diagnosis
from diagnosis.inputs import (
    MAX_JSON_DEPTH,
    BoundedReader,
    InputError,
    json_depth_exceeds,
    looks_binary,
    open_input,
    parse_json,
    path_kind,
    read_bounded,
)
from diagnosis.model import Diagnosis
from diagnosis.pasted import plain_line_ends, plain_text, unescape_pasted
from diagnosis.redact import redact, redact_json
from diagnosis.rules import RULES_ENV, KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from diagnosis.scanner import CHUNK, sniff_is_log, split_log_preamble

HEAD = 64 << 10
MAX_TEXT = 8 << 20  # a non-log input larger than this is scanned like a log (streamed)


EXIT_NO_FAILURE, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
DEBUG_ENV = "DIAGNOSIS_DEBUG"


class UsageError(Exception):
    pass


# Exception -> (exit status, message template); the first matching class wins. Anything else is an internal
# error (EXIT_INTERNAL), reported in one line.
EXIT_CODES: tuple[tuple[type[BaseException], int, str], ...] = (
    (BrokenPipeError, 141, ""),  # the reader went away (``| head``): nothing more to say
    (UsageError, EXIT_USAGE, "{exc}"),
    (InputError, EXIT_USAGE, "{exc}"),
    (KnowledgeBaseError, EXIT_USAGE, "invalid rules: {exc}"),
    (RecursionError, EXIT_USAGE, "input nested too deeply to read"),
    (MemoryError, EXIT_USAGE, "input too large to hold in memory"),
    (OSError, EXIT_USAGE, "cannot read input: {exc}"),
    (KeyboardInterrupt, 130, "interrupted"),
)


def exit_status(exc: BaseException) -> tuple[int, str]:
    """The exit status and the one-line message for ``exc``."""
    for kind, status, template in EXIT_CODES:
        if isinstance(exc, kind):
            return status, template.format(exc=exc) if template else ""
    return EXIT_INTERNAL, f"internal error ({type(exc).__name__}: {exc}); set {DEBUG_ENV}=1 for the traceback"


def decode_text(data: bytes) -> str:
    """Lenient decoding: BOMs (UTF-8/UTF-16), NUL bytes, invalid UTF-8 replaced, lines ending in LF."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        text = data.decode("utf-16", "replace")
    elif data.startswith(codecs.BOM_UTF8):
        text = data[3:].decode("utf-8", "replace")
    else:
        text = data.decode("utf-8", "replace")
    return plain_line_ends(text)


def _chunks(fh: BinaryIO, head: bytes) -> Iterator[bytes]:
    yield head
    while True:
        block = fh.read(CHUNK)
        if not block:
            return
        yield block


def _classify(name: str, fh: BinaryIO) -> tuple[str, Any]:
    """('log', iterable) | ('json', obj) | ('text', str) | ('text+log', (str, iterable)): a short paste whose log
    lines follow other lines (a status message above a customization.log excerpt) is both."""
    head = fh.read(HEAD)
    text = decode_text(head)
    if looks_binary(head, text):
        raise InputError(f"{name}: binary data, not a log, a status message or JSON")
    whole = len(head) < HEAD  # short enough to be pasted: read as the program printed it
    if whole:
        text = plain_text(text)
        head = text.encode()
    rest = b""
    if decode_text(head[:4096]).lstrip().startswith(("{", "[")):
        rest = fh.read(MAX_TEXT)
        more = fh.read(1)
        if not more:
            try:
                value = json.loads(decode_text(head + rest))
            except RecursionError:
                raise InputError(f"{name}: JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
            except json.JSONDecodeError:
                pass
            else:
                if json_depth_exceeds(value):
                    raise InputError(f"{name}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
                return "json", value
        rest += more
    if whole:
        printed = unescape_pasted(text).encode()
        if not sniff_is_log(printed):
            return "text", text
        preamble, log = split_log_preamble(printed)
        return ("text+log", (preamble, [log])) if preamble.strip() else ("log", [printed])
    if not sniff_is_log(head):
        rest += fh.read(max(0, MAX_TEXT - len(rest)))
        more = fh.read(1)
        if not more:
            return "text", decode_text(head + rest)
        rest += more  # big pasted output: stream it like a log
    return "log", itertools.chain([head, rest], _chunks(fh, b""))


def _json_inputs(obj: Any, texts: list[str], templates: list[dict[str, Any]], pasted: list[str]) -> None:
    """Sort a JSON input: template / az show output, a status object, or an ARM error body; any other object's
    strings of several lines (a message, a command's output) go to ``pasted``, to be read as pasted inputs."""
    if isinstance(obj, list):
        for item in obj:
            _json_inputs(item, texts, templates, pasted)
        return
    if not isinstance(obj, dict):
        if _several_lines(obj):
            pasted.append(obj)
        else:
            texts.append(json.dumps(obj))
        return
    props = obj.get("properties") if isinstance(obj.get("properties"), dict) else obj
    if any(
        k in props for k in ("lastRunStatus", "provisioningState", "provisioningError", "customize", "source")
    ):
        templates.append(obj)
        return
    # lastRunStatus on its own, or an ARM error body {"error": {...}} / {"status": "Failed", "error": ...}
    if "runState" in obj or "runSubState" in obj:
        templates.append({"lastRunStatus": obj})
        return
    texts.append(json.dumps(_lifted(obj, pasted), indent=1))


def _lifted(value: Any, pasted: list[str]) -> Any:
    """``value`` with each string of several lines moved to ``pasted`` and left empty in its place."""
    if isinstance(value, dict):
        return {k: _lifted(v, pasted) for k, v in value.items()}
    if isinstance(value, list):
        return [_lifted(v, pasted) for v in value]
    if _several_lines(value):
        pasted.append(value)
        return ""
    return value


def _several_lines(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value.strip()


def run(
    argv: list[str] | None = None,
    *,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = argparse.ArgumentParser(
        prog="python -m diagnosis",
        description="Say why an Azure VM Image Builder build failed and what to do.",
        epilog="INPUT: customization.log, a saved status message, az image builder show JSON, or pasted "
        "error "
        "output; '-' reads stdin. Exit status: 0 no failure, 1 failure diagnosed, 2 usage or input error, "
        "3 internal error.",
    )
    parser.add_argument("inputs", nargs="*", metavar="INPUT")
    parser.add_argument("--json", action="store_true", help="print one JSON object (Diagnosis.to_dict())")
    parser.add_argument("--template", metavar="FILE", help="template JSON or 'az image builder show' output")
    parser.add_argument(
        "--rules",
        metavar="FILE",
        action="append",
        default=[],
        help="extra knowledge-base file (repeatable; also DIAGNOSIS_RULES)",
    )
    parser.add_argument(
        "--lang", choices=LANGUAGES, default="en", help="language of the title, cause and steps (default: en)"
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else 2
    try:
        diag = _run(args, stdin or sys.stdin.buffer)
        if args.json:
            stdout.write(json.dumps(redact_json(diag.to_dict()), ensure_ascii=False) + "\n")
        else:
            stdout.write(render(diag))
        stdout.flush()
    except (Exception, KeyboardInterrupt) as exc:  # every exception ends in an exit status, see EXIT_CODES
        status, message = exit_status(exc)
        if message:
            print(f"error: {redact(message)}", file=stderr)
        if status == EXIT_INTERNAL and os.environ.get(DEBUG_ENV):
            traceback.print_exception(exc, file=stderr)
        return status
    return EXIT_FAILURE if diag.failed else EXIT_NO_FAILURE


def _check_rules_file(path: str, label: str) -> None:
    """A rules file must be a regular file of bounded size and nesting (the loader reads it again)."""
    name = f"{label}{path}"
    kind = path_kind(path, label)  # checked before opening: opening a FIFO waits for a writer
    if kind != "a regular file":
        raise InputError(f"{name}: is {kind}; a rules file must be a regular file")
    with closing(open_input(path, label)) as fh:
        data = read_bounded(fh, name)
    parse_json(decode_text(data), name)


@dataclass
class _Inputs:
    """What the inputs hold, by kind: status and error texts, templates, and logs (with the input's name)."""

    texts: list[str] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    logs: list[tuple[str, Any]] = field(default_factory=list)

    def add(self, name: str, kind: str, value: Any) -> None:
        if kind == "json":
            pasted: list[str] = []
            _json_inputs(value, self.texts, self.templates, pasted)
            if pasted:  # read as if pasted on their own: a log excerpt, a status message, JSON
                self.add(name, *_classify(name, io.BytesIO("\n".join(pasted).encode())))
        elif kind == "text":
            if value.strip():
                self.texts.append(value)
        elif kind == "text+log":  # a status message pasted above a log excerpt
            self.texts.append(value[0])
            self.logs.append((name, value[1]))
        else:
            self.logs.append((name, value))

    def text(self) -> str | None:
        return "\n".join(self.texts) if self.texts else None

    def template(self) -> dict[str, Any] | None:
        return self.templates[0] if self.templates else None


def diagnose_input(data: bytes, rules: KnowledgeBase, *, name: str = "input") -> Diagnosis:
    """Diagnose one INPUT's bytes the way the command line treats it: a customization.log, JSON (status, template,
    error object) or pasted text."""
    read = _Inputs()
    read.add(name, *_classify(name, io.BytesIO(data)))
    return diagnose(read.text(), log=read.logs[0][1] if read.logs else None, template=read.template(), rules=rules)


def _run(args: argparse.Namespace, stdin: BinaryIO) -> Diagnosis:
    env_rules = [p for p in os.environ.get(RULES_ENV, "").split(os.pathsep) if p.strip()]
    for label, path in [(f"{RULES_ENV} ", p) for p in env_rules] + [("--rules ", p) for p in args.rules]:
        _check_rules_file(path, label)
    kb = load_knowledge_base(args.rules)
    template = None
    if args.template:
        name = f"--template {args.template}"
        with closing(open_input(args.template, "--template ")) as fh:
            data = read_bounded(fh, name)
        template = parse_json(decode_text(data), name)
        if not isinstance(template, dict):
            raise InputError(f"{name}: expected a JSON object")
    inputs = args.inputs
    if not inputs and template is None:
        if stdin is None or (
            hasattr(sys.stdin, "isatty") and stdin is sys.stdin.buffer and sys.stdin.isatty()
        ):
            raise UsageError("no INPUT given (a customization.log, a status message or '-' for stdin)")
        inputs = ["-"]
    read = _Inputs(templates=[template] if template else [])
    handles: list[BinaryIO] = []
    try:
        for name in inputs:  # every input is opened (and refused, if it must be) before any is read
            handles.append(
                BoundedReader(stdin, "stdin", "standard input")  # type: ignore[arg-type]
                if name == "-"
                else open_input(name)
            )
        for name, fh in zip(inputs, handles, strict=True):
            read.add(name, *_classify("stdin" if name == "-" else name, fh))
        log = validation_log = None
        for name, value in read.logs:
            if "validation" in os.path.basename(name).lower() and validation_log is None:
                validation_log = value
            elif log is None:
                log = value
            elif validation_log is None:
                validation_log = value
        diag = diagnose(read.text(), log=log, validation_log=validation_log, template=read.template(), rules=kb)
        return localize_diagnosis(diag, kb, args.lang) if args.lang != "en" else diag
    finally:
        for name, fh in zip(inputs, handles, strict=False):
            if name != "-":
                fh.close()


def render(d: Diagnosis) -> str:
    """The human-readable report."""
    width = 100
    lines = []
    conf = f"confidence {d.confidence:.2f}"
    lines.append(f"Category:    {d.category} - {d.title} ({conf})")
    lines.append(f"What failed: {d.summary}")
    lines.append(f"Phase:       {d.phase}")
    fc = d.failed_customizer
    if fc:
        bits = [f"provisioner {fc.name}"]
        if fc.customizer_name:
            bits.append(f"customizer {fc.customizer_name!r}")
        if fc.type:
            bits.append(f"type {fc.type}")
        if fc.position:
            bits.append(f"#{fc.position}")
        if fc.exit_code is not None:
            bits.append(f"exit code {fc.exit_code}")
        if fc.duration_seconds is not None:
            bits.append(f"ran {fc.duration_seconds / 60:.1f} min")
        lines.append(f"Customizer:  {', '.join(bits)}")
    if d.cause:
        lines.append(
            textwrap.fill(d.cause, width, initial_indent="Cause:       ", subsequent_indent=" " * 13)
        )
    if d.evidence:
        lines.append("Evidence:")
        for e in d.evidence:
            where = f"{e.source}:{e.line}" if e.line is not None else e.source
            text = e.text if len(e.text) <= 240 else e.text[:239] + "…"
            lines.append(f"  {where:>18}  {text}")
    if d.remediation:
        lines.append("Remediation:")
        for i, step in enumerate(d.remediation, 1):
            lines.append(textwrap.fill(step, width, initial_indent=f"  {i}. ", subsequent_indent="     "))
    if d.warnings:
        lines.append("Warnings:")
        lines.extend(f"  - {w}" for w in d.warnings)
    if d.advisories:
        lines.append("Template advisories:")
        lines.extend(f"  - [{a.id}] {a.message} ({a.path})" for a in d.advisories)
    if d.doc:
        lines.append(f"Docs:        {d.doc}")
    if d.log_url:
        lines.append(f"Log:         {d.log_url}")
    if d.operation_id:
        lines.append(f"OperationId: {d.operation_id}")
    return redact("\n".join(lines)) + "\n"


def main() -> None:
    sys.exit(run())

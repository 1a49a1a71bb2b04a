"""What shows that a text reports a failure.

``FAILURE_SIGNAL`` holds the exit and summary lines: a non-zero exit, Packer's failure lines, an ARM error object, a
Failed (or a run's PartiallySucceeded) state, a crash.

``FAILURE_STATEMENT`` lists the shapes the tools around an image build use to state that something failed, with
the program that prints each:

* Image Builder: ``Build (Managed Image) step failed``, ``During the image build, a failure has occurred``;
* ARM/az CLI: ``Deployment failed. Correlation ID: ...``, ``ERROR: ...`` at the start of a line, a ``BadRequest``
  code, ``StatusCode: 409`` / ``"statusCode": 409``, an async operation's ``"status": "Failed"``, a deployment or
  resource that reached the ``terminal provisioning state 'Failed'`` or the ``end state of 'Canceled'``;
* Packer's azure-arm builder: ``Deployment failed with a status of 'Failed'``;
* CLIs and scripts: ``Error: ...`` at the start of a line, Azure DevOps' ``##[error]``; the same word in the languages
  Windows, PowerShell and the Azure portal are localized into (``Fehler:``, ``Erreur :``, ``Ошибка:``, ``错误：``,
  ``エラー:``, ``오류:``, ...), also after a quotation mark;
* PowerShell: ``Exception calling "X" with "N" argument(s)``, ``The term 'X' is not recognized as ...``;
* Python: an exception's last traceback line, ``<module.>Name(Error|Exception): <message>``;
* bash: ``Killed`` alone on a line, printed when a command it ran was killed (the kernel's OOM killer), and
  ``Aborted (core dumped)`` / ``Segmentation fault (core dumped)`` (and the other core-dumping signals) for a command
  that crashed;
* Travis CI: ``The command "<command>" exited with <n>.`` (not 0);
* Windows tools: certutil's ``CertUtil: -<verb> command FAILED: 0x...``, Task Scheduler's ``The task XML contains a
  value which is incorrectly formatted or out of range``, takeown's ``... does not have ownership privileges on ...``;
* a Rust program's panic: ``thread '<name>' panicked at ...``; .NET's ``OutOfMemoryException``, ``Stack overflow.`` and
  ``Process terminated.`` (Environment.FailFast), the .NET Framework's ``Process is terminated due to
  StackOverflowException.``;
* "Something went wrong" (the Azure portal's and many tools' failure without details);
* OpenSSH's client losing its connection (``Connection to <host> closed by remote host.``, ``client_loop: send
  disconnect: ...``, ``kex_exchange_identification: ...``);
* sh/bash with the script's location (``<script>.sh: line <n>: ...`` / ``<script>.sh: <n>: ...``) before one of their
  error texts (``command not found``, ``No such file or directory``, ``Permission denied``, ``parameter not set``,
  ``unbound variable``, ``syntax error``);
* csh/tcsh's ``Ambiguous output redirect.``, ``Missing name for redirect.`` and ``<command>: Command not found.``;
* sudo refusing to run (``sudo: ... must be owned by uid 0``, ``a terminal is required``, ``no tty present``,
  ``a password is required``);
* Ansible: a task's ``fatal: [<host>]: FAILED!`` or ``UNREACHABLE!``.

``failure_sentences`` reads the reporter's own words: a sentence (not a log line) that says the build, image,
Packer, a step, a script or a restart failed, hung, got stuck, crashed, timed out, was cancelled, stops at a point,
breaks, does not work, is still running or waiting after hours or is not available; that the reporter cannot build,
deploy or create it, or that it was never (or not) created, started or built; that anything is stuck, hangs, halts,
does not respond or never finishes, that it loses its connection, or that the reporter (or a tool) cannot or is not
able to get, install, connect to, reach or download something; that an error occurred, space or memory ran out, or
only some builds succeeded.

These say *that* something failed; they decide no category. They are kept apart from ``FAILURE_SIGNAL``
because ``FAILURE_SIGNAL`` also marks the exit/summary lines a summary skips, while an ``Exception calling``
line is the one that says why.
"""

from __future__ import annotations

import re

from diagnosis.literals import AnyOf

# "error:" in the languages Windows, PowerShell and the Azure portal are localized into
_LOCALIZED_ERROR_WORDS = (
    *("Fehler", "Erreur", "Errore", "Erro", "Ошибка", "ОШИБКА", "Помилка", "Błąd", "Hata", "Chyba", "Hiba"),
    *("Fout", "Fel", "Feil", "Virhe", "Σφάλμα", "错误", "錯誤", "エラー", "오류"),
)
# the words, behind a look-ahead for their first letters: a regex with many alternatives tries each one at every
# position, and the look-ahead lets a scan over a large log pass most positions with one test
LOCALIZED_ERROR_WORD = (
    "(?=[" + "".join(sorted({w[0] for w in _LOCALIZED_ERROR_WORDS})) + "])(?:" + "|".join(_LOCALIZED_ERROR_WORDS) + ")"
)
LOCALIZED_ERROR = LOCALIZED_ERROR_WORD + r"\s?[:：]"
# Windows' own texts for access denied (5), file and path not found (2, 3) in the languages of localized images:
# an error line in a log's tail although they carry no error word
LOCALIZED_SYSTEM_ERROR = (
    "(?:Zugriff verweigert|Das System kann (?:die angegebene Datei|den angegebenen Pfad) nicht finden"
    "|Accès refusé|Le (?:fichier|chemin d'accès) spécifié est introuvable"
    "|Acceso denegado|El sistema no puede encontrar (?:el archivo|la ruta) especificad[oa]"
    "|Отказано в доступе|Не удается найти указанный файл|Системе не удается найти указанный путь"
    "|Acesso negado|O sistema não pode encontrar o (?:arquivo|caminho) especificado"
    "|Accesso negato|Impossibile trovare (?:il file|il percorso) specificato)"
)
# statements without an error word: the error-line scan of a log (``scanner._ERRORISH``) looks for them too
ENDED_FAILED = r"(?i:\b(?:end|terminal(?: provisioning)?) state (?:of )?'(?:Failed|Canceled)')"
RUST_PANIC = r"\bthread '[^'\n]{1,80}' panicked at\b"
# a Go panic, bare or behind packer's "<plugin> plugin: " prefix (a plugin that crashed), or behind the plugin
# binary's name alone as Packer before 0.8 logged it ("<time> packer-builder-vmware-iso.exe: panic: ...")
GO_PANIC = r"(?m-i:^(?:[^\n]{0,160} plugin: |[^\n]{0,40}\bpacker-[\w.-]{1,80}: )?panic: )"
# GNU make marks its errors with "***" (src/output.c fatal and error): "No rule to make target '<t>'.  Stop.", a recipe
# killed by a signal "*** [<target>] Killed", and in other languages "*** [<target>] Fehler 2": no English error word
MAKE_FATAL = r"\bmake(?:\[\d{1,3}\])?: \*\*\* \S"
# bash's line for a command it ran that got SIGKILL (the kernel's OOM killer): "Killed" alone on its line
BASH_KILLED = r"(?m:^[ \t]{0,8}Killed[ \t\r]*$)"
# a command that crashed: bash's report of a core-dumping signal ("<pid> Aborted (core dumped) <command>")
CORE_DUMPED = (
    r"\b(?:Aborted|Segmentation fault|Bus error|Illegal instruction|Floating point exception)[ \t]{1,40}\(core dumped\)"
)
# failures stated without an error word: Travis CI's exit line, Task Scheduler's refused definition, takeown's
# refusal, OpenSSH's client losing or failing its connection (a script's ssh, scp or git over SSH), .NET ending a
# process (a stack overflow, Environment.FailFast), the Azure portal's and many tools' failure without details, Go's
# HTTPS client answered in plain HTTP, sudo refusing a missing or wrong password, auditctl refusing rules once they
# are locked, PowerShell's error record (its CategoryInfo line), Win32 123, a command ended by SIGTERM or SIGHUP
# (bash) or killed (Go's os/exec), npm's and tar's failure lines, a Python exception without a message and a Ruby one
# (its class alone on a line, with or without a colon: the heading Chef's error inspectors underline,
# lib/chef/formatters/error_description.rb), Chef's command time-out and Perl's die; dnf's unknown command (a plugin
# not installed), conflict and unopenable package lines, iptables' refusals, RHEL's service wrapper refusing a non-LSB
# action, a Python exception from an exceptions or errors module whose class name has no Error word
# (google.api_core.exceptions.ServiceUnavailable); OpenSSH's sshd refusing to start (host keys with open permissions,
# none loadable, a bad sshd_config option); a request's validation stated without an error word (a named parameter,
# property, field or argument that is required, invalid, not supported or out of range; one of two settings only);
# Windows refusing a password its policy rejects (NERR_PasswordTooShort, 2245, as net.exe and New-LocalUser print it);
# cmd.exe refusing a command line (a Unix command such as "mkdir -p" sent to Windows); an Azure error code of the
# Invalid<what> family opening a line as SDKs and tools print it ("InvalidResourceGroup: ..."); nginx's levels above
# error (src/core/ngx_log.c: emerg, alert, crit) and its configuration test's failure; mount and umount refusing a
# busy target (util-linux libmount context_mount.c, context_umount.c)
NO_ERROR_WORD_FAILURE = (
    r"The command \"[^\"\n]{1,300}\" exited with [1-9]\d{0,2}\."
    r"|The task XML contains a value which is incorrectly formatted|does not have ownership privileges on the file"
    r"|Connection to \S{1,253} closed by remote host\.|client_loop: send disconnect: "
    r"|\b(?:ssh|kex)_exchange_identification: "
    r"|(?m:^[ \t]{0,8}(?:Stack overflow|Process terminated)\.)|Process is terminated due to StackOverflowException\."
    r"|(?i:\bsomething went wrong\b)"
    r"|http: server gave HTTP response to HTTPS client"
    r"|sudo: (?:no password was provided|\d{1,3} incorrect password attempts?)"
    r"|The audit system is in immutable mode, no rule changes allowed"
    r"|\+ CategoryInfo {0,20}: [A-Z][A-Za-z]{2,30}: "
    r"|The filename, directory name, or volume label syntax is incorrect|The syntax of the command is incorrect\."
    r"|\bline \d{1,7}: {1,8}\d{1,8} (?:Terminated|Hangup)\b|(?m:^[ \t]{0,8}(?:Terminated|Hangup)[ \t\r]*$)"
    r"|\bsignal: killed\b|(?m:^[ \t]{0,8}npm (?:ERR!|error) \S)|tar: Child returned status [1-9]"
    r"|(?m:^[ \t]{0,8}(?:[a-z_]\w{0,60}\.){1,6}[A-Z]\w{0,60}(?:Error|Exception)[ \t\r]*$)"
    r"|(?m:^[ \t]{0,8}(?:[A-Z]\w{0,60}::){0,6}[A-Z]\w{0,60}(?:Error|Exception):?[ \t\r]*$)"
    r"|Command exceeded allowed execution time, process terminated|\bDied at \S{1,300} line \d{1,7}\."
    r"|No such command: [\w-]{1,60}\. Please use |try to add (?:'|\\u0027)--allowerasing(?:'|\\u0027) to command line"
    r"|\bProblem opening package \S{1,300}\.rpm|iptables: (?:No chain/target/match by that name|Bad rule \()"
    r"|The service command supports only basic LSB actions"
    r"|(?m:^[ \t]{0,8}(?:[a-z_]\w{0,60}\.){0,6}(?:exceptions|errors)\.[A-Z]\w{0,60}: \S)"
    r"|Bad permissions\. Try removing permissions for user|Permissions for '[^'\n]{1,300}' are too open\."
    r"|sshd: no hostkeys available -- exiting|\bline \d{1,6}: Bad configuration option: \S"
    r"|terminating, \d{1,4} bad configuration options"
    r"|(?i:\b(?:parameter|property|field|argument|setting)s? (?:'[^'\n]{1,100}'|\"[^\"\n]{1,100}\"|[\w.\[\]/-]{1,100}) "
    r"(?:is required|is not (?:valid|supported|allowed)|is invalid|must (?:be|not|have|contain)\b|should be\b"
    r"|cannot be\b|can not be\b|exceeds the maximum))"
    r"|The password does not meet the password policy requirements\."
    r"|does not meet the length, complexity, or history requirements of the domain\."
    r"|\bof the resource is required\b|\bOnly one of [^\n]{1,200} can be (?:specified|set)\b"
    r"|\bSpecify either [^\n]{1,200}, not both\b|\bis not supported in this region\b"
    r"|\bis not (?:a valid \w|one of the allowed values\b)"
    r"|(?m:^[ \t]{0,8}Invalid[A-Z][A-Za-z]{2,60}: \S)"
    r"|\bnginx: \[(?:emerg|alert|crit)\] |\bnginx: configuration file \S{1,300} test failed"
    r"|\bu?mount: [^\n]{1,300}: (?:mount point|target) is busy\b"
    # csh/tcsh (sh.err.c): a redirect it cannot make, a command it cannot find
    r"|(?m:^[ \t]{0,8}(?:Ambiguous (?:output|input) redirect|Missing name for redirect)\.[ \t\r]*$)"
    r"|(?m:^[ \t]{0,8}[\w./+-]{1,100}: Command not found\.[ \t\r]*$)"
)
# Windows Installer's success codes that ask for a restart (ERROR_SUCCESS_REBOOT_REQUIRED 3010,
# ERROR_SUCCESS_REBOOT_INITIATED 1641): a tool's "exit code 3010" alone is no failure; Packer's own
# "non-zero exit status: 3010" line still is one when the code was not allowed
NOT_REBOOT = r"(?!3010\b|1641\b)"
# an Image Builder run that delivered only some of its distribution targets
PARTIAL_RUN = "PartiallySucceeded"
FAILURE_STATEMENT = re.compile(
    r"\bBuild \([^)\n]{1,80}\) step failed|During the image build,? a failure has occurred"
    r"|\bDeployment failed\b|\bBadRequest\b"
    r"|(?i:\"?status ?code\"?\s{0,4}[:=]\s{0,4}\"?[45]\d\d\b)"
    r"|\"status\"\s{0,4}:\s{0,4}\"Failed\""
    r"|(?m:^\s{0,8}(?:Error|ERROR|error): \S)|(?m:^\s{0,8}\S{1,40} : ERROR: \S)|##\[error\]"
    r"|(?m:^[\s\"'“„«]{0,8}" + LOCALIZED_ERROR + r"\s?\S)"
    r"|Exception calling \"[^\"\n]{1,120}\" with \"\d+\" argument"
    r"|The term '[^'\n]{1,200}' is not recognized as"
    r"|(?m:^\s{0,8}(?:[A-Za-z_]\w{0,60}\.){0,6}[A-Z]\w{0,60}(?:Error|Exception): \S)"
    r"|" + BASH_KILLED + "|" + CORE_DUMPED + "|" + NO_ERROR_WORD_FAILURE
    + r"|CertUtil: -\w{1,40} command FAILED\b"
    r"|\bSystem\.OutOfMemoryException\b|(?m:^\s{0,8}OutOfMemoryException\b)"
    r"|" + RUST_PANIC
    + r"|\.sh: (?:line )?\d{1,6}: [^\n]{0,200}(?:command not found|No such file or directory|Permission denied"
    r"|Operation not permitted|parameter not set|unbound variable|syntax error)"
    r"|sudo: [^\n]{0,200}(?:must be owned by uid 0|a terminal is required|no tty present|a password is required)"
    r"|fatal: \[[^\]\n]{1,200}\]: (?:FAILED|UNREACHABLE)!"
    r"|" + ENDED_FAILED
)


FAILURE_SIGNAL = re.compile(
    r"[Nn]on-zero exit status:? ?(?:exit status )?-?[1-9]|Bad exit status: [1-9]|exited with code:? ?"
    + NOT_REBOOT
    + r"-?[1-9]|Erroneous exit code [1-9]|exit status [1-9]"
    r"|Remote command exited with '[1-9]|Communicator ended with: (?!2300218\b)[1-9]"
    r"|Build '[^'\n]{1,80}' errored|Provisioning step had errors|Some builds didn't complete successfully"
    r"|machine readable: [\w.-]{1,120},error \[\]string"
    r"|\"error\"\s*:\s*\{|\"code\"\s*:\s*\"[A-Z][A-Za-z]{2,80}\"|\bCode=\\?\"?[A-Z][A-Za-z]{2,80}"
    r"|\" Target=\"[A-Za-z]"  # go-autorest's ServiceError: Code="..." Message="..." Target="..."
    # a tool's JSON result that failed with an error code (teamsbootstrapper: {"success": false, "errorCode": ...})
    r"|\"success\"\s{0,4}:\s{0,4}false,\s{0,8}\"error"
    r"|(?m:^(?:ERROR: )?\([A-Z][A-Za-z]{2,80}\) )|(?m:^Code: [A-Z][A-Za-z]{2,80}\s*$)"
    r"|\b(?:StatusCode|Status)=[45]\d\d\b|unexpected status [45]\d\d \([^)\n]{1,60}\) with error: [A-Z]"
    r"|(?i:\"?(?:provisioningState|runState|provisioning_state|run_state)\"?\s*[:=]\s*\"?(?:Failed|"
    + PARTIAL_RUN
    + r")\b)"
    # Windows tools' exit codes are often HRESULTs, which PowerShell's $LASTEXITCODE prints signed (-2146233079)
    r"|(?i:\bexit ?code:? ?-?" + NOT_REBOOT + r"[1-9]|exited with status -?[1-9]|returned (?:exit )?code -?[1-9])"
    r"|(?i:\b(?:non[- ]?zero|unsuccessful|unexpected) exit code\b)"
    r"|context deadline exceeded|context canceled|(?i:\bunexpected EOF\b)|Build was (?:cancelled|halted)"
    r"|Cleanly cancelled builds after being interrupted"  # packer build: its context was cancelled (exit 1)
    r"|\bexited with return code [1-9]"  # run-parts: a kernel postinst or cron hook failed
    # a quoted exit code: Chocolatey's debug line for every command it runs ("Command [...] exited with '<n>'"; its
    # "shutdown /a" exits 1116 when no shutdown is pending, which it ignores) and its helpers' "Exit code returned
    # from <function>: '<n>'"
    r"|\bexited with '-?" + NOT_REBOOT + r"(?!1116')[1-9]\d{0,10}'"
    r"|\bExit code returned from [\w-]{1,80}: '-?" + NOT_REBOOT + r"[1-9]"
    r"|(?m:\bRan [^\n]{1,500} returned -?[1-9]\d{0,11}[ \t\r]*$)"  # mixlib-shellout: a status Chef did not allow
    r"|Segmentation fault\s{0,8}\(core dumped\)|Kernel panic - not syncing|UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY"
    r"|\bxargs: [^\n]{1,300}: terminated by signal \d{1,2}\b"  # findutils xargs: the command it ran was killed
    r"|"
    + GO_PANIC
    + r"|returned a non-zero code: [1-9]"  # docker build: The command '<cmd>' returned a non-zero code: <n>
    r"|"
    + MAKE_FATAL  # GNU make's "***" lines, "*** [<target>] Error <n>" among them
    + r"|(?m:^\s{0,8}--- FAIL: \S)|(?m:^FAIL\s{1,8}\S)"  # go test: a failed test, a failed package
    r"|\u274c\s{0,4}FAIL\b"  # a CI report's failed row (TeamCity, GitHub checks tables)
)


def states_failure(text: str) -> bool:
    """True when ``text`` states a failure in one of the shapes of ``FAILURE_STATEMENT``."""
    return FAILURE_STATEMENT.search(text) is not None


# a count of no failures: test runners' summaries (Pester "Failed: 0", goss "Count: 13, Failed: 0", LISA "(3 Passed,
# 0 Failed", InSpec "0 control failures" and "0 controls have error", RSpec "0 failures"), an audit's "Total Failed
# Checks : [ 0/1 ]" and "FAILURE:0"; not a value before "failed:" and its detail (Puppet's "change from notrun to 0
# failed: <command> returned 8 ...")
NO_FAILURE_COUNT = re.compile(
    r"(?i)\b(?:fail(?:ures?|ed)?|errors?)(?:[ \t]{1,4}[a-z]{1,20}){0,2}[ \t]{0,8}[:=][ \t]{0,8}(?:\[[ \t]{0,8})?"
    r"0(?!\d|[.,]\d)"
    r"|(?:^|(?<=[\s(,;]))0 (?:[a-z]{1,20} ){0,2}(?:fail(?:ures?|ed|s)?|errors?|have errors?)\b(?!:)"
)
# a failure count's key alone on its line, its value on the next (Salt's and YAML's nested output: "failed:" then "0")
COUNT_KEY_ALONE = re.compile(r"(?i)^\s{0,40}(?:fail(?:ures?|ed)?|errors?)[ \t]{0,8}:[ \t\r]{0,8}$")
ZERO_ALONE = re.compile(r"^\s{0,40}0[ \t\r]{0,8}$")

# after "timeout" or "timed out": a value given to a setting ("with timeout: 3600 seconds", "timeout=30"), not an event
NOT_A_SETTING = r"(?![\"']?[ \t]*[:=][ \t]*[\"']?\d)"
# a line of program output rather than a reporter's sentence: Packer's "==> "/"--> " lines, "<builder>: " and
# "<key>: " prefixes, "[...]" stamps, dates, PowerShell's "+ "/"at " record lines, prompts and comments
_OUTPUT_LINE = re.compile(r"^\s*(?:==>|-->|\[|\d{4}[-/]\d\d|[\w.-]{1,80}: |\+ |at |PS |>|\$ |#)")
# a program's log level inside a line ("... action install[2017-08-08T18:35:57+00:00] WARN: Requested feature ...")
_LOG_LEVEL = re.compile(r"(?:\]|\s)(?:WARN|WARNING|INFO|DEBUG|TRACE):\s")
# a property list's label padded to its colon ("Total Test Cases      : 1", PowerShell's Format-List)
_LABEL = re.compile(r"\s{0,8}([\w .()/-]{1,60}):")
_WITHIN_SENTENCE = r"(?:[^.\n]|\.(?=\S)){0,80}?"  # a period inside a version (22.04) or a name ends no sentence
_FAILURE_SENTENCE = AnyOf(
    [
        r"(?:\b(?:builds?|images?|packer|it|this|that|jobs?|pipelines?|runs?|templates?|steps?|scripts?|provisioners?"
        r"|tasks?|tests?|deployments?|process|vm|customi[sz]ations?|customizers?|sysprep|generali[sz]ation|installs?|installers?"
        r"|installation|provisioning|updates?|commands?|cmdlets?|modules?|packages?|extensions?|artifacts?|agents?|shell"
        r"|reboots?|restarts?|machines?)\b"
        r"|\S\.(?:ps1|sh|py|cmd|bat|msi|exe)\b)"  # or a script or installer named by its file
        + _WITHIN_SENTENCE
        + r"\b(?:fail(?:s|ed|ing)?|hangs?|hanging|hung|stuck|sticks|stall(?:s|ed|ing)?|crash(?:es|ed)?|times? out"
        r"|timed out|timing ?out|errors? out|(?:is|was|were|gets?|got) (?:cancell?ed|aborted)"
        r"|(?:stops|stopped) (?:at|on|after|responding)"
        r"|(?:is|was|keeps|kept) (?:still )?waiting (?:for|on)\b[^.\n]{0,80}\b(?:hours?|forever|indefinitely|ever)"
        r"|errored|never (?:finish|complete|build)s?|(?:infinite|endless) loop|in (?:a |an )?loop"
        r"|(?:has|have|had|was|were|is|are|gets?|got) never (?:been )?(?:created|started|built|provisioned|deployed"
        r"|published|completed|finished)"
        r"|still (?:running|updating|creating|in progress) (?:after|for)|(?:is|are) not available"
        r"|(?:is|are|was|were|has|have)(?:n.t| not)(?: been)? (?:created|built|generated|published)"
        r"|(?:do(?:es)?|did) ?(?:n.t|not) work|no longer works?|stopped working|(?:is|are) broken|breaks|broke)\b",
        # words that say something hung or failed whatever its subject: "the tools are just stuck in a loop", "the setup
        # stops at this point", "the provisioner does not respond", "it will never assign an IP", "can't get updates"
        r"\b(?:(?:is|are|was|were|gets?|got|seems?|just|been) stuck|hangs|hung|hanging|halts|freezes"
        r"|(?:does|did)(?:n.t| not) respond|stops (?:at|on|after)|never (?:assigns?|finish(?:es)?|completes?)"
        r"|(?:lose|loses|lost|losing) (?:the |its |their |all )?connection)\b",
        r"\b(?:can.t|cannot|could ?n.t|unable to|not (?:seem to )?(?:be |been )?able to) (?:get|install|connect|reach"
        r"|download)\b",
        # "I've not been able to successfully deploy my image build", "we cannot create images"
        r"\b(?:not (?:been )?able to|unable to|cannot|can.t|could ?n.t)(?: successfully)? (?:build|deploy|create|run"
        r"|complete|publish|capture|provision|generali[sz]e|customi[sz]e)\b",
        # "an error occurred", "it tells me there is not enough disk space", "only 4 of 10 builds were successful"
        r"\berrors? (?:occurs?|occurred|appears?|appeared|happens?|happened)\b",
        # "the following error is produced", "an exception was thrown"
        r"\b(?:errors?|exceptions?) (?:is|are|was|were|gets?|got) (?:produced|thrown|raised|returned|reported|shown)\b",
        r"\b(?:not enough|insufficient|ran out of|runs? out of) (?:disk |free )?(?:space|memory)\b",
        r"\bdisk space (?:is )?not enough\b",
        r"\bonly \d{1,4}(?: (?:of|out of) \d{1,4})? (?:\w+ )?(?:were|was|are|is) successful\b",
        # "I get the following error", "we keep getting timeouts"
        r"\b(?:get|gets|got|getting|see|seeing|saw|receive[sd]?|receiving|hit|hitting|encounter(?:s|ed|ing)?)\b"
        + _WITHIN_SENTENCE
        + r"\b(?:errors?|exceptions?|failures?|timeouts?"
        + NOT_A_SETTING
        + r")\b",
    ],
    re.IGNORECASE,
)


MAX_SENTENCES = 8


def _padded_label(line: str) -> bool:
    """The line starts with a label followed by two or more spaces and a colon."""
    label = _LABEL.match(line)
    return label is not None and label.group(1).endswith("  ") and bool(label.group(1).strip())


def failure_sentences(text: str) -> list[tuple[int, str]]:
    """The first ``MAX_SENTENCES`` sentences of ``text`` (lines that are not program output) saying that the build or
    a part of it failed, hung or timed out, as (0-based line index, text)."""
    found: list[tuple[int, str]] = []
    for i, line in enumerate(text.split("\n")):
        if len(line) > 2000 or _OUTPUT_LINE.match(line) or _LOG_LEVEL.search(line) or _padded_label(line):
            continue
        if _FAILURE_SENTENCE.search(NO_FAILURE_COUNT.sub(" ", line)):
            found.append((i, line.strip()))
            if len(found) == MAX_SENTENCES:
                break
    return found

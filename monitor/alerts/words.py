"""Every word an alert says of its own, in each ``ALERT_LANGUAGE`` (``en``, ``ru``).

Knowledge-base texts (titles, causes, steps) come from ``diagnosis.i18n``; this table holds the rest: headlines,
labels, the stuck and recovered sentences, notes and button titles. Russian follows the troubleshooting guide's
terms (сборка, шаблон образа, настройка, скрипт, журнал); Azure names (customizer, buildTimeoutInMinutes) stay
as they are. Placeholders are ``str.format`` fields; a test checks both languages have the same keys and fields.
"""

from __future__ import annotations

from diagnosis.i18n import DEFAULT_LANGUAGE, normalize_language

from .model import BUILD_FAILED, BUILD_STUCK, RECOVERED, STILL_STUCK, SUBMISSION_FAILED

WORDS: dict[str, dict[str, str]] = {
    "en": {
        f"headline.{BUILD_FAILED}": "Image build failed",
        f"headline.{BUILD_STUCK}": "Image build stuck",
        f"headline.{STILL_STUCK}": "Image build still stuck",
        f"headline.{SUBMISSION_FAILED}": "Image template submission failed",
        f"headline.{RECOVERED}": "Image build recovered",
        f"word.{BUILD_FAILED}": "FAILED",
        f"word.{BUILD_STUCK}": "STUCK",
        f"word.{STILL_STUCK}": "STILL STUCK",
        f"word.{SUBMISSION_FAILED}": "FAILED",
        f"word.{RECOVERED}": "RECOVERED",
        "fact.template": "Template",
        "fact.same_cause": "Same cause in",
        "headline.group": " and {count} more",
        "fact.resource_group": "Resource group",
        "fact.run": "Run",
        "fact.category": "Category",
        "fact.subscription": "Subscription",
        "fact.location": "Location",
        "fact.run_state": "Run state",
        "fact.failed_step": "Failed step",
        "fact.running_step": "Running step",
        "run.ended": "{start} – {end} ({duration})",
        "run.running": "{start} – now ({duration})",
        "run.duration": "{duration}",
        "section.cause": "Cause",
        "section.fix": "What to do",
        "section.evidence": "Evidence",
        "section.details": "Details",
        "section.service_message": "Service message",
        "section.notes": "Notes",
        "button.details": "Show details",
        "button.portal": "Portal",
        "button.log": "Log",
        "button.files": "Files",
        "button.guide": "Guide",
        "link.portal": "Azure portal",
        "link.log": "Archived log",
        "link.files": "Archived files",
        "link.guide": "Troubleshooting guide",
        "evidence.more": "{count} more evidence line(s) in the archived log.",
        "customizer.exited": 'Customizer "{name}"{kind} exited with code {code}{after}.',
        "customizer.failed": 'Customizer "{name}"{kind} failed{after}.',
        "customizer.running": 'Customizer "{name}"{kind} is running.',
        "customizer.after": " after {duration}",
        "stuck.waits": "The build waits on something that may never come",
        "stuck.timeout": "{waits}. The build has been running for {duration} (since {start}), past its own limit of "
        "{limit} (buildTimeoutInMinutes {minutes}), and Image Builder has not ended it.",
        "stuck.idle": "{waits}. The log has not changed for {idle} (since {since}); the build has been running "
        "for {duration}.",
        "stuck.cannot_finish": "{waits}: it cannot finish by itself. The build has been running for {duration} "
        "(since {start}).",
        "stuck.silent": " The log has not changed for {idle} (since {since}).",
        "stuck.cancel": "Cancel the run instead of waiting: az image builder cancel -n {name} -g {group} (the live "
        "log is archived).",
        "recovered.after": "The latest run succeeded ({duration}). The previous run had failed: {title}.",
        "recovered.plain": "The latest run succeeded ({duration}).",
        "recovered.no_time": "The latest run succeeded.",
        "unknown.cause": "No knowledge-base entry matches this failure; the evidence lists the most telling error "
        "lines.",
        "unknown.step1": "Read the evidence lines and the end of customization.log (search '(telemetry)' from the "
        "end).",
        "unknown.step2": "If this failure repeats, add a rule for it (python -m diagnosis --rules my-rules.json).",
        "note.partial": "The log disappeared while it was being copied: the archived log is incomplete.",
        "note.was_stuck": "This run had been reported as stuck before it failed.",
        "note.template_was_stuck": "A run of this template had been reported as stuck.",
        "footer": "Sent by the AIB build monitor at {time}.",
        "subject.tag": "AIB",
    },
    "ru": {
        f"headline.{BUILD_FAILED}": "Сборка образа завершилась с ошибкой",
        f"headline.{BUILD_STUCK}": "Сборка образа зависла",
        f"headline.{STILL_STUCK}": "Сборка образа всё ещё зависла",
        f"headline.{SUBMISSION_FAILED}": "Ошибка отправки шаблона образа",
        f"headline.{RECOVERED}": "Сборка образа снова успешна",
        f"word.{BUILD_FAILED}": "ОШИБКА",
        f"word.{BUILD_STUCK}": "ЗАВИСЛА",
        f"word.{STILL_STUCK}": "ВСЁ ЕЩЁ ЗАВИСЛА",
        f"word.{SUBMISSION_FAILED}": "ОШИБКА",
        f"word.{RECOVERED}": "УСПЕШНО",
        "fact.template": "Шаблон",
        "fact.same_cause": "Та же причина в",
        "headline.group": " и ещё {count}",
        "fact.resource_group": "Группа ресурсов",
        "fact.run": "Сборка",
        "fact.category": "Категория",
        "fact.subscription": "Подписка",
        "fact.location": "Регион",
        "fact.run_state": "Состояние",
        "fact.failed_step": "Шаг с ошибкой",
        "fact.running_step": "Текущий шаг",
        "run.ended": "{start} – {end} ({duration})",
        "run.running": "{start} – сейчас ({duration})",
        "run.duration": "{duration}",
        "section.cause": "Причина",
        "section.fix": "Что делать",
        "section.evidence": "Строки журнала",
        "section.details": "Подробности",
        "section.service_message": "Сообщение службы",
        "section.notes": "Примечания",
        "button.details": "Подробнее",
        "button.portal": "Портал",
        "button.log": "Журнал",
        "button.files": "Файлы",
        "button.guide": "Справка",
        "link.portal": "Портал Azure",
        "link.log": "Архивный журнал",
        "link.files": "Архивные файлы",
        "link.guide": "Руководство по устранению неполадок",
        "evidence.more": "Ещё строк журнала в архиве: {count}.",
        "customizer.exited": 'Customizer "{name}"{kind} завершился с кодом {code}{after}.',
        "customizer.failed": 'Customizer "{name}"{kind} завершился с ошибкой{after}.',
        "customizer.running": 'Customizer "{name}"{kind} выполняется.',
        "customizer.after": " через {duration}",
        "stuck.waits": "Сборка ждёт того, что может никогда не произойти",
        "stuck.timeout": "{waits}. Сборка идёт уже {duration} (с {start}), дольше своего лимита {limit} "
        "(buildTimeoutInMinutes {minutes}), и Image Builder её не остановил.",
        "stuck.idle": "{waits}. Журнал не меняется уже {idle} (с {since}); сборка идёт {duration}.",
        "stuck.cannot_finish": "{waits}: сама она не завершится. Сборка идёт уже {duration} (с {start}).",
        "stuck.silent": " Журнал не меняется уже {idle} (с {since}).",
        "stuck.cancel": "Отмените сборку, не дожидаясь лимита: az image builder cancel -n {name} -g {group} "
        "(текущий журнал уже в архиве).",
        "recovered.after": "Последняя сборка прошла успешно ({duration}). Предыдущая завершилась с ошибкой: {title}.",
        "recovered.plain": "Последняя сборка прошла успешно ({duration}).",
        "recovered.no_time": "Последняя сборка прошла успешно.",
        "unknown.cause": "Ни одна запись базы знаний не подходит к этой ошибке; в строках журнала — самые "
        "показательные ошибки.",
        "unknown.step1": "Прочитайте строки журнала и конец customization.log (ищите '(telemetry)' с конца).",
        "unknown.step2": "Если ошибка повторяется, добавьте для неё правило (python -m diagnosis --rules "
        "my-rules.json).",
        "note.partial": "Журнал исчез во время копирования: архивный журнал неполный.",
        "note.was_stuck": "Об этой сборке уже сообщалось как о зависшей, потом она завершилась с ошибкой.",
        "note.template_was_stuck": "Об одной из сборок этого шаблона сообщалось как о зависшей.",
        "footer": "Отправлено монитором сборок AIB в {time}.",
        "subject.tag": "AIB",
    },
}


def words(language: str | None) -> dict[str, str]:
    """The table of ``language`` (English for anything unsupported)."""
    return WORDS.get(normalize_language(language), WORDS[DEFAULT_LANGUAGE])

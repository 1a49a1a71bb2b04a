"""Azure Functions wiring (Python v2 programming model). Thin on purpose: the work is in monitor/.

- ``on_resource_event``: Event Grid trigger on the subscription's system topic. Image template operations and
  ``IT_`` staging group writes/deletes make the monitor look at that one template now (monitor/events/
  decides which). Other events are ignored; malformed events are logged and dropped (raising would only make
  Event Grid redeliver the same garbage for a day); transient Azure errors (monitor/azure/errors.py: 408, 429,
  5xx other than 501/505, connection failures) are re-raised so Event Grid retries the delivery later. Other
  errors are logged and the event is dropped: the timer sweep looks at every template anyway.
- ``sweep``: timer trigger on ``%SWEEP_SCHEDULE%`` (an app setting, NCRONTAB), one full sweep of the
  subscription.

Bad app settings (SettingsError, naming the setting) are raised by both functions: the invocations show as
failed until the settings are fixed, and Event Grid keeps the events for redelivery meanwhile.

Retries: Event Grid has its own delivery retry (exponential back-off, up to 24 h), so no Functions retry
policy is set for the Event Grid trigger. A failed sweep is simply repeated by the next timer tick.

Cold start: only azure.functions, logging and monitor.events (standard library only) are imported here;
settings, credentials and the Azure SDK clients are created inside each invocation (no state between
invocations besides the ``app`` object).
"""

from __future__ import annotations

import logging

import azure.functions as func

app = func.FunctionApp()

log = logging.getLogger("aibmonitor.function")


@app.function_name("on_resource_event")
@app.event_grid_trigger(arg_name="event")
def on_resource_event(event: func.EventGridEvent) -> None:
    from monitor.events import CheckStagingGroup, CheckTemplate, MalformedEvent, from_functions_event, route

    try:
        parsed = from_functions_event(event)
        action = route(parsed)
    except MalformedEvent as exc:
        # The message names the problem and never echoes secrets; the payload itself is not logged.
        log.warning("dropped a malformed event: %s", exc)
        return

    if not isinstance(action, CheckTemplate | CheckStagingGroup):
        log.debug("ignored event %s (%s): %s", parsed.id, parsed.event_type, action.reason)
        return

    log.info("event %s: %s %s -> %s", parsed.id, parsed.event_type, parsed.operation_name, action)
    from monitor.azure.errors import is_transient

    with _monitor() as monitor:
        try:
            if isinstance(action, CheckTemplate):
                outcome = monitor.check_template(action.template_id)
            else:
                outcome = monitor.check_staging_group(action.subscription_id, action.resource_group)
        except Exception as exc:
            if is_transient(exc):
                log.warning("event %s: transient Azure error, raising so Event Grid retries: %s", parsed.id, exc)
                raise
            log.exception("event %s: checking %s failed; dropped (the next sweep looks again)", parsed.id, action)
            return
    log.info("event %s: %s", parsed.id, outcome if outcome is not None else "no image template to look at")


@app.function_name("sweep")
@app.timer_trigger(arg_name="timer", schedule="%SWEEP_SCHEDULE%", run_on_startup=False, use_monitor=True)
def sweep(timer: func.TimerRequest) -> None:
    if timer.past_due:
        log.info("sweep timer is past due; sweeping now")
    with _monitor() as monitor:
        report = monitor.sweep()
    log.info(
        "sweep done in %.1f s: %d templates listed, %d alerts sent, %d errors%s",
        report.seconds,
        report.listed,
        report.alerts_sent,
        len(report.errors),
        " (another sweep held the lease)" if report.skipped_lease else "",
    )
    for error in report.errors:
        log.warning("sweep error: %s", error)


def _monitor():  # -> monitor.app.Monitor (imported lazily: it pulls in the Azure SDK)
    """A Monitor from the app settings, read now (once per invocation)."""
    from monitor.app import Monitor
    from monitor.settings import Settings

    return Monitor.from_settings(Settings.from_env())


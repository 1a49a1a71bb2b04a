"""What the Functions host and the Python worker do before our code runs, done with azure.functions itself:
index the app's registered functions, decode Event Grid and timer trigger payloads into the objects a function
receives.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.decorators.function_app import Function
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.timer import TimerRequestConverter


@functools.cache
def registered_functions() -> dict[str, Function]:
    """name -> Function of function_app.app. Cached: ``FunctionApp.get_functions()`` validates that names are
    unique across calls on the same app, so a second call on one app object raises."""
    import function_app

    return {f.get_function_name(): f for f in function_app.app.get_functions()}


def user_function(name: str) -> Any:
    return registered_functions()[name].get_user_function()


def deliver(body: dict | str) -> func.EventGridEvent | func.CloudEvent:
    """Decode one event the way the Python worker does for an eventGridTrigger binding (the host hands over
    one array element at a time; CloudEvents arrive as one object)."""
    text = body if isinstance(body, str) else json.dumps(body)
    return EventGridEventInConverter.decode(meta.Datum(text, "json"), trigger_metadata={})


def timer_request(past_due: bool = False) -> func.TimerRequest:
    payload = {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": {"Last": "2026-11-27T10:00:00+00:00", "Next": "2026-11-27T10:05:00+00:00"},
        "IsPastDue": past_due,
    }
    return TimerRequestConverter.decode(meta.Datum(json.dumps(payload), "json"), trigger_metadata={})

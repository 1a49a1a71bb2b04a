"""What the Functions host and the Python worker do before our code runs, done with azure.functions itself:
index the app's registered functions, decode Event Grid and timer trigger payloads into the objects a function
receives.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.decorators.function_app import Function
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.timer import TimerRequestConverter

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def registered_functions() -> dict[str, Function]:
    """name -> Function of the ``app`` object of function_app.py, indexed like the host does.

    ``FunctionApp.get_functions()`` remembers the names it has seen and refuses a second call on the same app
    object, so this loads function_app.py as a module of its own (a fresh app object, other tests may index
    the imported one) and calls it once.
    """
    spec = importlib.util.spec_from_file_location("function_app_under_test", ROOT / "function_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {f.get_function_name(): f for f in module.app.get_functions()}


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

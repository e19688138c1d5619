"""JSON for the requests in a distributed crawl's Redis queue (``SCHEDULER_SERIALIZER``).

scrapy-redis stores each queued request as ``serializer.dumps(request.to_dict(spider=...))`` and
rebuilds it with ``request_from_dict(serializer.loads(data))``; its default serializer is pickle,
so anyone who can write to the Redis could run code in every worker. This module is the
serializer instead: plain JSON, where what JSON has no type for is written as a tagged object
``{"__rw__": TAG, ...}``:

- ``bytes`` (bodies, header names and values) as base64: ``{"__rw__": "bytes", "b64": "..."}``
- a dict whose keys are not all strings (the headers), or that holds the key ``__rw__``
  itself: ``{"__rw__": "dict", "items": [[key, value], ...]}``
- a tuple: ``{"__rw__": "tuple", "items": [...]}``
- a module-level function of the project (the browser's page callbacks in the meta) by name:
  ``{"__rw__": "function", "name": "spiders.browser.init_page"}``; only functions of the
  modules in :data:`FUNCTION_MODULES` are written or read back
- scrapy-playwright's ``PageMethod`` (its method, args, kwargs and result)

Anything else (an object, a lambda, a set, a float that is not finite) is refused with
:class:`UnserializableRequest`, naming where in the request it was: a request is never queued
with part of it silently dropped. Reading back only ever builds the types above, and a request
class other than Scrapy's own (``_class``) is refused too.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import math
from typing import Any

__all__ = ["FUNCTION_MODULES", "UnserializableRequest", "dumps", "loads"]

TAG = "__rw__"
#: Modules whose top-level functions may travel in a request (by name, never as code): the
#: spiders' own (the browser's page callbacks), nothing a forged entry could misuse elsewhere.
FUNCTION_MODULES = ("spiders.",)
#: Request classes a queued request may name (``Request.to_dict`` writes ``_class`` for
#: subclasses such as ``FormRequest``).
REQUEST_CLASS_MODULES = ("scrapy.http.",)
PAGE_METHOD = "scrapy_playwright.page.PageMethod"


class UnserializableRequest(ValueError):
    """A request holds something the Redis queue cannot carry, or the queue holds something
    that is not a request this module wrote."""


# --- writing --------------------------------------------------------------------------------
def dumps(request: dict[str, Any]) -> bytes:
    """``request`` (``Request.to_dict()``) as JSON bytes; raises UnserializableRequest."""
    return json.dumps(_encode(request, "request"), separators=(",", ":"), allow_nan=False).encode()


def _encode(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _refused(where, value, "a float that is not finite")
        return value
    if isinstance(value, bytes):
        return {TAG: "bytes", "b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list):
        return [_encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if type(value) is dict:
        if all(isinstance(key, str) for key in value) and TAG not in value:
            return {key: _encode(item, f"{where}[{key!r}]") for key, item in value.items()}
        return {
            TAG: "dict",
            "items": [
                [_encode(key, f"{where} key {key!r}"), _encode(item, f"{where}[{key!r}]")]
                for key, item in value.items()
            ],
        }
    if inspect.isfunction(value):
        return {TAG: "function", "name": _function_name(value, where)}
    if _qualified_name(type(value)) == PAGE_METHOD:
        method = value.method
        return {
            TAG: "page_method",
            "method": method if isinstance(method, str) else _encode(method, f"{where}.method"),
            "args": _encode(list(value.args), f"{where}.args"),
            "kwargs": _encode(dict(value.kwargs), f"{where}.kwargs"),
            "result": _encode(value.result, f"{where}.result"),
        }
    raise _refused(where, value, f"a {_qualified_name(type(value))}")


def _function_name(function: Any, where: str) -> str:
    name = f"{function.__module__}.{function.__qualname__}"
    if not function.__module__.startswith(FUNCTION_MODULES) or "." in function.__qualname__:
        raise _refused(
            where,
            function,
            f"function {name}: only top-level functions of {', '.join(FUNCTION_MODULES)} "
            "modules travel (by name)",
        )
    if _resolve_function(name, where) is not function:
        raise _refused(where, function, f"function {name}, which its name does not resolve to")
    return name


def _refused(where: str, value: Any, what: str) -> UnserializableRequest:
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return UnserializableRequest(
        f"{where} is {what} ({shown}), which a distributed crawl's Redis queue cannot carry "
        "as JSON: put only str, int, finite float, bool, None, bytes, list, tuple, dict and "
        "top-level functions of spiders modules in a request's meta and cb_kwargs "
        "(crawler/distributed/serializer.py)"
    )


# --- reading --------------------------------------------------------------------------------
def loads(data: bytes | str) -> dict[str, Any]:
    """The request dict :func:`dumps` wrote; raises UnserializableRequest for anything else."""
    try:
        decoded = json.loads(data)
    except ValueError as exc:
        raise UnserializableRequest(
            f"the distributed crawl's Redis queue holds something that is not JSON ({exc}): "
            "a request queued by an older RepostWatch (pickled), or not by RepostWatch at "
            "all; empty the run's queue (its keys expire) and start the run again"
        ) from None
    request = _decode(decoded, "request")
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        raise UnserializableRequest("the Redis queue holds JSON that is not a request")
    request_class = request.get("_class")
    if request_class is not None and not (
        isinstance(request_class, str) and request_class.startswith(REQUEST_CLASS_MODULES)
    ):
        raise UnserializableRequest(
            f"a queued request names the class {request_class!r}; only Scrapy's request "
            f"classes ({', '.join(REQUEST_CLASS_MODULES)}) are built from the queue"
        )
    return request


def _decode(value: Any, where: str) -> Any:
    if isinstance(value, list):
        return [_decode(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag is None:
        return {key: _decode(item, f"{where}[{key!r}]") for key, item in value.items()}
    try:
        if tag == "bytes":
            return base64.b64decode(value["b64"], validate=True)
        if tag == "tuple":
            return tuple(_decode(item, where) for item in value["items"])
        if tag == "dict":
            return {_decode(key, where): _decode(item, where) for key, item in value["items"]}
        if tag == "function":
            return _resolve_function(value["name"], where)
        if tag == "page_method":
            from scrapy_playwright.page import PageMethod

            method = value["method"]
            page_method = PageMethod(
                method if isinstance(method, str) else _decode(method, where),
                *_decode(value["args"], where),
                **_decode(value["kwargs"], where),
            )
            page_method.result = _decode(value["result"], where)
            return page_method
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, UnserializableRequest):
            raise
        raise UnserializableRequest(f"{where}: a malformed {tag!r} value in the queue") from None
    raise UnserializableRequest(f"{where}: unknown tagged value {tag!r} in the queue")


def _resolve_function(name: Any, where: str) -> Any:
    """The top-level spiders function called ``name``, importing only spiders modules."""
    module_name, _, function_name = str(name).rpartition(".")
    if not module_name.startswith(FUNCTION_MODULES) or not function_name:
        raise UnserializableRequest(
            f"{where}: the function {name!r} is not in a module of {', '.join(FUNCTION_MODULES)}"
        )
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError):
        raise UnserializableRequest(f"{where}: no function {name!r}") from None
    if not inspect.isfunction(function) or function.__module__ != module_name:
        raise UnserializableRequest(f"{where}: {name!r} is not a function of {module_name}")
    return function


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"

"""Radarr's two shapes for a 400 that names what is wrong, built from pydantic's errors and
from `core.errors.ValidationFailed`:

- a body that fails validation: FluentValidation's array of failures, one per property
  (`[{"propertyName", "errorMessage", "attemptedValue", "severity", ...}]`, as Radarr's
  RadarrErrorPipeline writes a ValidationException); autobrr reads /release/push's 400
  this way;
- a query or route parameter that cannot be bound: ASP.NET's ValidationProblemDetails
  (`{"type", "title", "status", "errors": {"name": ["The value 'x' is not valid."]}}`),
  plus Queuarr's usual `message`.

An attempted value is never a secret: a property named like a password, API key, secret
or token shows ******** (core.masking.MASK)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from core.errors import ValidationFailure
from core.masking import MASK

_PARAMETER_PLACES = frozenset({"query", "path", "header", "cookie"})
_SECRET = re.compile(r"password|api_?key|secret|token", re.IGNORECASE)
# Segments pydantic adds to a location for a union member or a wrapped validator.
_TYPE_TAGS = frozenset({"int", "str", "float", "bool", "none", "list", "dict", "bytes",
                        "constrained-str", "constrained-int", "literal", "enum"})
_MAX_ECHO = 500  # an attempted value longer than this is cut (a base64 torrent...)
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
PROBLEM_TYPE = "https://tools.ietf.org/html/rfc9110#section-15.5.1"

# pydantic error type -> FluentValidation's error code and message (FluentValidation 9,
# as Radarr ships it); {name} is the property's display name.
_FLUENT: dict[str, tuple[str, str]] = {
    "missing": ("NotEmptyValidator", "'{name}' must not be empty."),
    "greater_than_equal": ("GreaterThanOrEqualValidator",
                           "'{name}' must be greater than or equal to '{ge}'."),
    "greater_than": ("GreaterThanValidator", "'{name}' must be greater than '{gt}'."),
    "less_than_equal": ("LessThanOrEqualValidator",
                        "'{name}' must be less than or equal to '{le}'."),
    "less_than": ("LessThanValidator", "'{name}' must be less than '{lt}'."),
    "string_too_long": ("MaximumLengthValidator", "The length of '{name}' must be "
                        "{max_length} characters or fewer. You entered {length} characters."),
    "string_too_short": ("MinimumLengthValidator", "The length of '{name}' must be at least "
                         "{min_length} characters. You entered {length} characters."),
    "enum": ("EnumValidator",
             "'{name}' has a range of values which does not include '{value}'."),
    "literal_error": ("EnumValidator",
                      "'{name}' has a range of values which does not include '{value}'."),
}

# pydantic's context -> FluentValidation's placeholders (camelCase, as Radarr writes them).
_PLACEHOLDERS = {"ge": "comparisonValue", "gt": "comparisonValue", "le": "comparisonValue",
                 "lt": "comparisonValue", "max_length": "maxLength",
                 "min_length": "minLength"}


def body_errors(exc: ValidationError) -> RequestValidationError:
    """A body's pydantic errors as the request's, located in the body (as FastAPI's own)."""
    return RequestValidationError([{**err, "loc": ("body", *err["loc"])}
                                   for err in exc.errors(include_url=False)])


def is_parameter_error(exc: RequestValidationError) -> bool:
    """Whether every error is in a query, route, header or cookie parameter."""
    return all(tuple(err.get("loc", ()))[:1] in {(p,) for p in _PARAMETER_PLACES}
               for err in exc.errors())


def property_path(loc: Sequence[Any]) -> str:
    """("fields", 2, "value") -> "Fields[2].Value": FluentValidation's child-rule path."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and part and not _is_tag(part):
            segment = part[0].upper() + part[1:]
            path += f".{segment}" if path else segment
    return path


def display_name(path: str) -> str:
    """FluentValidation's display name: the last member, its words split."""
    last = re.sub(r"\[\d+\]", "", path.rsplit(".", 1)[-1])
    return " ".join(_WORDS.findall(last)) or last


def _is_tag(part: str) -> bool:
    return part in _TYPE_TAGS or (any(c in part for c in "[(,-") and not part.isidentifier())


def is_secret(path: str) -> bool:
    return bool(_SECRET.search(path))


def attempted(path: str, value: Any) -> Any:
    """A value fit to echo: JSON types only, secrets masked, long text cut."""
    if value is None:
        return None
    if is_secret(path):
        return MASK if value != "" else value
    if isinstance(value, dict):  # a {"name": "password", "value": ...} field is secret too
        named = value.get("name")
        secret = isinstance(named, str) and is_secret(named)
        return {str(k): attempted("password" if secret and k == "value" else str(k), v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [attempted(path, v) for v in value]
    if isinstance(value, bool) or (isinstance(value, int) and -2**63 <= value < 2**63):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "…"


def _entry(path: str, message: str, value: Any, code: str | None,
           placeholders: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"propertyName": path, "errorMessage": message}
    if value is not None:
        entry["attemptedValue"] = value
    entry["severity"] = "error"
    if code is not None:
        entry["errorCode"] = code
    if placeholders is not None:
        entry["formattedMessageArguments"] = []
        entry["formattedMessagePlaceholderValues"] = placeholders
    return entry


def _pydantic_entry(err: dict[str, Any]) -> dict[str, Any]:
    loc = tuple(err.get("loc", ()))
    if loc[:1] in {("body",), *((p,) for p in _PARAMETER_PLACES)}:
        loc = loc[1:]
    path = property_path(loc)
    name = display_name(path)
    kind = str(err.get("type", ""))
    value = None if kind == "missing" or not path else attempted(path, err.get("input"))
    context = {k: v for k, v in (err.get("ctx") or {}).items() if k != "error"}
    pydantic_message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if not path:
        if kind in ("model_type", "model_attributes_type", "dict_type"):
            pydantic_message = "The request body must be a JSON object"
        return _entry("", pydantic_message, None, kind)
    if kind in ("string_too_short", "too_short") and context.get("min_length") == 1:
        kind = "missing"
    raw = err.get("input")
    length = len(raw) if isinstance(raw, str | list) else 0
    if kind in _FLUENT:
        code, template = _FLUENT[kind]
        message = template.format(name=name, value=value, length=length, **context)
    elif kind == "extra_forbidden":
        code, message = kind, f"'{name}' is not a property of this resource."
    else:
        code, message = kind, f"'{name}' is not valid: {pydantic_message}."
    placeholders = {"propertyName": name, "propertyValue": value}
    for key, fluent in _PLACEHOLDERS.items():
        if key in context:
            placeholders[fluent] = context[key]
    if "max_length" in context or "min_length" in context:
        placeholders["totalLength"] = length
    return _entry(path, message, value, code, placeholders)


def from_pydantic(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """One failure per property (a union's members all failing is one failure)."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for err in errors:
        entry = _pydantic_entry(err)
        unioned = any(isinstance(p, str) and _is_tag(p) for p in err.get("loc", ()))
        key = (entry["propertyName"], "" if unioned else entry["errorMessage"])
        if key in seen:
            continue
        seen.add(key)
        out.append(entry)
    return out


def from_core(failures: Sequence[ValidationFailure]) -> list[dict[str, Any]]:
    return [_entry(f.property, f.message, attempted(f.property, f.attempted), f.code)
            for f in failures]


def problem_details(errors: Sequence[Any]) -> dict[str, Any]:
    """ASP.NET's answer to a parameter it cannot bind, with Queuarr's `message`."""
    by_name: dict[str, list[str]] = {}
    described: list[str] = []
    for err in errors:
        loc = [p for p in err.get("loc", ()) if not (isinstance(p, str) and _is_tag(p))]
        name = str(loc[1]) if len(loc) > 1 else str(loc[0]) if loc else ""
        name += "".join(f"[{p}]" for p in loc[2:] if isinstance(p, int))
        value = err.get("input")
        shown = "" if value is None or err.get("type") == "missing" else str(value)
        text = (f"The {name} field is required." if err.get("type") == "missing"
                else f"The value '{attempted(name, shown)}' is not valid.")
        if text not in by_name.setdefault(name, []):
            by_name[name].append(text)
        described.append(f"{name}: {err.get('msg', 'invalid')}")
    return {
        "type": PROBLEM_TYPE,
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": by_name,
        "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00",
        "message": "Invalid request: " + "; ".join(described[:5]),
    }

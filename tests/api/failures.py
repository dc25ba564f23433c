"""Reading Radarr's 400 answers: the array of validation failures (FluentValidation, as
RadarrErrorPipeline writes it) and ASP.NET's problem details for unbindable parameters."""

from __future__ import annotations

from typing import Any

FAILURE_KEYS = {"propertyName", "errorMessage", "attemptedValue", "severity", "errorCode",
                "formattedMessageArguments", "formattedMessagePlaceholderValues"}


def failures_of(response: Any) -> list[dict[str, Any]]:
    """The failures of a 400 that Radarr answers with its array; each entry checked."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list) and body, body
    for entry in body:
        assert set(entry) <= FAILURE_KEYS, entry
        assert isinstance(entry["propertyName"], str)
        assert isinstance(entry["errorMessage"], str) and entry["errorMessage"]
        assert entry["severity"] == "error"
    return body


def failure_pairs(response: Any) -> list[tuple[str, str]]:
    """(propertyName, errorMessage) of each failure, in order."""
    return [(f["propertyName"], f["errorMessage"]) for f in failures_of(response)]


def problem_of(response: Any) -> dict[str, list[str]]:
    """The `errors` of ASP.NET's problem details (a parameter Radarr cannot bind)."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400 and body["title"] == "One or more validation errors occurred."
    assert body["type"].startswith("https://tools.ietf.org/html/rfc9110")
    assert isinstance(body["message"], str) and body["message"]
    errors: dict[str, list[str]] = body["errors"]
    assert errors and all(isinstance(v, list) and v for v in errors.values())
    return errors

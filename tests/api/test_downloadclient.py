"""/api/v3/downloadclient: Radarr's download-client endpoints for QBittorrent and Aria2.

Every resource answered is validated against Radarr's own DownloadClientResource (from
../shared/reference/radarr-openapi.json, vendored in tests/api/data;
`additionalProperties: false`, so no extra member may appear). Secrets go in, are
stored, and never come back out: every response shows them as ********, and sending
******** back keeps the stored value.

Nothing here talks to a real client: saves use `forceSave=true`, and the tests of a
client's connection use a loopback port where nothing listens (answering 200 against a
real qBittorrent or aria2 is covered by tests/clients)."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from core.clientfields import FIELDS, MASK, coerce_fields
from core.clients import ClientConfig, ClientKind, ClientSource
from core.errors import BadRequest
from infrastructure.clients.blocking import BlockingRunner
from infrastructure.clients.registry import ClientRegistry
from tests.api.conftest import Api, ApiFactory, magnet
from tests.api.failures import failures_of
from tests.api.radarr_schema import _FORMATS, _nullable
from tests.conftest import STORE_KINDS

EVERY_STORE = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)

# Radarr's OpenAPI subset vendored from ../shared/reference/radarr-openapi.json.
REFERENCE = Path(__file__).resolve().parent / "data" / "radarr-openapi.json"
RADARR_DOC = "urn:radarr:full"

QBIT_PASSWORD = "qb-pa55word-Do-Not-Leak"
ARIA2_SECRET = "aria2-s3cret-Do-Not-Leak"
NEW_PASSWORD = "a-brand-new-pa55word"
SECRETS = (QBIT_PASSWORD, ARIA2_SECRET, NEW_PASSWORD)
URL = "/api/v3/downloadclient"


# -- Radarr's schema -----------------------------------------------------------------


@cache
def _validator() -> jsonschema.Draft7Validator:
    with open(REFERENCE, encoding="utf-8") as f:
        contents = _nullable(json.load(f))
    registry = Registry().with_resource(
        RADARR_DOC, Resource.from_contents(contents, default_specification=DRAFT7))
    return jsonschema.Draft7Validator(
        {"$ref": f"{RADARR_DOC}#/components/schemas/DownloadClientResource"},
        registry=registry, format_checker=_FORMATS)


def validate_download_client(resource: Any) -> None:
    """One DownloadClientResource, strictly as Radarr's schema says."""
    errors = sorted(_validator().iter_errors(resource), key=str)
    if errors:
        details = "\n".join(
            f"- at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in errors[:10])
        raise AssertionError(f"response does not match Radarr's DownloadClientResource:\n"
                             f"{details}")


def validate_download_clients(body: Any) -> None:
    assert isinstance(body, list), f"expected a JSON array, got {body!r}"
    for resource in body:
        validate_download_client(resource)


def test_the_validator_refuses_what_radarr_would_not_send() -> None:
    good = {"id": 1, "name": "x", "enable": True, "protocol": "torrent", "fields": [
        {"order": 0, "name": "host", "value": "h", "privacy": "normal"}]}
    validate_download_client(good)
    for bad in ({**good, "extra": 1}, {**good, "protocol": "ftp"}, {**good, "id": "1"},
                {**good, "fields": [{"name": "host", "secret": True}]},
                {**good, "fields": [{"name": "host", "privacy": "secret"}]},
                {**good, "message": {"message": "m", "type": "debug"}}):
        with pytest.raises(AssertionError, match="DownloadClientResource"):
            validate_download_client(bad)


# -- helpers -------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port where nothing listens (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def as_fields(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def qbit(name: str = "qbit", *, port: int = 8080, **fields: Any) -> dict[str, Any]:
    """A QBittorrent resource as a Radarr client would POST it."""
    values = {"host": "127.0.0.1", "port": port, "username": "admin",
              "password": QBIT_PASSWORD, **fields}
    return {"name": name, "implementation": "QBittorrent",
            "configContract": "QBittorrentSettings", "protocol": "torrent", "enable": True,
            "priority": 1, "removeCompletedDownloads": True, "removeFailedDownloads": True,
            "tags": [], "fields": as_fields(values)}


def aria2(name: str = "aria", *, port: int = 6800, **fields: Any) -> dict[str, Any]:
    """An Aria2 resource as a Radarr client would POST it."""
    values = {"host": "127.0.0.1", "port": port, "secretToken": ARIA2_SECRET, **fields}
    return {"name": name, "implementation": "Aria2", "configContract": "Aria2Settings",
            "protocol": "torrent", "enable": True, "priority": 1,
            "removeCompletedDownloads": True, "removeFailedDownloads": True, "tags": [],
            "fields": as_fields(values)}


def field(resource: dict[str, Any], name: str) -> Any:
    (value,) = [f["value"] for f in resource["fields"] if f["name"] == name]
    return value


def with_field(resource: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """A copy of a resource with one field set (added when absent)."""
    changed = copy.deepcopy(resource)
    for f in changed["fields"]:
        if f["name"] == name:
            f["value"] = value
            return changed
    changed["fields"].append({"name": name, "value": value})
    return changed


def without_field(resource: dict[str, Any], name: str) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    changed["fields"] = [f for f in changed["fields"] if f["name"] != name]
    return changed


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a secret leaked into a response: {text}"


async def create(api: Api, body: dict[str, Any], *, force: bool = True) -> dict[str, Any]:
    response = await api.client.post(URL, json=body,
                                      params={"forceSave": "true"} if force else None)
    assert response.status_code == 201, response.text
    assert_no_secret(response.text)
    created: dict[str, Any] = response.json()
    validate_download_client(created)
    return created


async def update(api: Api, client_id: int, body: dict[str, Any], *,
                 force: bool = True) -> dict[str, Any]:
    response = await api.client.put(f"{URL}/{client_id}", json=body,
                                     params={"forceSave": "true"} if force else None)
    assert response.status_code == 202, response.text
    assert_no_secret(response.text)
    updated: dict[str, Any] = response.json()
    validate_download_client(updated)
    return updated


async def listed(api: Api) -> list[dict[str, Any]]:
    response = await api.client.get(URL)
    assert response.status_code == 200, response.text
    assert_no_secret(response.text)
    body: list[dict[str, Any]] = response.json()
    validate_download_clients(body)
    return body


async def one(api: Api, client_id: int) -> dict[str, Any]:
    response = await api.client.get(f"{URL}/{client_id}")
    assert response.status_code == 200, response.text
    assert_no_secret(response.text)
    body: dict[str, Any] = response.json()
    validate_download_client(body)
    return body


async def refused(response_or_call: Any, status: int = 400) -> str:
    response = await response_or_call
    assert response.status_code == status, response.text
    assert_no_secret(response.text)
    body = response.json()
    if isinstance(body, list):  # Radarr's validation failures: "Property: message; ..."
        return "; ".join(f"{f['propertyName']}: {f['errorMessage']}" if f["propertyName"]
                         else f["errorMessage"] for f in failures_of(response))
    assert set(body) <= {"message"}, body
    assert isinstance(body["message"], str) and body["message"], body
    message: str = body["message"]
    return message


async def stored(api: Api) -> dict[str, ClientConfig]:
    """What the repository holds, by name (secrets in the clear)."""
    return {c.name: c for c in await api.store.client_configs.list()}


# -- the round trip, on every store --------------------------------------------------


@EVERY_STORE
async def test_a_qbittorrent_client_goes_round_trip_with_its_password_masked(
        api: Api) -> None:
    created = await create(api, qbit(port=8081, movieCategory="movies"))
    assert created["id"] > 0
    assert (created["name"], created["implementation"], created["implementationName"],
            created["configContract"], created["protocol"], created["enable"],
            created["priority"]) == ("qbit", "QBittorrent", "qBittorrent",
                                     "QBittorrentSettings", "torrent", True, 1)
    assert "message" not in created
    assert [f["name"] for f in created["fields"]] == [
        s.name for s in FIELDS[ClientKind.QBITTORRENT]]
    assert field(created, "password") == MASK
    assert (field(created, "host"), field(created, "port"), field(created, "username"),
            field(created, "movieCategory"), field(created, "useSsl")) == (
        "127.0.0.1", 8081, "admin", "movies", False)
    assert {f["name"]: f["privacy"] for f in created["fields"]}["password"] == "password"

    assert await listed(api) == [created]
    assert await one(api, created["id"]) == created
    assert (await stored(api))["qbit"].fields["password"] == QBIT_PASSWORD

    # Sent back as it was read (password ********) to the same host and port: the stored
    # password stays (a new destination needs it again: tests/api/test_secret_destinations).
    changed = with_field(dict(created, name="qbit-renamed", priority=7), "movieCategory",
                         "films")
    updated = await update(api, created["id"], changed)
    assert (updated["id"], updated["name"], updated["priority"],
            field(updated, "movieCategory"), field(updated, "password")) == (
        created["id"], "qbit-renamed", 7, "films", MASK)
    assert api.container.clients is not None
    assert api.container.clients.config(created["id"]).fields["password"] == QBIT_PASSWORD
    rows = await stored(api)
    assert set(rows) == {"qbit-renamed"}
    assert rows["qbit-renamed"].fields["password"] == QBIT_PASSWORD
    assert rows["qbit-renamed"].fields["movieCategory"] == "films"

    # A new password replaces it, and is masked too.
    renewed = await update(api, created["id"], with_field(updated, "password", NEW_PASSWORD))
    assert field(renewed, "password") == MASK
    assert (await stored(api))["qbit-renamed"].fields["password"] == NEW_PASSWORD
    assert await one(api, created["id"]) == renewed

    # A fresh registry over the same store (a restart) reads the same.
    assert api.container.clients is not None
    again = ClientRegistry(api.store.client_configs, api.container.settings.roots)
    await again.load()
    assert again.config(created["id"]).fields["password"] == NEW_PASSWORD
    assert [d.name for d in again.descriptors()] == ["qbit-renamed"]

    response = await api.client.delete(f"{URL}/{created['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert "not found" in await refused(api.client.get(f"{URL}/{created['id']}"), 404)
    assert await listed(api) == []
    assert await stored(api) == {}
    assert api.container.clients.get("qbit-renamed") is None


@EVERY_STORE
async def test_an_aria2_client_goes_round_trip_with_its_secret_masked(api: Api) -> None:
    root = api.container.settings.roots[0]
    created = await create(api, aria2(port=6801, directory=f"{root}/movies"))
    assert (created["implementation"], created["implementationName"],
            created["configContract"]) == ("Aria2", "Aria2", "Aria2Settings")
    assert [f["name"] for f in created["fields"]] == [s.name for s in FIELDS[ClientKind.ARIA2]]
    assert field(created, "secretToken") == MASK
    assert (field(created, "host"), field(created, "port"), field(created, "rpcPath"),
            field(created, "directory")) == ("127.0.0.1", 6801, "/jsonrpc", f"{root}/movies")
    assert await listed(api) == [created]
    assert await one(api, created["id"]) == created
    assert (await stored(api))["aria"].fields["secretToken"] == ARIA2_SECRET

    kept = await update(api, created["id"], with_field(created, "directory", str(root)))
    assert (field(kept, "directory"), field(kept, "secretToken")) == (str(root), MASK)
    assert (await stored(api))["aria"].fields["secretToken"] == ARIA2_SECRET

    changed = await update(api, created["id"], with_field(kept, "secretToken", NEW_PASSWORD))
    assert field(changed, "secretToken") == MASK
    assert (await stored(api))["aria"].fields["secretToken"] == NEW_PASSWORD
    assert api.container.clients is not None
    assert api.container.clients.config(created["id"]).fields["secretToken"] == NEW_PASSWORD

    response = await api.client.delete(f"{URL}/{created['id']}")
    assert (response.status_code, response.json()) == (200, {})
    await refused(api.client.get(f"{URL}/{created['id']}"), 404)
    assert await listed(api) == []


@EVERY_STORE
async def test_both_implementations_are_listed_in_id_order(api: Api) -> None:
    first = await create(api, qbit("one"))
    second = await create(api, aria2("two"))
    third = await create(api, qbit("three", port=8082))
    assert [c["id"] for c in await listed(api)] == [first["id"], second["id"], third["id"]]
    assert [c["name"] for c in await listed(api)] == ["one", "two", "three"]


@EVERY_STORE
async def test_a_put_that_leaves_the_secret_out_keeps_it(api: Api) -> None:
    created = await create(api, qbit())
    await update(api, created["id"], without_field(with_field(created, "username", "root"),
                                                   "password"))
    assert (await stored(api))["qbit"].fields["password"] == QBIT_PASSWORD
    assert (await stored(api))["qbit"].fields["username"] == "root"


@EVERY_STORE
async def test_a_put_can_clear_a_password(api: Api) -> None:
    created = await create(api, qbit())
    cleared = await update(api, created["id"], with_field(created, "password", ""))
    assert field(cleared, "password") == ""
    assert (await stored(api))["qbit"].fields["password"] == ""


@EVERY_STORE
async def test_a_duplicate_name_is_refused_on_create_and_on_rename(api: Api) -> None:
    first = await create(api, qbit("same"))
    message = await refused(api.client.post(URL, json=aria2("same"),
                                            params={"forceSave": "true"}))
    assert "same" in message and "exists already" in message
    other = await create(api, aria2("other"))
    message = await refused(api.client.put(f"{URL}/{other['id']}", params={"forceSave": "true"},
                                           json=dict(other, name="same")))
    assert "exists already" in message
    assert [c["name"] for c in await listed(api)] == ["same", "other"]
    assert [c["id"] for c in await listed(api)] == [first["id"], other["id"]]
    assert set(await stored(api)) == {"same", "other"}


@EVERY_STORE
async def test_a_name_is_stored_without_surrounding_blanks(api: Api) -> None:
    created = await create(api, qbit("  spaced  "))
    assert created["name"] == "spaced"
    await refused(api.client.post(URL, json=aria2("spaced"), params={"forceSave": "true"}))


@EVERY_STORE
async def test_settings_clients_are_listed_with_a_message_and_are_read_only(api: Api) -> None:
    registry = api.container.clients
    assert registry is not None
    values = coerce_fields(ClientKind.QBITTORRENT, as_fields(
        {"host": "qbit.lan", "port": 8080, "username": "admin", "password": QBIT_PASSWORD}))
    await registry.sync_configured([ClientConfig(
        name="from-settings", kind=ClientKind.QBITTORRENT, fields=values,
        source=ClientSource.SETTINGS)])
    mine = await create(api, aria2())

    clients = await listed(api)
    assert [c["name"] for c in clients] == ["from-settings", "aria"]
    settings_client = clients[0]
    assert settings_client["message"] == {
        "message": "Configured by QUEUARR_* settings; read-only here", "type": "info"}
    assert field(settings_client, "password") == MASK
    assert "message" not in clients[1]
    assert await one(api, settings_client["id"]) == settings_client

    for body in (settings_client, dict(settings_client, name="renamed"),
                 with_field(settings_client, "password", NEW_PASSWORD)):
        message = await refused(api.client.put(f"{URL}/{settings_client['id']}", json=body,
                                               params={"forceSave": "true"}))
        assert "configured by settings" in message
    message = await refused(api.client.delete(f"{URL}/{settings_client['id']}"))
    assert "configured by settings" in message

    assert await listed(api) == clients
    rows = await stored(api)
    assert rows["from-settings"].fields == values
    assert rows["from-settings"].source is ClientSource.SETTINGS
    # The client made through the API is still editable.
    await update(api, mine["id"], dict(mine, priority=3))

    # Settings may not take an API client's name; dropped from settings, it is gone.
    with pytest.raises(BadRequest, match="clashes with one made through the API"):
        await registry.sync_configured([ClientConfig(
            name="aria", kind=ClientKind.QBITTORRENT, fields=values,
            source=ClientSource.SETTINGS)])
    await registry.sync_configured([])
    assert [c["name"] for c in await listed(api)] == ["aria"]
    assert set(await stored(api)) == {"aria"}


# -- /schema -------------------------------------------------------------------------


async def test_the_schema_lists_every_implementation_with_its_fields(api: Api) -> None:
    response = await api.client.get(f"{URL}/schema")
    assert response.status_code == 200, response.text
    templates = response.json()
    validate_download_clients(templates)
    by_kind = {t["implementation"]: t for t in templates}
    assert set(by_kind) == {"QBittorrent", "Aria2", "YtDlp"}
    for kind in ClientKind:
        template = by_kind[kind.value]
        assert template["presets"] == []
        assert template["protocol"] == ("unknown" if kind is ClientKind.YTDLP else "torrent")
        specs = FIELDS[kind]
        assert [f["name"] for f in template["fields"]] == [s.name for s in specs]
        assert [f["order"] for f in template["fields"]] == list(range(len(specs)))
        for f, spec in zip(template["fields"], specs, strict=True):
            assert f["value"] == spec.default, f
            assert f["label"] == spec.label
            assert f["privacy"] == spec.privacy
            assert f["advanced"] is spec.advanced
    qbit_fields = {f["name"]: f for f in by_kind["QBittorrent"]["fields"]}
    assert {"host", "port", "useSsl", "username", "password", "savePath"} <= set(qbit_fields)
    assert qbit_fields["password"]["type"] == "password"
    assert qbit_fields["port"]["type"] == "textbox"  # Radarr's QBittorrentSettings says so
    assert qbit_fields["useSsl"]["type"] == "checkbox"
    assert [o["value"] for o in qbit_fields["initialState"]["selectOptions"]] == [0, 1, 2]
    aria2_fields = {f["name"]: f for f in by_kind["Aria2"]["fields"]}
    assert {"host", "port", "rpcPath", "secretToken", "directory"} <= set(aria2_fields)
    assert aria2_fields["secretToken"]["privacy"] == "password"
    assert aria2_fields["host"]["value"] == "127.0.0.1"
    ytdlp_fields = {f["name"]: f for f in by_kind["YtDlp"]["fields"]}
    assert {"directory", "format", "mergeFormat", "subtitles", "cookiesFile", "rateLimit",
            "outputTemplate", "maxActive"} == set(ytdlp_fields)
    assert by_kind["YtDlp"]["implementationName"] == "yt-dlp"


# Radarr's fields (src/NzbDrone.Core/Download/Clients/QBittorrent/QBittorrentSettings.cs and
# Aria2/Aria2Settings.cs at Radarr 5.x, labels from Localization/Core/en.json): name, label,
# type, advanced, select options (value, name, order, hint).
STATES = [(0, "Started", 7, "(0)"), (1, "Force Started", 10, "(1)"), (2, "Stopped", 13, "(2)")]
PRIORITIES = [(0, "Last", 0, None), (1, "First", 1, None)]
RADARR_FIELDS = {
    "QBittorrent": [
        ("host", "Host", "textbox", False, None), ("port", "Port", "textbox", False, None),
        ("useSsl", "Use SSL", "checkbox", False, None),
        ("urlBase", "URL Base", "textbox", True, None),
        ("username", "Username", "textbox", False, None),
        ("password", "Password", "password", False, None),
        ("movieCategory", "Category", "textbox", False, None),
        ("movieImportedCategory", "Post-Import Category", "textbox", True, None),
        ("recentMoviePriority", "Recent Priority", "select", False, PRIORITIES),
        ("olderMoviePriority", "Older Priority", "select", False, PRIORITIES),
        ("initialState", "Initial State", "select", False, STATES),
        ("sequentialOrder", "Sequential Order", "checkbox", False, None),
        ("firstAndLast", "First and Last First", "checkbox", False, None),
        ("contentLayout", "Content Layout", "select", False,
         [(0, "Default", 0, None), (1, "Original", 1, None), (2, "Subfolder", 2, None)]),
    ],
    "Aria2": [
        ("host", "Host", "textbox", False, None), ("port", "Port", "number", False, None),
        ("rpcPath", "XML RPC Path", "textbox", False, None),
        ("useSsl", "Use SSL", "checkbox", False, None),
        ("secretToken", "Secret Token", "password", False, None),
        ("directory", "Directory", "textbox", False, None),
    ],
}


def _shape(field: dict[str, Any]) -> tuple[Any, ...]:
    options = field.get("selectOptions")
    return (field["name"], field["label"], field["type"], field["advanced"],
            None if options is None else
            [(o["value"], o["name"], o["order"], o.get("hint")) for o in options])


async def test_the_schema_carries_every_radarr_field_in_radarrs_order(api: Api) -> None:
    templates = (await api.client.get(f"{URL}/schema")).json()
    validate_download_clients(templates)
    for template in templates:
        if template["implementation"] == "YtDlp":  # Queuarr's own: Radarr has none
            continue
        radarr = RADARR_FIELDS[template["implementation"]]
        shapes = [_shape(f) for f in template["fields"]]
        assert shapes[:len(radarr)] == radarr
        # Queuarr's own fields come after Radarr's: only qBittorrent's savePath
        assert [s[0] for s in shapes[len(radarr):]] == (
            ["savePath"] if template["implementation"] == "QBittorrent" else [])
        by_name = {f["name"]: f["value"] for f in template["fields"]}
        if template["implementation"] == "QBittorrent":
            assert by_name["movieImportedCategory"] == ""
            assert by_name["sequentialOrder"] is False and by_name["contentLayout"] == 0


async def test_radarrs_fields_queuarr_does_not_use_are_stored_and_given_back(
        api: Api) -> None:
    body = qbit(movieImportedCategory="radarr-imported", recentMoviePriority=1,
                olderMoviePriority=1, sequentialOrder=True, firstAndLast=True, contentLayout=2)
    created = await create(api, body)
    again = await one(api, created["id"])
    for name, value in (("movieImportedCategory", "radarr-imported"),
                        ("recentMoviePriority", 1), ("olderMoviePriority", 1),
                        ("sequentialOrder", True), ("firstAndLast", True),
                        ("contentLayout", 2)):
        assert field(created, name) == value and field(again, name) == value, name
    stored_fields = (await stored(api))[created["name"]].fields
    assert stored_fields["sequentialOrder"] is True
    assert stored_fields["movieImportedCategory"] == "radarr-imported"


async def test_a_field_failure_is_radarrs_validation_array_named_by_property(
        api: Api) -> None:
    response = await api.client.post(URL, params={"forceSave": "true"}, json=qbit(
        port=0, contentLayout=7, password=1234))
    assert [(f["propertyName"], f["errorMessage"], f.get("attemptedValue"))
            for f in failures_of(response)] == [
        ("Password", "field 'password' must be a string", MASK),
        ("ContentLayout", "field 'contentLayout' must be one of 0 (Default), 1 (Original), "
         "2 (Subfolder)", 7),
        ("Port", "'Port' must be between 1 and 65535. You entered 0.", 0)]
    assert await listed(api) == []


async def test_a_schema_template_filled_in_can_be_posted_back(api: Api) -> None:
    templates = (await api.client.get(f"{URL}/schema")).json()
    template = next(t for t in templates if t["implementation"] == "Aria2")
    body = with_field(dict(template, name="from-template"), "secretToken", ARIA2_SECRET)
    created = await create(api, body)
    assert created["name"] == "from-template"
    assert (await stored(api))["from-template"].fields["secretToken"] == ARIA2_SECRET


# -- unknown ids ---------------------------------------------------------------------


async def test_unknown_ids_are_404(api: Api) -> None:
    created = await create(api, qbit())
    missing = created["id"] + 100
    assert "not found" in await refused(api.client.get(f"{URL}/{missing}"), 404)
    assert "not found" in await refused(
        api.client.put(f"{URL}/{missing}", json=qbit("x"), params={"forceSave": "true"}), 404)
    assert "not found" in await refused(api.client.delete(f"{URL}/{missing}"), 404)
    assert [c["id"] for c in await listed(api)] == [created["id"]]


# -- 400s ------------------------------------------------------------------------------


def _set(**top: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda body: {**body, **top}


def _field(name: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda body: with_field(body, name, value)


def _drop(*names: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda body: {k: v for k, v in body.items() if k not in names}


def _drop_field(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda body: without_field(body, name)


ROOT = "<root>"  # replaced by the app's download root

INVALID: dict[str, tuple[Callable[..., dict[str, Any]], Callable[..., dict[str, Any]], str]] = {
    "unknown implementation": (qbit, _set(implementation="Transmission"),
                               "Unknown implementation 'Transmission'"),
    "usenet implementation": (qbit, _set(implementation="Sabnzbd", protocol="usenet"),
                              "'usenet'"),
    "usenet protocol": (qbit, _set(protocol="usenet"), "protocol 'usenet'"),
    "usenet protocol on aria2": (aria2, _set(protocol="usenet"), "protocol 'usenet'"),
    "unknown field": (qbit, _field("bogus", 1), "unknown field 'bogus'"),
    "field without a name": (qbit, lambda b: {**b, "fields": [{"value": 1}]},
                             "Fields[0].Name: 'Name' must not be empty."),
    "port not a number": (qbit, _field("port", "abc"), "'port' must be an integer"),
    "port a float": (aria2, _field("port", 80.5), "'port' must be an integer"),
    "port a boolean": (qbit, _field("port", True), "'port' must be an integer"),
    "useSsl a string": (qbit, _field("useSsl", "yes"), "'useSsl' must be true or false"),
    "useSsl a number": (aria2, _field("useSsl", 1), "'useSsl' must be true or false"),
    "host a number": (qbit, _field("host", 5), "'host' must be a string"),
    "password a number": (qbit, _field("password", 1234), "'password' must be a string"),
    "port zero": (qbit, _field("port", 0), "'Port' must be between 1 and 65535. You entered 0."),
    "port negative": (aria2, _field("port", -1), "'Port' must be between 1 and 65535. You "
                      "entered -1."),
    "port too large": (qbit, _field("port", 65536), "'Port' must be between 1 and 65535. You "
                       "entered 65536."),
    "initial state not an option": (qbit, _field("initialState", 7), "'initialState'"),
    "priority zero": (qbit, _set(priority=0),
                      "Priority: 'Priority' must be between 1 and 50. You entered 0."),
    "priority 51": (aria2, _set(priority=51),
                    "Priority: 'Priority' must be between 1 and 50. You entered 51."),
    "priority negative": (qbit, _set(priority=-3),
                          "Priority: 'Priority' must be between 1 and 50. You entered -3."),
    "empty name": (qbit, _set(name=""), "Name: 'Name' must not be empty."),
    "blank name": (aria2, _set(name="   "), "Name: 'Name' must not be empty."),
    "no name": (qbit, _drop("name"), "Name: 'Name' must not be empty."),
    "name too long": (qbit, _set(name="n" * 101), "Name: The length of 'Name' must be 100 "
                      "characters or fewer. You entered 101 characters."),
    "no implementation": (qbit, _drop("implementation"),
                          "Implementation: 'Implementation' must not be empty."),
    "host with a path": (qbit, _field("host", "evil.example/x"), "plain host name"),
    "host with credentials": (qbit, _field("host", "user@evil.example"), "plain host name"),
    "empty host": (qbit, _field("host", ""), "plain host name"),
    "aria2 on a private address": (aria2, _field("host", "10.0.0.5"),
                                   "aria2 RPC must be on loopback"),
    "aria2 on a LAN address": (aria2, _field("host", "192.168.1.20"),
                               "aria2 RPC must be on loopback"),
    "aria2 on a public name": (aria2, _field("host", "example.com"),
                               "aria2 RPC must be on loopback"),
    "aria2 on every interface": (aria2, _field("host", "0.0.0.0"),
                                 "aria2 RPC must be on loopback"),
    "aria2 on a name that starts like localhost": (aria2, _field("host", "localhost.evil.com"),
                                                   "aria2 RPC must be on loopback"),
    "aria2 on a public IPv6 address": (aria2, _field("host", "2606:4700::1111"),
                                       "aria2 RPC must be on loopback"),
    "aria2 on a decimal address": (aria2, _field("host", "2130706433"),
                                   "aria2 RPC must be on loopback"),
    "aria2 with an empty secret": (aria2, _field("secretToken", ""),
                                   "aria2 needs a secretToken"),
    "aria2 without a secret": (aria2, _drop_field("secretToken"), "aria2 needs a secretToken"),
    "aria2 with the mask as its first secret": (aria2, _field("secretToken", MASK),
                                                "aria2 needs a secretToken"),
    "aria2 with another RPC path": (aria2, _field("rpcPath", "/admin"), "the path must be"),
    "savePath outside the roots": (qbit, _field("savePath", "/etc"),
                                   "savePath '/etc' is outside the download roots"),
    "savePath with ..": (qbit, _field("savePath", f"{ROOT}/../etc"), "must not contain '..'"),
    "savePath relative": (qbit, _field("savePath", "movies"), "must be an absolute path"),
    "savePath in a home directory": (qbit, _field("savePath", "~/movies"), "no '~'"),
    "savePath on a drive": (qbit, _field("savePath", "C:\\movies"), "drive letters"),
    "savePath on a share": (qbit, _field("savePath", "//server/share"), "UNC"),
    "directory outside the roots": (aria2, _field("directory", "/tmp"),
                                    "directory '/tmp' is outside the download roots"),
    "directory with ..": (aria2, _field("directory", f"{ROOT}/a/../../etc"),
                          "must not contain '..'"),
    "directory relative": (aria2, _field("directory", "downloads/movies"),
                           "must be an absolute path"),
    "category with a path": (qbit, _field("movieCategory", "../movies"), "not a plain name"),
}


def _rooted(body: Any, root: Path) -> Any:
    return json.loads(json.dumps(body).replace(ROOT, str(root)))


@pytest.mark.parametrize("case", list(INVALID))
async def test_an_invalid_client_is_refused_with_a_message(api: Api, case: str) -> None:
    make, change, expected = INVALID[case]
    body = _rooted(change(make()), api.container.settings.roots[0])
    message = await refused(api.client.post(URL, json=body, params={"forceSave": "true"}))
    assert expected in message, message
    assert await listed(api) == []
    assert await stored(api) == {}


# On a change, a secret left out or sent as ******** keeps the stored one (tested above).
KEEPS_THE_STORED_SECRET = ("aria2 without a secret", "aria2 with the mask as its first secret")


@pytest.mark.parametrize("case", [c for c in INVALID if "name" not in c
                                  and "implementation" not in c
                                  and c not in KEEPS_THE_STORED_SECRET])
async def test_an_invalid_change_is_refused_and_nothing_changes(api: Api, case: str) -> None:
    make, change, expected = INVALID[case]
    created = await create(api, make())
    body = _rooted(change(created), api.container.settings.roots[0])
    message = await refused(api.client.put(f"{URL}/{created['id']}", json=body,
                                           params={"forceSave": "true"}))
    assert expected in message, message
    assert await listed(api) == [created]


async def test_the_implementation_cannot_change(api: Api) -> None:
    created = await create(api, qbit())
    message = await refused(api.client.put(f"{URL}/{created['id']}", json=aria2("qbit"),
                                           params={"forceSave": "true"}))
    assert "implementation cannot change" in message


@pytest.mark.parametrize(("raw", "expected"), [
    (b"", "A JSON request body is required"),
    (b"not json", "Invalid JSON: expected ident at line 1 column 2"),  # the body as a whole
    (b"[]", "The request body must be a JSON object"),
    (b"null", "The request body must be a JSON object"),
    (b'{"name": "x"}', "Implementation: 'Implementation' must not be empty."),
])
async def test_a_body_that_is_not_a_client_is_refused(api: Api, raw: bytes,
                                                      expected: str) -> None:
    message = await refused(api.client.post(URL, content=raw, params={"forceSave": "true"},
                                            headers={"Content-Type": "application/json"}))
    assert message == expected
    assert await listed(api) == []


async def test_paths_inside_the_roots_are_accepted(api: Api) -> None:
    root = api.container.settings.roots[0]
    created = await create(api, qbit(savePath=f"{root}//movies/./hd/"))
    assert field(created, "savePath") == f"{root}//movies/./hd/"  # kept as it was typed
    created = await create(api, aria2(directory=str(root)))
    assert field(created, "directory") == str(root)


async def test_aria2_on_every_spelling_of_loopback_is_accepted(api: Api) -> None:
    for n, host in enumerate(("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2")):
        created = await create(api, aria2(f"aria-{n}", host=host))
        assert field(created, "host") == host


async def test_numbers_sent_as_strings_are_read_as_numbers(api: Api) -> None:
    created = await create(api, qbit(port="8089", initialState="2"))
    assert (field(created, "port"), field(created, "initialState")) == (8089, 2)


# -- testing the client before saving ------------------------------------------------


@pytest.mark.parametrize("make", [qbit, aria2])
async def test_a_save_without_force_tests_the_client_and_refuses_when_it_fails(
        api: Api, make: Callable[..., dict[str, Any]]) -> None:
    body = make(port=free_port())
    message = await refused(api.client.post(URL, json=body))
    assert message.startswith(f"Test of download client {body['name']!r} failed"), message
    assert await listed(api) == []
    assert await stored(api) == {}


async def test_force_save_false_tests_too(api: Api) -> None:
    message = await refused(api.client.post(URL, json=qbit(port=free_port()),
                                            params={"forceSave": "false"}))
    assert "failed" in message


async def test_a_disabled_client_is_saved_without_a_test(api: Api) -> None:
    created = await create(api, dict(qbit(port=free_port()), enable=False), force=False)
    assert created["enable"] is False


async def test_a_change_without_force_is_tested_and_refused_when_the_test_fails(
        api: Api) -> None:
    created = await create(api, aria2(port=free_port()))
    message = await refused(api.client.put(f"{URL}/{created['id']}",
                                           json=dict(created, priority=9)))
    assert "failed" in message
    assert await listed(api) == [created]
    # Disabling needs no test.
    disabled = await update(api, created["id"], dict(created, enable=False), force=False)
    assert disabled["enable"] is False


@pytest.mark.parametrize("make", [qbit, aria2])
async def test_the_test_endpoint_answers_400_when_the_client_is_unreachable(
        api: Api, make: Callable[..., dict[str, Any]]) -> None:
    body = make(port=free_port())
    message = await refused(api.client.post(f"{URL}/test", json=body))
    assert message.startswith(f"Test of download client {body['name']!r} failed"), message
    assert await listed(api) == []


async def test_the_test_endpoint_validates_first(api: Api) -> None:
    message = await refused(api.client.post(f"{URL}/test",
                                            json=aria2(host="10.0.0.5", port=free_port())))
    assert "loopback" in message


async def test_testing_a_stored_client_with_its_masked_secret_uses_the_stored_one(
        api: Api) -> None:
    created = await create(api, aria2(port=free_port()))
    # Had the mask not been replaced by the stored secret, this would be refused for the
    # missing secret instead of failing to connect.
    message = await refused(api.client.post(f"{URL}/test", json=created))
    assert "failed" in message and "secretToken" not in message


@pytest.fixture
def runners(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every BlockingRunner (an adapter's worker threads) built during the test; all
    are closed at the end so that none outlives it."""
    made: list[BlockingRunner] = []
    original = BlockingRunner.__init__

    def tracking(self: BlockingRunner, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(BlockingRunner, "__init__", tracking)
    yield made
    for runner in made:
        runner.close()


def threads_left_running(runners: list[BlockingRunner]) -> list[str]:
    """Runners that started worker threads and were never closed."""
    return [runner.name for runner in runners if runner.calls and not runner.closed]


@pytest.mark.parametrize("make", [qbit, aria2])
async def test_a_refused_save_releases_the_worker_threads_of_the_client_it_tested(
        api: Api, make: Callable[..., dict[str, Any]], runners: list[BlockingRunner]) -> None:
    await refused(api.client.post(URL, json=make(port=free_port())))
    assert any(r.calls for r in runners)  # the test ran on a worker thread
    assert threads_left_running(runners) == []


async def test_a_refused_change_releases_the_worker_threads_of_the_client_it_tested(
        api: Api, runners: list[BlockingRunner]) -> None:
    created = await create(api, qbit(port=free_port()))
    await refused(api.client.put(f"{URL}/{created['id']}", json=dict(created, priority=2)))
    assert threads_left_running(runners) == []


async def test_the_test_endpoint_releases_the_worker_threads_of_the_client_it_tested(
        api: Api, runners: list[BlockingRunner]) -> None:
    await refused(api.client.post(f"{URL}/test", json=aria2(port=free_port())))
    assert any(r.calls for r in runners)
    assert threads_left_running(runners) == []


async def test_testall_answers_one_entry_per_client(api: Api) -> None:
    assert (await api.client.post(f"{URL}/testall")).json() == []
    first = await create(api, qbit(port=free_port()))
    second = await create(api, aria2(port=free_port()))
    await create(api, {**aria2("off", port=free_port()), "enable": False})  # as Radarr: skipped
    response = await api.client.post(f"{URL}/testall")
    assert response.status_code == 200, response.text
    assert_no_secret(response.text)
    results = response.json()
    assert [r["id"] for r in results] == [first["id"], second["id"]]
    for result in results:
        assert set(result) == {"id", "isValid", "validationFailures"}
        assert result["isValid"] is False
        assert result["validationFailures"], result
        for failure in result["validationFailures"]:
            assert failure["errorMessage"]
            assert failure["severity"] == "error"


# -- grabs that name a client --------------------------------------------------------


@pytest.fixture
async def routed_api(make_api: ApiFactory) -> Any:
    """An app whose queue service routes through the container's registry (as
    infrastructure.bootstrap.build wires it), with a QBittorrent and an Aria2 saved."""
    async with make_api() as running:
        assert running.container.clients is not None
        running.container.queue.clients = running.container.clients
        await create(running, qbit("qbit-real"))
        await create(running, aria2("aria-real"))
        yield running


async def test_a_grab_naming_an_unknown_client_is_refused(routed_api: Api) -> None:
    api = routed_api
    message = await refused(api.client.post("/api/v3/queue/grab", json={
        "title": "Movie.2020", "downloadUrl": magnet("Movie.2020"), "movieId": 1,
        "downloadClient": "nope"}))
    assert "Unknown download client 'nope'" in message
    assert "aria-real, qbit-real" in message
    assert (await api.queue({"includeUnknownMovieItems": True}))["totalRecords"] == 0


async def test_a_grab_naming_qbittorrent_for_a_plain_http_url_is_refused(
        routed_api: Api) -> None:
    api = routed_api
    message = await refused(api.client.post("/api/v3/queue/grab", json={
        "title": "Movie.2020", "downloadUrl": "https://files.example/Movie.2020.mkv",
        "movieId": 1, "downloadClient": "qbit-real"}))
    assert "cannot take a http release" in message
    assert (await api.queue({"includeUnknownMovieItems": True}))["totalRecords"] == 0


async def test_a_grab_naming_a_disabled_client_is_refused(routed_api: Api) -> None:
    api = routed_api
    (client,) = [c for c in await listed(api) if c["name"] == "qbit-real"]
    await update(api, client["id"], dict(client, enable=False))
    message = await refused(api.client.post("/api/v3/queue/grab", json={
        "title": "Movie.2020", "downloadUrl": magnet("Movie.2020"), "movieId": 1,
        "downloadClient": "qbit-real"}))
    assert "is disabled" in message


async def test_a_grab_naming_a_capable_client_is_queued(routed_api: Api) -> None:
    api = routed_api
    item = await api.grab("Movie.2020", downloadClient="qbit-real")
    assert item["downloadClient"] == "qbit-real"
    direct = await api.grab("Direct.2020", downloadUrl="https://1.1.1.1/Direct.2020.mkv",
                            downloadClient="aria-real")
    assert direct["downloadClient"] == "aria-real"
    assert (await api.queue())["totalRecords"] == 2


async def test_a_grab_naming_a_deleted_client_is_refused(routed_api: Api) -> None:
    api = routed_api
    (client,) = [c for c in await listed(api) if c["name"] == "aria-real"]
    assert (await api.client.delete(f"{URL}/{client['id']}")).status_code == 200
    message = await refused(api.client.post("/api/v3/queue/grab", json={
        "title": "Movie.2020", "downloadUrl": magnet("Movie.2020"), "movieId": 1,
        "downloadClient": "aria-real"}))
    assert "Unknown download client 'aria-real'" in message


async def test_adding_or_enabling_a_client_wakes_the_dispatcher(api: Api) -> None:
    """Issue 18: items waiting for a client are sent at once, not at an idle pass."""
    woken: list[bool] = []
    api.container.dispatching.wake = lambda: woken.append(True)  # type: ignore[method-assign]
    disabled = await create(api, {**qbit("one"), "enable": False})
    assert woken == []
    await update(api, disabled["id"], {**disabled, "enable": True})
    assert woken == [True]
    await create(api, aria2("two"))
    assert woken == [True, True]

"""A stored secret kept by ******** (or, for a client, by leaving it out) is kept only for
the destination it was stored for: core.masking's rule, as download-client fields and
webhooks apply it."""

from __future__ import annotations

from typing import Any

import pytest

from core.clientfields import check_secret_destination, coerce_fields
from core.clients import ClientKind
from core.errors import BadRequest
from core.masking import MASK, check_kept_secrets
from core.notifications import NotificationConfig, check_notification

QBIT = {"host": "qbit.lan", "port": 8080, "useSsl": False, "urlBase": "",
        "username": "admin", "password": "stored-pw"}
ARIA2 = {"host": "127.0.0.1", "port": 6800, "useSsl": False, "rpcPath": "/jsonrpc",
         "secretToken": "stored-token"}


def entries(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def check(kind: ClientKind, stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    previous = coerce_fields(kind, entries(stored))
    submitted = entries(sent)
    values = coerce_fields(kind, submitted, previous)
    check_secret_destination(kind, submitted, values, previous)
    return values


def test_the_rule_refuses_kept_secrets_for_another_destination_only() -> None:
    check_kept_secrets([], "b", "a", "URL")  # nothing kept: nothing to refuse
    check_kept_secrets(["secret"], "a", "a", "URL")
    with pytest.raises(BadRequest, match=r"^secret must be sent again.*the URL changed"):
        check_kept_secrets(["secret"], "b", "a", "URL")


@pytest.mark.parametrize("kind, stored, change", [
    (ClientKind.QBITTORRENT, QBIT, {"host": "evil.example"}),
    (ClientKind.QBITTORRENT, QBIT, {"port": 8081}),
    (ClientKind.QBITTORRENT, QBIT, {"useSsl": True}),
    (ClientKind.QBITTORRENT, QBIT, {"urlBase": "/other"}),
    (ClientKind.ARIA2, ARIA2, {"host": "localhost"}),
    (ClientKind.ARIA2, ARIA2, {"port": 6801}),
    (ClientKind.ARIA2, ARIA2, {"useSsl": True}),
    (ClientKind.ARIA2, ARIA2, {"rpcPath": ""}),
])
def test_a_masked_or_missing_secret_is_refused_for_a_new_destination(
        kind: ClientKind, stored: dict[str, Any], change: dict[str, Any]) -> None:
    secret = "password" if kind is ClientKind.QBITTORRENT else "secretToken"
    for sent in ({**stored, **change, secret: MASK},
                 {k: v for k, v in {**stored, **change}.items() if k != secret}):
        with pytest.raises(BadRequest, match=f"^{secret} must be sent again"):
            check(kind, stored, sent)
    # Sent again, or cleared, it may go anywhere.
    assert check(kind, stored, {**stored, **change, secret: "typed"})[secret] == "typed"
    assert check(kind, stored, {**stored, **change, secret: ""})[secret] == ""


@pytest.mark.parametrize("change", [{"username": "root"}, {"movieCategory": "films"},
                                    {"initialState": 2}, {"host": "  qbit.lan "}])
def test_a_masked_secret_is_kept_when_the_destination_stays(change: dict[str, Any]) -> None:
    values = check(ClientKind.QBITTORRENT, QBIT, {**QBIT, **change, "password": MASK})
    assert values["password"] == "stored-pw"


def test_a_client_without_a_stored_secret_may_move() -> None:
    stored = {**QBIT, "password": ""}
    assert check(ClientKind.QBITTORRENT, stored, {**stored, "port": 9, "password": MASK}
                 )["port"] == 9


def test_a_webhook_keeps_its_masked_secret_only_at_the_same_url() -> None:
    stored = NotificationConfig(1, "hook", "https://hooks.example/a", "stored-secret")
    same = check_notification(NotificationConfig(1, "renamed", "https://hooks.example/a",
                                                 MASK), stored)
    assert (same.name, same.secret) == ("renamed", "stored-secret")
    with pytest.raises(BadRequest, match=r"^secret must be sent again.*URL changed"):
        check_notification(NotificationConfig(1, "hook", "https://evil.example/a", MASK),
                           stored)
    moved = check_notification(NotificationConfig(1, "hook", "https://evil.example/a",
                                                  "new-secret"), stored)
    assert moved.secret == "new-secret"
    unsigned = NotificationConfig(1, "hook", "https://hooks.example/a")
    assert check_notification(NotificationConfig(1, "hook", "https://evil.example/a", MASK),
                              unsigned).secret is None

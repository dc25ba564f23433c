"""Secrets never reach the log: what the real log set-up (api.logging.configure_logging)
writes, and what other handlers (caplog) see after it, has API keys in every spelling the
API edge accepts, passwords, tracker passkeys and URL credentials masked, in messages and
in tracebacks. Database errors carry no bound parameters."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from infrastructure.db.engine import Database
from infrastructure.db.tables import download_client, notification
from infrastructure.redact import redact
from tests.conftest import sqlite_copy
from tests.logs import real_logging

KEY = "0123456789abcdef0123456789abcdef"
HEX = "fedcba9876543210fedcba9876543210"
INFO_HASH = "a" * 40
PASSWORD = "pa,ss;wo rd"  # a comma, a semicolon and a space
log = logging.getLogger("queuarr.test")


def logged(message: str, *args: object) -> str:
    """The line the real handler writes for one record, minus its time/level/name."""
    with real_logging() as buffer:
        log.info(message, *args)
    line = buffer.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1, line
    return line.split(" queuarr.test: ", 1)[1][:-1]


@pytest.mark.parametrize(("query", "expected"), [
    (f"page=2&apikey[0]={KEY}&pageSize=5", "page=2&apikey[0]=<redacted>&pageSize=5"),
    (f"apikey%5B0%5D={KEY}", "apikey%5B0%5D=<redacted>"),
    (f"APIKEY[]={KEY}", "APIKEY[]=<redacted>"),
    (f"apiKey={KEY}&apikey=second-{KEY}", "apiKey=<redacted>&apikey=<redacted>"),
    (f"apik%65y={KEY}&pageSize=5", "apik%65y=<redacted>&pageSize=5"),
    (f"api_key={KEY}", "api_key=<redacted>"),
])
def test_an_api_key_in_a_request_line_is_masked_in_every_spelling_the_edge_accepts(
        query: str, expected: str) -> None:
    # uvicorn's access log, as it logs a request
    line = logged('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", f"/api/v3/queue?{query}",
                  "1.1", 200)
    assert line == f'127.0.0.1:5 - "GET /api/v3/queue?{expected} HTTP/1.1" 200'


@pytest.mark.parametrize(("message", "expected"), [
    (f"X-Api-Key: {KEY}", "X-Api-Key: <redacted>"),
    (f"{{'X-Api-Key': '{KEY}', 'Accept': '*/*'}}", "{'X-Api-Key': '<redacted>', 'Accept': '*/*'}"),
    (f"Authorization: Bearer {KEY}", "Authorization: Bearer <redacted>"),
    (f"headers={{'authorization': 'Bearer {KEY}'}}",
     "headers={'authorization': 'Bearer <redacted>'}"),
    (f"QUEUARR_API_KEY={KEY} QUEUARR_PORT=7878", "QUEUARR_API_KEY=<redacted> QUEUARR_PORT=7878"),
])
def test_an_api_key_in_a_header_or_setting_is_masked(message: str, expected: str) -> None:
    assert logged(message) == expected


@pytest.mark.parametrize(("message", "expected"), [
    (f"password={PASSWORD}", "password=<redacted> rd"),
    (f"password={PASSWORD.replace(' ', '')} next", "password=<redacted> next"),
    (f"password: {PASSWORD.replace(' ', '')}", "password: <redacted>"),
    (f'{{"password": "{PASSWORD}", "host": "qbit"}}', '{"password": "<redacted>", "host": "qbit"}'),
    (f"{{'password': '{PASSWORD}', 'host': 'qbit'}}", "{'password': '<redacted>', 'host': 'qbit'}"),
    ('{"password":"a\\"b,c;d","host":"qbit"}', '{"password":"<redacted>","host":"qbit"}'),
    ('\'{\\"secret\\": \\"a,b;c\\", \\"url\\": \\"x\\"}\'',
     '\'{\\"secret\\": \\"<redacted>\\", \\"url\\": \\"x\\"}\''),
    (f"rpc secret=token:{PASSWORD.replace(' ', '')}", "rpc secret=<redacted>"),
])
def test_a_password_with_commas_and_semicolons_is_masked_whole(
        message: str, expected: str) -> None:
    assert logged(message) == expected


@pytest.mark.parametrize(("url", "expected"), [
    (f"https://t.example/announce.php?passkey={HEX}&x=1",
     "https://t.example/announce.php?passkey=<redacted>&x=1"),
    (f"https://t.example/announce?authkey={HEX}&torrent_pass={HEX}",
     "https://t.example/announce?authkey=<redacted>&torrent_pass=<redacted>"),
    (f"http://t.example/announce/{HEX}/", "http://t.example/announce/<redacted>/"),
    (f"http://t.example/announce/{HEX}", "http://t.example/announce/<redacted>"),
    (f"http://t.example/{HEX}/announce", "http://t.example/<redacted>/announce"),
    (f"http://t.example:2710/{HEX}/scrape", "http://t.example:2710/<redacted>/scrape"),
    (f"magnet:?xt=urn:btih:{INFO_HASH}&tr=http%3A%2F%2Ft.example%2F{HEX}%2Fannounce",
     f"magnet:?xt=urn:btih:{INFO_HASH}&tr=http%3A%2F%2Ft.example%2F<redacted>%2Fannounce"),
    (f"magnet:?xt=urn:btih:{INFO_HASH}&tr=https%3A%2F%2Ft.example%2Fa.php%3Fpasskey%3D{HEX}",
     f"magnet:?xt=urn:btih:{INFO_HASH}&tr=https%3A%2F%2Ft.example%2Fa.php%3Fpasskey%3D<redacted>"),
    ("http://admin:pa,ss;wd@qbit:8080/api/v2", "http://admin:<redacted>@qbit:8080/api/v2"),
])
def test_tracker_passkeys_and_url_credentials_are_masked(url: str, expected: str) -> None:
    assert logged("fetching %s", url) == f"fetching {expected}"


@pytest.mark.parametrize("message", [
    "GET /api/v3/queue?page=2&sortKey=timeleft&sortDirection=descending",
    f"magnet:?xt=urn:btih:{INFO_HASH}&dn=Some.Movie&tr=http%3A%2F%2Ftracker.example%2Fannounce",
    "http://tracker.example:1337/announce, 3 items, token bucket full",
])
def test_lines_without_secrets_are_logged_unchanged(message: str) -> None:
    assert logged(message) == message


def test_a_log_call_whose_arguments_do_not_fit_its_format_is_masked_too(
        capsys: pytest.CaptureFixture[str]) -> None:
    line = logged("%d items", f"apikey={KEY}")  # logging would report it, args and all

    assert line == "%d items ('apikey=<redacted>',)"
    assert KEY not in capsys.readouterr().err


def test_a_secret_in_an_exception_is_masked_in_the_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    with real_logging() as buffer:
        try:
            raise RuntimeError(f"login refused for password={PASSWORD} on http://u:p4ss@h/")
        except RuntimeError:
            log.exception("the job failed")
    text = buffer.getvalue()
    assert "RuntimeError: login refused for password=<redacted>" in text
    assert "http://u:<redacted>@h/" in text
    for seen in (text, caplog.text, *(r.exc_text or "" for r in caplog.records)):
        assert "pa,ss" not in seen and "wo rd" not in seen and "p4ss" not in seen


def test_the_formatter_masks_tracebacks_and_stacks_under_any_format() -> None:
    from infrastructure.redact import RedactingFormatter

    try:
        raise ValueError(f"[parameters: ('{PASSWORD}',)]")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.makeLogRecord({"msg": f"apikey[0]={KEY}", "exc_info": exc_info,
                                    "stack_info": f"Stack:\n  secret={HEX}"})
    for fmt in ("%(message)s", "%(levelname)s|%(name)s|%(message)s|%(args)s"):
        text = RedactingFormatter(fmt).format(record)
        assert "ValueError: [parameters: <redacted>" in text
        assert KEY not in text and HEX not in text and "pa,ss" not in text


# -- database errors --------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        db = Database(sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path))
    else:
        db = Database(request.getfixturevalue("postgres_url"))
    try:
        yield db
    finally:
        await db.dispose()


WEBHOOK = orjson.dumps({"url": "https://hooks.example/x", "secret": PASSWORD,
                        "events": [], "enable": True}).decode()
CLIENT = {"name": "qbit", "implementation": "qbittorrent", "enable": True, "priority": 1,
          "fields": orjson.dumps({"host": "qbit", "username": "admin",
                                  "password": PASSWORD}).decode(),
          "source": "api", "remove_completed": False, "remove_failed": False, "tags": "[]",
          "updated_at": datetime(2024, 1, 1, tzinfo=UTC)}
FAILURES = ["a webhook without a name", "a second client of the same name"]


async def failing_insert(db: Database, how: str) -> DBAPIError:
    """A real insert that fails, with a secret among its bound parameters (and, for a
    NOT NULL violation on Postgres, in the server's "Failing row contains" detail)."""
    with pytest.raises(DBAPIError) as caught:
        async with db.writing() as conn:
            if how == "a webhook without a name":
                await conn.execute(insert(notification).values(name=None, body=WEBHOOK))
            else:
                for _ in range(2):
                    await conn.execute(insert(download_client).values(CLIENT))
    return caught.value


@pytest.mark.parametrize("how", FAILURES)
async def test_a_failed_insert_logs_no_secret_from_its_parameters(
        database: Database, how: str, caplog: pytest.LogCaptureFixture) -> None:
    with real_logging() as buffer:
        error = await failing_insert(database, how)
        log.error("unexpected error", exc_info=error)
    text = buffer.getvalue()
    assert "IntegrityError" in text and "INSERT INTO" in text  # the traceback is there
    for seen in (text, caplog.text, *(r.getMessage() for r in caplog.records),
                 *(r.exc_text or "" for r in caplog.records)):
        assert "pa,ss" not in seen and "wo rd" not in seen


async def test_a_database_error_does_not_carry_its_bound_parameters(
        database: Database) -> None:
    error = await failing_insert(database, "a second client of the same name")
    assert "INSERT INTO" in str(error)
    assert "pa,ss" not in str(error) and "admin" not in str(error)


async def test_the_sqlite_drivers_lines_with_bound_parameters_stay_out_of_a_debug_log(
        tmp_path: Path, sqlite_template: Path) -> None:
    # A Slack-style webhook URL is itself the secret: no key name tells redact() so.
    url = "https://hooks.example/services/T000/B000/unkeyed-webhook-token"
    db = Database(sqlite_copy(sqlite_template, tmp_path))
    try:
        with real_logging("DEBUG") as buffer:
            async with db.writing() as conn:
                await conn.execute(insert(notification).values(
                    name="n", body=orjson.dumps({"url": url}).decode()))
            log.debug("written")
    finally:
        await db.dispose()
    assert "queuarr.test: written" in buffer.getvalue()  # DEBUG lines are written
    assert "unkeyed-webhook-token" not in buffer.getvalue()


def test_an_argument_changed_after_it_was_logged_is_shown_as_it_was_when_masked() -> None:
    """python-telegram-bot logs a getFile result and then puts the file URL, token and
    all, into it; a handler that formats the record later must see what the filter saw."""
    from infrastructure.redact import Redact

    seen: list[str] = []

    class Later(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    result: dict[str, str] = {"file_path": "documents/file_1.txt"}
    quiet = logging.getLogger("queuarr.test.later")
    quiet.propagate = False
    quiet.setLevel(logging.DEBUG)
    handler, mask = Later(), Redact()
    quiet.addHandler(handler)
    quiet.addFilter(mask)
    records: list[logging.LogRecord] = []
    handler.handle = records.append  # type: ignore[assignment,method-assign]  # format later
    try:
        quiet.debug("Got file %s", result)
        result["file_path"] = f"https://api.telegram.org/file/bot{KEY}/x?token={KEY}"
        for record in records:
            Later.emit(handler, record)
    finally:
        quiet.removeHandler(handler)
        quiet.removeFilter(mask)
    assert seen == ["Got file {'file_path': 'documents/file_1.txt'}"]


# -- redact() looks for what each rule needs before running it -------------------------

_NAMES = ["apikey", "ApiKey", "api_key", "X-Api-Key", "token", "passkey", "authkey",
          "rsskey", "torrent_pass", "Password", "PASSWD", "secret", "Authorization",
          "pa\u017f\u017fword", "AP\u0130KEY", "tok\u0131n", "Bearer", "bearer",
          "announce", "SCRAPE", "[parameters", "Failing row contains"]
_SEPARATORS = ["=", ":", ": ", " ", "%3A", "%3D", "[0]=", "%5B0%5D=", "='", ': "', "/", "%2F"]
_OTHER = ["&", "\n", "'", '"', "\\", "@", "/", "x", "https://", "user:pw@", ".php",
          "<redacted>", "magnet:?xt=urn:btih:", "/announce/", "%2Fscrape%2F"]
_PIECE = st.one_of(
    st.builds(lambda n, s, v: n + s + v, st.sampled_from(_NAMES),
              st.sampled_from(_SEPARATORS), st.sampled_from([KEY, HEX, "x y", "", "\"q\""])),
    st.sampled_from(_NAMES + _SEPARATORS + _OTHER + [KEY]),
    st.text(max_size=6))


def _every_rule(text: str) -> str:
    """redact() without the look-ahead: every substitution, always (the reference)."""
    from infrastructure import redact as r

    text = r._KEYED.sub(r._keyed, r._PAIR.sub(r._pair, text))
    for pattern, replacement, _ in r._RULES:
        text = pattern.sub(replacement, text)
    return text


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_PIECE, max_size=10))
def test_skipping_the_rules_a_text_cannot_match_changes_nothing(parts: list[str]) -> None:
    text = "".join(parts)
    assert redact(text) == _every_rule(text)

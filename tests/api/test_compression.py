"""Compressed answers (api.compression, api.encodings): each coding decodes to exactly the
uncompressed body, whole or streamed; Accept-Encoding is negotiated by q-value; small,
HEAD, 304 and already-encoded answers are left alone; Vary, Content-Length and ETags stay
right; the event stream is flushed event by event."""

from __future__ import annotations

import asyncio
import random
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
import requests
from backports import zstd

from api import encodings
from api.compression import MINIMUM, Compression
from core.service import CHUNK
from tests.api.conftest import API_KEY, BASE, Api, over_a_socket

CODINGS = ["zstd", "br", "gzip"]
STATIC = Path(encodings.__file__).resolve().parent / "ui" / "static"
CSS = "/ui/static/css/app.css"


def decode(coding: str, raw: bytes) -> bytes:
    if coding == "gzip":
        return zlib.decompress(raw, 16 + zlib.MAX_WBITS)
    if coding == "br":
        out: bytes = brotli.decompress(raw)
        return out
    return zstd.decompress(raw)


def decoder(coding: str) -> Callable[[bytes], bytes]:
    """An incremental decoder: the bytes each piece of the body makes readable now."""
    if coding == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress
    if coding == "br":
        return brotli.Decompressor().process  # type: ignore[no-any-return]
    return zstd.ZstdDecompressor().decompress


async def raw_get(client: httpx.AsyncClient, url: str, accept: str | None,
                  **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent (not decoded); `accept=None` sends no
    Accept-Encoding at all."""
    request = client.build_request("GET", url, headers=headers)
    if accept is None:
        del request.headers["accept-encoding"]
    else:
        request.headers["accept-encoding"] = accept
    response = await client.send(request, stream=True)
    try:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    finally:
        await response.aclose()
    return response, raw


def vary(response: httpx.Response) -> list[str]:
    return [v.strip().lower() for v in response.headers.get("vary", "").split(",")]


@pytest.fixture
async def queue(api: Api) -> Api:
    """A queue longer than one chunk, so that a big page streams."""
    await api.add_raw(CHUNK + 100)
    return api


PAGE = "/api/v3/queue?page=1&pageSize=300"  # one body
ALL = f"/api/v3/queue?page=1&pageSize={CHUNK + 200}"  # streamed, chunk by chunk


@pytest.mark.parametrize("coding", CODINGS)
async def test_each_coding_decodes_to_exactly_the_uncompressed_queue_page(
        queue: Api, coding: str) -> None:
    plain, expected = await raw_get(queue.client, PAGE, "identity")
    assert "content-encoding" not in plain.headers
    assert len(httpx.Response(200, content=expected).json()["records"]) == 300

    packed, raw = await raw_get(queue.client, PAGE, coding)

    assert packed.headers["content-encoding"] == coding
    assert int(packed.headers["content-length"]) == len(raw) < len(expected) // 4
    assert "accept-encoding" in vary(packed)
    assert packed.headers["content-type"] == plain.headers["content-type"]
    assert decode(coding, raw) == expected


@pytest.mark.parametrize("coding", CODINGS)
async def test_a_streamed_queue_is_compressed_as_it_goes_and_decodes_exactly(
        queue: Api, coding: str) -> None:
    plain, expected = await raw_get(queue.client, ALL, "identity")
    assert "content-length" not in plain.headers  # it streamed
    assert len(httpx.Response(200, content=expected).json()["records"]) == CHUNK + 100

    packed, raw = await raw_get(queue.client, ALL, coding)

    assert packed.headers["content-encoding"] == coding
    assert "content-length" not in packed.headers
    assert "accept-encoding" in vary(packed)
    assert decode(coding, raw) == expected
    assert len(raw) < len(expected) // 4


async def test_httpx_reads_a_compressed_queue_as_it_reads_a_plain_one(queue: Api) -> None:
    """The default client (gzip, deflate, br) decodes by itself: the JSON is the same."""
    compressed = await queue.client.get(ALL)
    assert compressed.headers["content-encoding"] in ("br", "gzip")
    plain = await queue.client.get(ALL, headers={"Accept-Encoding": "identity"})
    assert compressed.json() == plain.json()


@pytest.mark.parametrize(("accept", "chosen"), [
    ("gzip;q=0, br", "br"),
    ("gzip, deflate, br, zstd", "zstd"),
    ("gzip, br", "br"),
    ("GZIP", "gzip"),
    ("x-gzip", "gzip"),
    ("br;q=0.5, gzip", "gzip"),
    ("zstd;q=0.9, br;q=1.0", "br"),
    ("br ; q = 0.8 , gzip;q=0.7", "br"),
    ("*", "zstd"),
    ("*;q=0.5, zstd;q=0", "br"),
    ("gzip;q=0.5, identity", None),
    ("identity", None),
    ("deflate", None),
    ("gzip;q=0", None),
    ("*;q=0", None),
    ("*;q=0, identity;q=0", None),  # nothing acceptable: identity all the same
    ("", None),
    ("gzip;q=2, br;q=nonsense", None),  # malformed entries say nothing
    ("gzip;q=0.001", "gzip"),
])
def test_accept_encoding_is_negotiated_by_q_value(accept: str, chosen: str | None) -> None:
    assert encodings.choose(accept, ("zstd", "br", "gzip")) == chosen


@pytest.mark.parametrize(("accept", "chosen"), [
    ("gzip;q=0, br", "br"), ("identity", None), ("gzip;q=0", None), ("*;q=0", None),
    ("gzip;q=0.5, identity", None), ("br;q=0.5, gzip", "gzip")])
async def test_the_server_answers_in_the_coding_negotiated(
        queue: Api, accept: str, chosen: str | None) -> None:
    _, expected = await raw_get(queue.client, PAGE, "identity")

    response, raw = await raw_get(queue.client, PAGE, accept)

    assert response.headers.get("content-encoding") == chosen
    assert "accept-encoding" in vary(response)  # compressed or not, it depended on it
    assert int(response.headers["content-length"]) == len(raw)
    assert (decode(chosen, raw) if chosen else raw) == expected


def test_a_coding_that_is_not_installed_is_not_offered() -> None:
    assert encodings.choose("br", ("gzip",)) is None
    assert set(encodings.installed()) == set(CODINGS)  # the dependencies are there


async def test_a_small_answer_is_not_compressed_but_says_it_could_be(api: Api) -> None:
    response, raw = await raw_get(api.client, "/api/v3/queue/status", "gzip, br, zstd")

    assert len(raw) < MINIMUM
    assert "content-encoding" not in response.headers
    assert "accept-encoding" in vary(response)
    assert int(response.headers["content-length"]) == len(raw)
    assert httpx.Response(200, content=raw).json()["totalCount"] == 0


async def test_a_request_without_accept_encoding_gets_the_plain_answer_untouched(
        queue: Api) -> None:
    response, raw = await raw_get(queue.client, PAGE, None)

    assert "content-encoding" not in response.headers
    assert "accept-encoding" not in vary(response)
    assert int(response.headers["content-length"]) == len(raw)
    assert len(httpx.Response(200, content=raw).json()["records"]) == 300


async def test_a_static_file_is_compressed_with_a_weak_etag_and_still_revalidates(
        api: Api) -> None:
    expected = (STATIC / "css" / "app.css").read_bytes()
    assert len(expected) >= MINIMUM

    first, raw = await raw_get(api.anon, CSS, "gzip")
    assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
    assert decode("gzip", raw) == expected
    assert int(first.headers["content-length"]) == len(raw)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')

    again, body = await raw_get(api.anon, CSS, "gzip", **{"If-None-Match": etag})
    assert again.status_code == 304 and body == b""
    assert again.headers["etag"] == etag
    assert "accept-encoding" in vary(again)

    plain, raw = await raw_get(api.anon, CSS, "identity")
    assert raw == expected and not plain.headers["etag"].startswith("W/")
    assert plain.headers["etag"] == etag.removeprefix("W/")
    held, _ = await raw_get(api.anon, CSS, "identity",
                            **{"If-None-Match": plain.headers["etag"]})
    assert held.status_code == 304 and held.headers["etag"] == plain.headers["etag"]


async def test_a_head_is_not_compressed(api: Api) -> None:
    request = api.anon.build_request("HEAD", CSS, headers={"Accept-Encoding": "gzip"})
    response = await api.anon.send(request)

    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert int(response.headers["content-length"]) == (STATIC / "css" / "app.css").stat().st_size
    assert "accept-encoding" in vary(response)


async def test_an_image_is_not_compressed(api: Api) -> None:
    response, _ = await raw_get(api.anon, "/ui/static/favicon.svg", "gzip")  # < MINIMUM
    assert "content-encoding" not in response.headers
    page, raw = await raw_get(api.anon, "/ui/", "br")
    assert page.headers["content-encoding"] == "br"
    assert decode("br", raw) == (STATIC / "index.html").read_bytes()


async def test_an_error_answer_is_valid_json_compressed_or_not(api: Api) -> None:
    for url in ("/api/v3/queue/123456", "/api/v3/queue?pageSize=nonsense"):
        response, raw = await raw_get(api.client, url, "gzip")
        assert response.status_code in (400, 404)
        coding = response.headers.get("content-encoding")
        body = decode(coding, raw) if coding else raw
        assert httpx.Response(400, content=body).json()


async def test_the_metrics_are_compressed(api: Api) -> None:
    _, expected = await raw_get(api.client, "/metrics", "identity")
    assert len(expected) >= MINIMUM

    response, raw = await raw_get(api.client, "/metrics", "zstd")

    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-encoding"] == "zstd"
    # A few figures (uptime, CPU) move between two reads; the text is the same kind.
    assert decode("zstd", raw).split(b"\n")[:5] == expected.split(b"\n")[:5]


@pytest.mark.parametrize("coding", CODINGS)
async def test_stream_events_arrive_one_by_one_compressed(api: Api, coding: str) -> None:
    """Over a socket: each SSE frame is readable as soon as it is sent, long before the
    stream ends (it never does here)."""
    async with over_a_socket(api.app) as base, httpx.AsyncClient(
            base_url=base, timeout=30) as http, http.stream(
            "GET", "/api/v3/queue/stream", headers={
                "X-Api-Key": API_KEY, "Accept-Encoding": coding}) as response:
        assert response.headers["content-encoding"] == coding
        assert "content-length" not in response.headers
        text = bytearray()
        decode_piece = decoder(coding)
        pieces = response.aiter_raw()

        async def until(marker: bytes) -> None:
            while marker not in text:
                text.extend(decode_piece(await anext(pieces)))

        # Only a hang guard: every frame must arrive without the stream ending.
        await asyncio.wait_for(until(b"event: status\n"), 20)
        await api.grab("Heat.1995.1080p.BluRay.x264-SPARKS")
        await asyncio.wait_for(until(b"event: grabbed\n"), 20)
        assert text.startswith(b"retry: ")
        assert b'"title":"Heat.1995.1080p.BluRay.x264-SPARKS"' in text


async def test_httpx_follows_a_compressed_stream_by_itself(api: Api) -> None:
    """The default client decodes the stream as it comes (the stream tests read it so)."""
    async with over_a_socket(api.app) as base, httpx.AsyncClient(
            base_url=base, timeout=30) as http, http.stream(
            "GET", "/api/v3/queue/stream", headers={"X-Api-Key": API_KEY}) as response:
        assert response.headers["content-encoding"] in ("br", "gzip")
        lines = response.aiter_lines()

        async def until(wanted: str) -> None:
            while await anext(lines) != wanted:
                pass

        await asyncio.wait_for(until("event: status"), 20)
        await api.grab("Heat.1995.1080p.BluRay.x264-SPARKS")
        await asyncio.wait_for(until("event: grabbed"), 20)


async def test_the_radarr_tools_client_reads_a_compressed_queue(queue: Api) -> None:
    """requests (pyarr, the tools' scripts) asks for zstd too, and decodes it."""
    def get(base: str, coding: str | None) -> requests.Response:
        headers = {"X-Api-Key": API_KEY}
        if coding is not None:
            headers["Accept-Encoding"] = coding
        return requests.get(base + ALL, headers=headers, timeout=30)

    async with over_a_socket(queue.app) as base:
        answer = await asyncio.to_thread(get, base, None)
        plain = await asyncio.to_thread(get, base, "identity")

    assert "zstd" in requests.utils.default_headers()["Accept-Encoding"]
    assert answer.headers["content-encoding"] == "zstd"
    assert answer.json() == plain.json()
    assert len(answer.json()["records"]) == CHUNK + 100


# The middleware alone, around small ASGI apps that answer as a given test needs.

Send = Callable[[dict[str, Any]], Any]


def app_of(status: int, headers: list[tuple[bytes, bytes]], *bodies: bytes) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for i, body in enumerate(bodies or (b"",)):
            await send({"type": "http.response.body", "body": body,
                        "more_body": i < len(bodies) - 1})
    return app


async def served(app: Any, accept: str = "gzip", method: str = "GET"
                 ) -> tuple[httpx.Response, bytes]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=Compression(app)),
                                 base_url=BASE) as client:
        request = client.build_request(method, "/", headers={"Accept-Encoding": accept})
        response = await client.send(request, stream=True)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        return response, raw


JSON = (b"content-type", b"application/json")
BIG = b'{"a":"' + b"x" * 4000 + b'"}'


async def test_a_small_streamed_body_goes_out_plain() -> None:
    response, raw = await served(app_of(200, [JSON], b'{"a":', b"1", b"}"))
    assert "content-encoding" not in response.headers and raw == b'{"a":1}'
    assert "accept-encoding" in vary(response)


async def test_an_answer_already_encoded_or_partial_is_left_alone() -> None:
    encoded = zlib.compress(BIG)
    response, raw = await served(app_of(
        200, [JSON, (b"content-encoding", b"deflate")], encoded))
    assert response.headers["content-encoding"] == "deflate" and raw == encoded
    ranged = [JSON, (b"content-range", b"bytes 0-4005/9000")]
    response, raw = await served(app_of(206, ranged, BIG))
    assert "content-encoding" not in response.headers and raw == BIG
    response, raw = await served(app_of(204, [JSON]))
    assert "content-encoding" not in response.headers and raw == b""


async def test_a_binary_type_is_not_compressed_and_does_not_vary() -> None:
    response, raw = await served(app_of(200, [(b"content-type", b"image/png")], BIG))
    assert "content-encoding" not in response.headers and raw == BIG
    assert "vary" not in response.headers


async def test_vary_is_added_to_the_one_already_there() -> None:
    headers = [JSON, (b"vary", b"Origin")]
    response, raw = await served(app_of(200, headers, BIG), "br")
    assert response.headers["content-encoding"] == "br" and decode("br", raw) == BIG
    assert response.headers.get_list("vary") == ["Origin, Accept-Encoding"]


async def test_a_body_that_compression_would_not_shrink_goes_out_plain() -> None:
    noise = random.Random(18).randbytes(4000)
    response, raw = await served(app_of(200, [(b"content-type", b"text/plain"), (
        b"content-length", str(len(noise)).encode())], noise))
    assert "content-encoding" not in response.headers and raw == noise
    assert int(response.headers["content-length"]) == len(noise)


async def app_with_pathsend(scope: dict[str, Any], receive: Any, send: Send) -> None:
    """An app that would hand the server a file if the server offered to send one."""
    if "http.response.pathsend" in scope.get("extensions", {}):
        await send({"type": "http.response.start", "status": 200, "headers": [JSON]})
        await send({"type": "http.response.pathsend", "path": "/nonexistent"})
        return
    await app_of(200, [JSON], BIG)(scope, receive, send)


async def test_a_file_the_server_would_send_by_path_is_read_to_be_compressed() -> None:
    seen: list[dict[str, Any]] = []

    async def server_send(message: dict[str, Any]) -> None:
        seen.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [
        (b"accept-encoding", b"gzip")], "extensions": {"http.response.pathsend": {}}}
    await Compression(app_with_pathsend)(scope, receive, server_send)

    assert [m["type"] for m in seen] == ["http.response.start", "http.response.body"]
    assert (b"content-encoding", b"gzip") in seen[0]["headers"]
    assert decode("gzip", seen[1]["body"]) == BIG

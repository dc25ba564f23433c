"""Bulk import on POST /api/v3/queue/grab (issue 15): a list of links as a multipart .txt,
a text/plain body or a JSON array, answered line by line (queued, duplicate of, refused and
why), every valid line queued even when others are not; single grabs answer as before."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.api.conftest import Api, info_hash, magnet, make_torrent
from tests.api.failures import failures_of
from tests.conftest import STORE_KINDS

GRAB = "/api/v3/queue/grab"
EVERY_STORE = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)


@dataclass(frozen=True)
class Line:
    """One line of the list and what it must become: `queued` (under `key`), `duplicate`
    (of the item queued under `key`), `refused` (the message names `why`), or `skipped`."""

    text: str
    result: str
    key: str | None = None
    why: str | None = None


def url(n: int) -> str:
    return f"http://files.example/movies/Some.Film.{n}.2021.1080p.WEB-DL-GRP.mkv"


def spec() -> list[Line]:
    """50 lines: 35 distinct links (20 magnets, 15 http files), 8 duplicates (a magnet hash
    written differently, a URL twice, two links queued before the import), 4 junk lines,
    2 blank lines and a comment."""
    lines = [Line("# movies for the weekend", "skipped")]
    for n in range(20):
        lines.append(Line(magnet(f"Bulk.Magnet.{n}.2020.1080p-GRP", seed=f"bulk-{n}"),
                          "queued", key=f"m{n}"))
        if n == 9:
            lines.append(Line("", "skipped"))
    for n in range(15):
        lines.append(Line(url(n), "queued", key=f"u{n}"))
    hash3 = info_hash("bulk-3")
    lines += [
        # the same info hash, upper case, another name, parameters in another order
        Line(f"magnet:?dn=Other.Name&xt=urn:btih:{hash3.upper()}", "duplicate", key="m3"),
        Line(f"magnet:?xt=urn:btih:{info_hash('bulk-7')}", "duplicate", key="m7"),
        Line(f"  {magnet('Bulk.Magnet.12.2020.1080p-GRP', seed='bulk-12')}\t", "duplicate",
             key="m12"),
        Line(url(4), "duplicate", key="u4"),
        Line(url(11), "duplicate", key="u11"),
        Line(url(0), "duplicate", key="u0"),
        Line(magnet("Queued.Before.2019.720p-GRP", seed="before"), "duplicate", key="before"),
        Line(url(99), "duplicate", key="before-url"),
        Line("not a link at all", "refused", why="must be a magnet link or an http(s) url"),
        Line("ftp://files.example/movie.mkv", "refused",
             why="must be a magnet link or an http(s) url"),
        Line("magnet:?xt=urn:btih:NOTAHASH&dn=Broken", "refused", why="hash"),
        Line("http://files.example/" + "a" * 9000 + ".mkv", "refused", why="8192"),
        Line("   ", "skipped"),
    ]
    assert len(lines) == 50
    return lines


async def queue_before(api: Api) -> dict[str, int]:
    """Two links already in the queue when the list arrives."""
    first = await api.grab(downloadUrl=magnet("Queued.Before.2019.720p-GRP", seed="before"))
    second = await api.grab(downloadUrl=url(99))
    return {"before": first["id"], "before-url": second["id"]}


async def send(api: Api, texts: list[str], form: str) -> Any:
    if form == "multipart":
        data = "\n".join(texts).encode()
        return await api.client.post(GRAB, files={"file": ("links.txt", data, "text/plain")})
    if form == "text":
        return await api.client.post(GRAB, content="\n".join(texts).encode(),
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
    return await api.client.post(GRAB, json=texts)


async def all_ids(api: Api) -> list[int]:
    page = await api.queue({"pageSize": 200, "includeUnknownMovieItems": "true",
                            "sortKey": "id", "sortDirection": "ascending"})
    assert page["totalRecords"] == len(page["records"])
    return sorted(r["id"] for r in page["records"])


def check_answer(body: dict[str, Any], lines: list[Line], before: dict[str, int]) -> dict[str,
                                                                                           int]:
    """Every line's result as the spec says; the ids queued, by key."""
    expected = [(number, line) for number, line in enumerate(lines, start=1)
                if line.result != "skipped"]
    results = body["results"]
    assert [r["line"] for r in results] == [number for number, _ in expected]
    assert [r["link"] for r in results] == [line.text.strip() for _, line in expected]
    queued_ids = dict(before)
    for result, (number, line) in zip(results, expected, strict=True):
        assert result["result"] == line.result, (number, result)
        if line.result == "queued":
            assert line.key is not None
            assert isinstance(result["id"], int) and result["id"] not in queued_ids.values()
            assert "downloadClient" in result
            queued_ids[line.key] = result["id"]
        elif line.result == "duplicate":
            assert result["existingId"] == queued_ids[line.key or ""], (number, result)
            assert result["message"]
        else:
            assert line.why is not None
            assert line.why in result["message"].lower(), (number, result)
            assert "id" not in result and "existingId" not in result
    assert (body["queued"], body["duplicates"], body["refused"]) == (35, 8, 4)
    return queued_ids


@EVERY_STORE
@pytest.mark.parametrize("form", ["multipart", "text", "json"])
async def test_a_list_of_50_lines_queues_every_valid_line_and_says_why_for_the_others(
    api: Api, form: str
) -> None:
    before = await queue_before(api)
    lines = spec()
    response = await send(api, [line.text for line in lines], form)
    assert response.status_code == 201, response.text
    queued = check_answer(response.json(), lines, before)
    assert await all_ids(api) == sorted(queued.values())
    assert len(queued) == 35 + 2


async def test_each_item_of_a_bulk_import_has_bulk_import_in_its_grab_history(
    api: Api,
) -> None:
    response = await send(api, [url(1), magnet("History.2020-GRP", seed="h")], "text")
    assert response.status_code == 201, response.text
    for result in response.json()["results"]:
        history = await api.container.queue.items.history(result["id"])
        assert [(h.event, h.message) for h in history] == [("grabbed", "bulk import")]


async def test_a_text_list_with_a_bom_and_crlf_line_ends_reads_clean_links(api: Api) -> None:
    text = "\r\n".join([url(1), "# a comment", "", magnet("Crlf.2020-GRP", seed="crlf"),
                        url(2)]) + "\r\n"
    response = await api.client.post(GRAB, content=b"\xef\xbb\xbf" + text.encode(),
                                     headers={"Content-Type": "text/plain"})
    assert response.status_code == 201, response.text
    assert [(r["line"], r["link"], r["result"]) for r in response.json()["results"]] == [
        (1, url(1), "queued"), (4, magnet("Crlf.2020-GRP", seed="crlf"), "queued"),
        (5, url(2), "queued")]
    upload = b"\xef\xbb\xbf" + "\r\n".join([url(3), url(1)]).encode()
    response = await api.client.post(GRAB, files={"links": ("l.txt", upload, "text/plain")})
    assert response.status_code == 201, response.text
    assert [(r["line"], r["link"], r["result"]) for r in response.json()["results"]] == [
        (1, url(3), "queued"), (2, url(1), "duplicate")]
    assert len(await all_ids(api)) == 4


async def test_a_list_where_nothing_is_queued_answers_200_with_each_reason(api: Api) -> None:
    first = await api.grab(downloadUrl=url(1))
    response = await send(api, [url(1), "ftp://x.example/a"], "json")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["queued"], body["duplicates"], body["refused"]) == (0, 1, 1)
    assert body["results"][0]["existingId"] == first["id"]
    assert await all_ids(api) == [first["id"]]


@pytest.mark.parametrize(("body", "headers"), [
    (b"[]", {"Content-Type": "application/json"}),
    (b'[" ", "# only a comment"]', {"Content-Type": "application/json"}),
    (b"", {"Content-Type": "text/plain"}),
    (b"\xef\xbb\xbf\r\n# nothing but a comment\r\n\r\n", {"Content-Type": "text/plain"}),
])
async def test_a_list_without_a_link_answers_400(
    api: Api, body: bytes, headers: dict[str, str]
) -> None:
    response = await api.client.post(GRAB, content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert "no link" in response.json()["message"]
    assert await all_ids(api) == []


async def test_an_empty_multipart_list_upload_answers_400(api: Api) -> None:
    response = await api.client.post(GRAB, files={"file": ("l.txt", b"\n\n", "text/plain")})
    assert response.status_code == 400, response.text
    assert "no link" in response.json()["message"]


async def test_a_list_upload_that_is_not_utf8_answers_400_and_queues_nothing(
    api: Api,
) -> None:
    latin1 = f"{url(1)}\nhttp://files.example/Caf\xe9.mkv\n".encode("latin-1")
    response = await api.client.post(GRAB, files={"file": ("l.txt", latin1, "text/plain")})
    assert response.status_code == 400, response.text
    assert "not UTF-8" in response.json()["message"]
    response = await api.client.post(GRAB, content=latin1,
                                     headers={"Content-Type": "text/plain"})
    assert response.status_code == 400, response.text
    assert await all_ids(api) == []


async def test_a_binary_upload_under_file_answers_400_naming_torrentfile(
    api: Api, tmp_path: Path
) -> None:
    torrent = make_torrent(tmp_path / "t", "Binary.mkv").dump()
    nul = f"{url(1)}\n".encode() + b"\x00\x00\x01"
    for data in (torrent, nul):
        response = await api.client.post(GRAB, files={"file": ("x", data, "text/plain")})
        assert response.status_code == 400, response.text
        assert "torrentFile" in response.json()["message"]
    assert await all_ids(api) == []


async def test_a_json_list_with_an_element_that_is_not_a_string_answers_400(
    api: Api,
) -> None:
    response = await api.client.post(GRAB, json=[url(1), {"downloadUrl": url(2)}, 7])
    failures = failures_of(response)
    assert [f["propertyName"] for f in failures] == ["[1]", "[2]"]
    assert all("string" in f["errorMessage"] for f in failures)
    assert await all_ids(api) == []


async def test_a_json_list_with_a_trailing_comma_is_read_as_radarr_reads_json(
    api: Api,
) -> None:
    response = await api.client.post(GRAB, content=f'[\n "{url(1)}",\n]'.encode(),
                                     headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["queued"] == 1


async def test_a_list_upload_is_sent_alone(api: Api) -> None:
    response = await api.client.post(GRAB, data={"movieId": "1"},
                                     files={"file": ("l.txt", url(1).encode(), "text/plain")})
    assert response.status_code == 400, response.text
    assert "movieId" in response.json()["message"]
    assert await all_ids(api) == []


async def test_a_list_field_sent_as_text_rather_than_a_file_is_read_too(api: Api) -> None:
    response = await api.client.post(GRAB, files={"links": (None, f"{url(1)}\n{url(2)}")})
    assert response.status_code == 201, response.text
    assert [r["line"] for r in response.json()["results"]] == [1, 2]


async def test_single_grabs_beside_bulk_answer_a_queue_resource(
    api: Api, tmp_path: Path
) -> None:
    """A JSON object and a .torrent upload are still one release each (the existing
    tests in test_grab.py cover them fully)."""
    one = await api.client.post(GRAB, json={"downloadUrl": url(1)})
    assert one.status_code == 201, one.text
    assert one.json()["id"] and "results" not in one.json()
    torrent = make_torrent(tmp_path / "t", "Single.Upload.2020.mkv")
    upload = await api.client.post(
        GRAB, files={"torrentFile": ("x.torrent", torrent.dump(), "application/x-bittorrent")})
    assert upload.status_code == 201, upload.text
    assert upload.json()["downloadId"] == torrent.infohash.upper()


async def test_the_openapi_document_describes_the_three_list_bodies_and_the_answer(
    api: Api,
) -> None:
    response = await api.anon.get("/openapi.json")
    assert response.status_code == 200
    document = orjson.loads(response.content)
    operation = document["paths"][GRAB]["post"]
    content = operation["requestBody"]["content"]
    assert {"type": "array", "items": {"type": "string"}}.items() <= (
        content["application/json"]["schema"]["oneOf"][-1].items())
    assert content["text/plain"]["schema"]["type"] == "string"
    assert {"torrentFile", "file", "links"} <= set(
        content["multipart/form-data"]["schema"]["properties"])
    assert "BulkGrabOut" in str(operation["responses"]["200"])
    assert "BulkGrabOut" in str(operation["responses"]["201"])
    line = document["components"]["schemas"]["BulkGrabLine"]["properties"]
    assert {"line", "link", "result", "id", "existingId", "downloadClient", "message"} <= set(
        line)


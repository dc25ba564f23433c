"""Links and files sent to the bot: the real Application polls the fake Bot API; each
message is answered once, and what it queued is in the queue."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torf

from core.clients import ClientConfig, ClientKind
from core.domain import DownloadProtocol, NewBlocklistEntry
from infrastructure.clients.registry import ClientRegistry
from tests.telegram.conftest import GROUP, STRANGER, USER, MakeBot
from tests.ytdlp import conftest as ytdlp_fixtures
from tests.ytdlp.media import MediaSite


def magnet(name: str, size: int | None = None) -> str:
    digest = hashlib.sha1(name.encode()).hexdigest()
    return f"magnet:?xt=urn:btih:{digest}&dn={name}" + (f"&xl={size}" if size else "")


async def test_a_link_message_is_queued_and_answered_once_with_its_id_and_position(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    bot.api.push_message(USER, f"please get this {magnet('Some.Movie.2020.1080p')} thanks!")
    (answer,) = await bot.answers(USER)
    items = [i async for chunk in await bot.container.queue.details() for i in chunk]
    (item,) = items
    assert item.title == "Some.Movie.2020.1080p"
    assert answer == f"✅ Queued #{item.id} Some.Movie.2020.1080p (position 1)"


async def test_several_links_in_one_message_get_one_answer_with_each_position(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    bot.api.push_message(USER, f"{magnet('One')}\nand {magnet('Two')}, "
                               "also https://files.example/Three.mkv.")
    (answer,) = await bot.answers(USER)
    assert answer.splitlines() == ["✅ Queued #1 One (position 1)",
                                   "✅ Queued #2 Two (position 2)",
                                   "✅ Queued #3 Three.mkv (position 3)"]


async def test_duplicates_blocklisted_oversized_and_garbage_links_are_refused_with_reasons(
        make_bot: MakeBot) -> None:
    bot = await make_bot(max_size="2GiB")
    bot.api.push_message(USER, magnet("Already.Here"))
    await bot.answers(USER, 1)
    info_hash = hashlib.sha1(b"Blocked.Movie").hexdigest()
    await bot.container.queue.blocklist.add(NewBlocklistEntry(
        "Blocked.Movie", bot.container.clock.now(), DownloadProtocol.TORRENT,
        info_hash=info_hash, message="bad"))
    bot.api.push_message(USER, "\n".join([
        magnet("Already.Here"), magnet("Blocked.Movie"), magnet("Huge", 3 * 1024**3),
        "ftp://example.com/file.iso", "magnet:?xt=nonsense", magnet("Fine")]))
    answer = (await bot.answers(USER, 2))[1]
    assert answer.splitlines() == [
        f"❌ {magnet('Already.Here')[:59]}…: already in the queue as #1",
        f"❌ {magnet('Blocked.Movie')[:59]}…: blocklisted",
        f"❌ {magnet('Huge', 3 * 1024**3)[:59]}…: over the 2 GiB limit",
        answer.splitlines()[3],
        answer.splitlines()[4],
        "✅ Queued #2 Fine (position 2)"]
    assert answer.splitlines()[3].startswith("❌ ftp://example.com/file.iso: not a link I can")
    assert answer.splitlines()[4].startswith("❌ magnet:?xt=nonsense: not a link I can")
    assert (await bot.container.queue.counts()).total() == 2


async def test_a_message_without_a_link_gets_a_hint_and_queues_nothing(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    bot.api.push_message(USER, "hello bot, how are you")
    (answer,) = await bot.answers(USER)
    assert answer.startswith("I found no link in that.")
    assert (await bot.container.queue.counts()).total() == 0


async def test_a_txt_list_of_20_links_is_queued_in_bulk_with_one_summary(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    lines = [magnet(f"Movie.{n}") for n in range(18)]
    lines.insert(5, magnet("Movie.3"))  # line 6: a duplicate
    lines.insert(10, "# a comment line is skipped")
    lines.insert(12, "not a link at all")  # line 13
    lines.append(magnet("Movie.0"))  # another duplicate
    document = bot.api.add_file("links.txt", "\n".join(lines).encode(), "text/plain")
    bot.api.push_message(USER, document=document)
    (answer,) = await bot.answers(USER)
    assert answer == "Queued 18, 2 already queued, 1 invalid (line 13)"
    assert (await bot.container.queue.counts()).total() == 18


def torrent_bytes(tmp_path: Path, name: str = "Some.Film.2021.mkv") -> bytes:
    path = tmp_path / name
    path.write_bytes(b"x" * 40_000)
    torrent = torf.Torrent(path=path, trackers=["http://tracker.example/announce"])
    torrent.generate()
    return bytes(torrent.dump())


async def test_a_torrent_document_is_fetched_with_getfile_and_queued(
        make_bot: MakeBot, tmp_path: Path) -> None:
    bot = await make_bot()
    document = bot.api.add_file("film.torrent", torrent_bytes(tmp_path),
                                "application/x-bittorrent")
    bot.api.push_message(USER, document=document)
    (answer,) = await bot.answers(USER)
    assert answer == "✅ Queued #1 Some.Film.2021.mkv (position 1)"
    item = await bot.container.queue.get(1)
    assert item.size == 40_000 and item.info_hash
    assert any(c.method == "getFile" for c in bot.api.ok())


async def test_other_files_and_files_over_the_limit_get_a_short_refusal(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    bot.api.push_message(USER, document=bot.api.add_file("photo.jpg", b"\xff\xd8", "image/jpeg"))
    big = bot.api.add_file("huge.txt", b"x" * (1024 * 1024 + 1), "text/plain")
    bot.api.push_message(USER, document=big)
    answers = await bot.answers(USER, 2)
    assert answers[0] == "I take .torrent files and .txt lists of links only."
    assert answers[1] == "huge.txt is over the 1 MiB limit for such files."
    assert not any(c.method == "getFile" for c in bot.api.calls)
    assert (await bot.container.queue.counts()).total() == 0


async def test_anyone_in_a_configured_chat_may_send_links(make_bot: MakeBot) -> None:
    bot = await make_bot()
    bot.api.push_message(STRANGER, magnet("Group.Movie"), chat=GROUP)
    (answer,) = await bot.answers(GROUP)
    assert answer == "✅ Queued #1 Group.Movie (position 1)"


async def test_queued_items_remember_the_chat_and_user_they_came_from(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    bot.api.push_message(USER, magnet("From.The.Group"), chat=GROUP)
    bot.api.push_message(USER, magnet("From.Private"))
    await bot.answers(GROUP)
    await bot.answers(USER)
    items = {i.title: i async for chunk in await bot.container.queue.details() for i in chunk}
    group, private = items["From.The.Group"], items["From.Private"]
    assert (group.origin_chat, group.origin_user, group.save_under) == (GROUP, USER, None)
    assert (private.origin_chat, private.origin_user) == (USER, USER)


async def test_with_chat_dirs_each_chats_items_go_under_its_own_directory(
        make_bot: MakeBot) -> None:
    bot = await make_bot(telegram_chat_dirs=True)
    bot.api.push_message(USER, magnet("From.The.Group"), chat=GROUP)
    bot.api.push_message(USER, magnet("From.Private"))
    await bot.answers(GROUP)
    await bot.answers(USER)
    items = {i.title: i async for chunk in await bot.container.queue.details() for i in chunk}
    assert items["From.The.Group"].save_under == f"tg-{GROUP}"
    assert items["From.Private"].save_under == f"tg-{USER}"


async def test_a_playlist_link_queues_every_video_and_says_how_many(
        make_bot: MakeBot, media_site: MediaSite) -> None:
    """A page of three videos sent to the bot, with yt-dlp the client for pages: one answer
    for the link, the first item and the two others from the playlist; sent again, every
    entry is already queued."""
    bot = await make_bot(allow_private_urls=True, ytdlp="true")
    registry = bot.container.clients
    assert isinstance(registry, ClientRegistry)
    await registry.create(ClientConfig("yt-dlp", ClientKind.YTDLP, fields={}), force=True)
    bot.api.push_message(USER, f"videos: {media_site.three_videos_url}")
    (answer,) = await bot.answers(USER)
    items = [i async for chunk in await bot.container.queue.details() for i in chunk]
    assert len(items) == 3 and len({i.group_id for i in items}) == 1
    first = min(items, key=lambda i: i.id)
    assert answer == (f"✅ Queued #{first.id} {first.title} (position 1), and 2 more from "
                      "the playlist")
    bot.api.push_message(USER, media_site.three_videos_url)
    again = (await bot.answers(USER, 2))[-1]
    assert again == f"❌ {media_site.three_videos_url}: already in the queue as #{first.id}"


media_files = ytdlp_fixtures.media_files  # the local media site's fixtures, here too
media_site = ytdlp_fixtures.media_site

"""The release-selection repositories' contract (CustomFormatRepository,
QualityProfileRepository, CandidateRepository in core/ports.py), run on memory, SQLite and
Postgres (the `store` fixture). The memory repositories are the reference; the SQL ones
must behave identically."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.domain import DownloadProtocol
from core.errors import BadRequest, NotFound
from core.formats import CustomFormat, Specification
from core.ports import StoredCandidate
from core.profiles import FormatScore, ProfileItem, QualityProfile
from core.quality import QUALITIES, QUALITY_BY_ID
from core.release import Release
from tests.conftest import Store
from tests.fakes import EPOCH

# -- custom formats --------------------------------------------------------------------


def custom_format(name: str = "HEVC", **overrides: Any) -> CustomFormat:
    values: dict[str, Any] = dict(
        id=0, name=name,
        specifications=(Specification("x265", "ReleaseTitleSpecification", False, True,
                                      {"value": r"\b(x265|HEVC)\b"}),),
    )
    values.update(overrides)
    return CustomFormat(**values)


MIXED = CustomFormat(
    id=0, name="Mixed: Français ✓", include_when_renaming=True,
    specifications=(
        Specification("Title", "ReleaseTitleSpecification", negate=True, required=False,
                      fields={"value": r"(?<!HD[._ -]|HD)DVD"}),
        Specification("Size", "SizeSpecification", negate=False, required=True,
                      fields={"min": 1, "max": 2.5}),
        Specification("Language", "LanguageSpecification", negate=True, required=True,
                      fields={"value": 2, "exceptLanguage": True}),
        Specification("Off", "LanguageSpecification", fields={"value": -1,
                                                             "exceptLanguage": False}),
        Specification("Empty", "IndexerSpecification", fields={"value": "", "zero": 0,
                                                              "float": 80.0,
                                                              "nothing": None}),
    ),
)


def typed(fmt: CustomFormat) -> list[tuple[str, str, bool, bool, dict[str, Any]]]:
    """Every specification with its fields' types: 1, 1.0 and True are equal in Python,
    so equality alone would not see a float read back as an int or a bool as 1."""
    return [(s.name, s.implementation, s.negate, s.required,
             {k: (type(v).__name__, v) for k, v in s.fields.items()})
            for s in fmt.specifications]


async def test_added_formats_get_ids_and_are_listed_in_id_order(store: Store) -> None:
    assert await store.formats.list() == []
    first = await store.formats.add(custom_format("HEVC"))
    second = await store.formats.add(custom_format("HDR"))
    third = await store.formats.add(custom_format("Alpha"))
    assert 0 < first.id < second.id < third.id
    assert await store.formats.list() == [first, second, third]
    assert [f.name for f in await store.formats.list()] == ["HEVC", "HDR", "Alpha"]


async def test_a_format_reads_back_field_for_field_with_its_fields_types(store: Store) -> None:
    added = await store.formats.add(MIXED)
    assert added == replace(MIXED, id=added.id)
    (listed,) = await store.formats.list()
    assert listed == added
    assert typed(listed) == typed(MIXED)
    assert listed.include_when_renaming is True
    assert isinstance(listed.specifications, tuple)


async def test_a_format_without_specifications_reads_back(store: Store) -> None:
    added = await store.formats.add(CustomFormat(0, "Everything"))
    assert await store.formats.list() == [added]
    assert added.specifications == () and added.include_when_renaming is False


async def test_a_format_name_that_is_taken_is_a_bad_request_and_nothing_is_stored(
        store: Store) -> None:
    first = await store.formats.add(custom_format("HEVC"))
    with pytest.raises(BadRequest, match="HEVC"):
        await store.formats.add(custom_format("HEVC", include_when_renaming=True))
    assert await store.formats.list() == [first]
    # The failed insert leaves the repository usable.
    other = await store.formats.add(custom_format("HDR"))
    assert await store.formats.list() == [first, other]


async def test_names_that_differ_only_in_case_are_different_formats(store: Store) -> None:
    lower = await store.formats.add(custom_format("hevc"))
    upper = await store.formats.add(custom_format("HEVC"))
    assert lower.id != upper.id
    assert await store.formats.list() == [lower, upper]


async def test_a_format_is_updated_in_place(store: Store) -> None:
    first = await store.formats.add(custom_format("HEVC"))
    second = await store.formats.add(custom_format("HDR"))
    changed = replace(MIXED, id=first.id, name="x265")
    assert await store.formats.update(changed) == changed
    assert await store.formats.list() == [changed, second]
    assert typed((await store.formats.list())[0]) == typed(MIXED)
    # Keeping its own name is no conflict.
    same_name = replace(changed, include_when_renaming=False)
    assert await store.formats.update(same_name) == same_name
    assert await store.formats.list() == [same_name, second]


async def test_renaming_a_format_to_a_taken_name_is_a_bad_request_and_changes_nothing(
        store: Store) -> None:
    first = await store.formats.add(custom_format("HEVC"))
    second = await store.formats.add(custom_format("HDR"))
    with pytest.raises(BadRequest, match="HEVC"):
        await store.formats.update(replace(second, name="HEVC", specifications=()))
    assert await store.formats.list() == [first, second]


async def test_updating_or_deleting_a_missing_format_is_not_found(store: Store) -> None:
    kept = await store.formats.add(custom_format("HEVC"))
    with pytest.raises(NotFound):
        await store.formats.update(custom_format("Ghost", id=kept.id + 100))
    # A missing id is NotFound even when the name it carries is taken.
    with pytest.raises(NotFound):
        await store.formats.update(custom_format("HEVC", id=kept.id + 100))
    with pytest.raises(NotFound):
        await store.formats.delete(kept.id + 100)
    assert await store.formats.list() == [kept]


async def test_a_deleted_format_is_gone_and_its_name_and_id_are_free(store: Store) -> None:
    first = await store.formats.add(custom_format("HEVC"))
    second = await store.formats.add(custom_format("HDR"))
    await store.formats.delete(second.id)
    assert await store.formats.list() == [first]
    with pytest.raises(NotFound):
        await store.formats.delete(second.id)
    with pytest.raises(NotFound):
        await store.formats.update(second)
    again = await store.formats.add(custom_format("HDR"))
    # Its name may be used again, but its id is never given again (profiles name formats
    # by id).
    assert again.id > second.id
    assert await store.formats.list() == [first, again]


# -- quality profiles ------------------------------------------------------------------

BLURAY_1080P, WEBDL_1080P, WEBRIP_1080P, HDTV_1080P = 7, 3, 15, 9


def quality_profile(name: str = "HD", **overrides: Any) -> QualityProfile:
    values: dict[str, Any] = dict(
        id=0, name=name,
        items=tuple(ProfileItem(q.id == BLURAY_1080P, q) for q in QUALITIES),
        cutoff=BLURAY_1080P,
    )
    values.update(overrides)
    return QualityProfile(**values)


def grouped_profile(name: str = "Grouped") -> QualityProfile:
    """Qualities and a nested group (the cutoff), every threshold away from its default,
    scores of both signs and a language."""
    web = ProfileItem(True, None, "WEB 1080p", 1001, (
        ProfileItem(True, QUALITY_BY_ID[WEBDL_1080P]),
        ProfileItem(False, QUALITY_BY_ID[WEBRIP_1080P]),
    ))
    return QualityProfile(
        id=0, name=name,
        items=(ProfileItem(False, QUALITY_BY_ID[HDTV_1080P]), web,
               ProfileItem(True, QUALITY_BY_ID[BLURAY_1080P])),
        cutoff=1001, upgrade_allowed=False, min_format_score=-500, cutoff_format_score=750,
        min_upgrade_format_score=25,
        format_items=(FormatScore(3, "HEVC", 50), FormatScore(9, "Forbidden ✗", -10000),
                      FormatScore(4, "", 0)),
        language_id=2,
    )


async def test_added_profiles_get_ids_and_are_listed_in_id_order(store: Store) -> None:
    assert await store.profiles.list() == []
    first = await store.profiles.add(quality_profile("HD"))
    second = await store.profiles.add(quality_profile("Any"))
    assert 0 < first.id < second.id
    assert await store.profiles.list() == [first, second]


async def test_a_profile_reads_back_field_for_field(store: Store) -> None:
    profile = grouped_profile()
    added = await store.profiles.add(profile)
    assert added == replace(profile, id=added.id)
    (listed,) = await store.profiles.list()
    assert listed == added
    # The nested group and what the profile derives from it survive too.
    group = listed.items[1]
    assert (group.id, group.name, group.allowed) == (1001, "WEB 1080p", True)
    assert [(i.allowed, i.quality) for i in group.items] == [
        (True, QUALITY_BY_ID[WEBDL_1080P]), (False, QUALITY_BY_ID[WEBRIP_1080P])]
    assert listed.cutoff_rank == 1
    assert listed.rank(WEBRIP_1080P) == listed.rank(WEBDL_1080P) == 1
    assert listed.allows(WEBDL_1080P) and listed.allows(WEBRIP_1080P)
    assert not listed.allows(HDTV_1080P)
    assert [(f.format_id, f.name, f.score) for f in listed.format_items] == [
        (3, "HEVC", 50), (9, "Forbidden ✗", -10000), (4, "", 0)]
    assert (listed.upgrade_allowed, listed.min_format_score, listed.cutoff_format_score,
            listed.min_upgrade_format_score, listed.language_id) == (False, -500, 750, 25, 2)


async def test_a_profile_name_that_is_taken_is_a_bad_request_and_nothing_is_stored(
        store: Store) -> None:
    first = await store.profiles.add(quality_profile("HD"))
    with pytest.raises(BadRequest, match="HD"):
        await store.profiles.add(grouped_profile("HD"))
    assert await store.profiles.list() == [first]


async def test_a_profile_is_updated_in_place(store: Store) -> None:
    first = await store.profiles.add(quality_profile("HD"))
    second = await store.profiles.add(quality_profile("Any"))
    changed = replace(grouped_profile("HD 1080p"), id=first.id)
    assert await store.profiles.update(changed) == changed
    assert await store.profiles.list() == [changed, second]
    same_name = replace(changed, format_items=())
    assert await store.profiles.update(same_name) == same_name
    assert await store.profiles.list() == [same_name, second]


async def test_renaming_a_profile_to_a_taken_name_is_a_bad_request_and_changes_nothing(
        store: Store) -> None:
    first = await store.profiles.add(quality_profile("HD"))
    second = await store.profiles.add(quality_profile("Any"))
    with pytest.raises(BadRequest, match="HD"):
        await store.profiles.update(replace(second, name="HD", min_format_score=5))
    assert await store.profiles.list() == [first, second]


async def test_updating_or_deleting_a_missing_profile_is_not_found(store: Store) -> None:
    kept = await store.profiles.add(quality_profile("HD"))
    with pytest.raises(NotFound):
        await store.profiles.update(quality_profile("Ghost", id=kept.id + 100))
    with pytest.raises(NotFound):
        await store.profiles.update(quality_profile("HD", id=kept.id + 100))
    with pytest.raises(NotFound):
        await store.profiles.delete(kept.id + 100)
    assert await store.profiles.list() == [kept]


async def test_a_deleted_profile_is_gone_and_its_id_is_not_given_again(store: Store) -> None:
    first = await store.profiles.add(quality_profile("HD"))
    second = await store.profiles.add(quality_profile("Any"))
    await store.profiles.delete(second.id)
    assert await store.profiles.list() == [first]
    with pytest.raises(NotFound):
        await store.profiles.delete(second.id)
    again = await store.profiles.add(quality_profile("Any"))
    assert again.id > second.id
    assert await store.profiles.list() == [first, again]


async def test_formats_and_profiles_are_separate_tables(store: Store) -> None:
    fmt = await store.formats.add(custom_format("Same name"))
    profile = await store.profiles.add(quality_profile("Same name"))
    assert await store.formats.list() == [fmt]
    assert await store.profiles.list() == [profile]
    await store.formats.delete(fmt.id)
    assert await store.profiles.list() == [profile]


# -- candidates ------------------------------------------------------------------------

AT = EPOCH


def release(n: int, **overrides: Any) -> Release:
    values: dict[str, Any] = dict(
        title=f"Heat.1995.{n}.1080p.BluRay.x264-GRP",
        magnet_url=f"magnet:?xt=urn:btih:{n:040x}", info_hash=f"{n:040x}",
        size=8 * 1024**3 + n, seeders=10 + n,
    )
    values.update(overrides)
    return Release(**values)


RICH = Release(
    title="Amélie.2001.FRENCH.2160p.UHD.BluRay.REMUX.HDR.HEVC-GRP ✓",
    download_url="https://tracker.example/dl/123.torrent?passkey=abc&x=1",
    magnet_url="magnet:?xt=urn:btih:" + "AB" * 20 + "&dn=Am%C3%A9lie",
    info_hash="AB" * 20, protocol=DownloadProtocol.UNKNOWN,
    publish_date=datetime(2025, 12, 31, 23, 59, 58, 123456, tzinfo=UTC),
    size=123_456_789_012_345, indexer="Tracker ✓", indexer_id=7, indexer_priority=3,
    seeders=0, leechers=None, indexer_flags=1 | 8 | 2048, movie_id=42,
    guid="https://tracker.example/details/123", quality_profile_id=5,
)


async def test_adding_releases_answers_one_candidate_per_release_in_order(store: Store) -> None:
    releases = [release(3), release(1), release(2)]
    stored = await store.candidates.add("movie:7", releases, 4, AT)
    assert [c.release for c in stored] == releases
    assert all(isinstance(c, StoredCandidate) for c in stored)
    assert len({c.id for c in stored}) == 3 and all(c.id > 0 for c in stored)
    assert [c.id for c in stored] == sorted(c.id for c in stored)
    for c in stored:
        assert (c.movie_key, c.profile_id, c.item_id, c.added_at) == ("movie:7", 4, None, AT)
    assert await store.candidates.for_movie("movie:7") == stored


async def test_a_release_reads_back_field_for_field(store: Store) -> None:
    (added,) = await store.candidates.add("movie:42", [RICH], None, AT)
    assert added.release == RICH
    (listed,) = await store.candidates.for_movie("movie:42")
    assert listed == added
    got = listed.release
    assert got == RICH
    assert got.publish_date == RICH.publish_date
    assert got.publish_date is not None and got.publish_date.utcoffset() == timedelta(0)
    assert got.protocol is DownloadProtocol.UNKNOWN
    assert got.indexer_flags == 2057 and got.seeders == 0 and got.leechers is None
    assert listed.profile_id is None


@pytest.mark.parametrize("protocol", list(DownloadProtocol))
async def test_every_protocol_reads_back(store: Store, protocol: DownloadProtocol) -> None:
    r = release(1, protocol=protocol, publish_date=None, indexer_flags=0)
    await store.candidates.add("movie:1", [r], 1, AT)
    (listed,) = await store.candidates.for_movie("movie:1")
    assert listed.release == r and listed.release.protocol is protocol
    assert listed.release.publish_date is None


async def test_a_minimal_release_reads_back(store: Store) -> None:
    bare = Release(title="Some title")
    (added,) = await store.candidates.add("title:some title:", [bare], None, AT)
    assert (await store.candidates.for_movie("title:some title:")) == [added]
    assert added.release == bare


async def test_added_at_reads_back_as_aware_utc(store: Store) -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)
    (added,) = await store.candidates.add("movie:1", [release(1)], None, at)
    (listed,) = await store.candidates.for_movie("movie:1")
    assert added.added_at == listed.added_at == at
    assert listed.added_at.utcoffset() == timedelta(0)


async def test_the_same_release_for_the_same_movie_is_stored_once(store: Store) -> None:
    (first,) = await store.candidates.add("movie:7", [release(1)], 4, AT)
    # The same release (Release.key: the info hash, in any case) offered again, with other
    # details and another profile, later: the stored candidate is answered as it was.
    again = release(1, title="Heat.1995.REPACK", seeders=99, info_hash=f"{1:040X}")
    assert again.key == release(1).key
    later = AT + timedelta(hours=1)
    stored = await store.candidates.add("movie:7", [release(2), again], 5, later)
    assert stored[1] == first
    assert stored[0].release == release(2) and stored[0].added_at == later
    assert await store.candidates.for_movie("movie:7") == [first, stored[0]]


async def test_a_release_given_twice_in_one_call_is_stored_once(store: Store) -> None:
    stored = await store.candidates.add("movie:7", [release(1), release(2), release(1)], 4, AT)
    assert stored[0] == stored[2] and stored[0].id != stored[1].id
    assert await store.candidates.for_movie("movie:7") == stored[:2]


async def test_releases_without_a_hash_are_the_same_by_guid_then_link_then_title(
        store: Store) -> None:
    by_guid = release(1, info_hash=None, guid="g-1")
    by_link = release(2, info_hash=None, magnet_url=None, download_url="https://x/2.torrent")
    by_title = Release(title="Only a title")
    first = await store.candidates.add("movie:7", [by_guid, by_link, by_title], None, AT)
    again = await store.candidates.add("movie:7", [
        replace(by_guid, magnet_url="magnet:?xt=urn:btih:" + "f" * 40),
        replace(by_link, title="Renamed"), Release(title="Only a title", size=5)], None, AT)
    assert again == first
    assert len(await store.candidates.for_movie("movie:7")) == 3


async def test_the_same_release_for_another_movie_is_another_candidate(store: Store) -> None:
    (for_seven,) = await store.candidates.add("movie:7", [release(1)], 4, AT)
    (for_eight,) = await store.candidates.add("movie:8", [release(1)], 4, AT)
    assert for_seven.id != for_eight.id
    assert for_eight.movie_key == "movie:8" and for_eight.release == for_seven.release
    assert await store.candidates.for_movie("movie:7") == [for_seven]
    assert await store.candidates.for_movie("movie:8") == [for_eight]


async def test_for_movie_answers_that_movies_candidates_in_insertion_order(
        store: Store) -> None:
    a = await store.candidates.add("movie:7", [release(5), release(2)], 1, AT)
    b = await store.candidates.add("title:heat:1995", [release(9)], 1, AT)
    c = await store.candidates.add("movie:7", [release(1)], 1, AT - timedelta(days=1))
    assert await store.candidates.for_movie("movie:7") == [*a, *c]
    assert await store.candidates.for_movie("title:heat:1995") == b
    assert await store.candidates.for_movie("movie:70") == []
    assert await store.candidates.for_movie("movie:") == []


async def test_a_linked_candidate_is_found_by_its_item(store: Store) -> None:
    first, second = await store.candidates.add("movie:7", [release(1), release(2)], 4, AT)
    assert await store.candidates.for_item(11) is None
    await store.candidates.link(second.id, 11)
    assert await store.candidates.for_item(11) == replace(second, item_id=11)
    assert await store.candidates.for_item(12) is None
    assert await store.candidates.for_movie("movie:7") == [first, replace(second, item_id=11)]
    # Re-adding a linked release answers it linked.
    (again,) = await store.candidates.add("movie:7", [release(2)], 4, AT)
    assert again == replace(second, item_id=11)


async def test_linking_again_moves_the_candidate_to_the_new_item(store: Store) -> None:
    (candidate,) = await store.candidates.add("movie:7", [release(1)], 4, AT)
    await store.candidates.link(candidate.id, 11)
    await store.candidates.link(candidate.id, 12)
    assert await store.candidates.for_item(11) is None
    assert await store.candidates.for_item(12) == replace(candidate, item_id=12)


async def test_linking_an_unknown_candidate_changes_nothing(store: Store) -> None:
    (candidate,) = await store.candidates.add("movie:7", [release(1)], 4, AT)
    await store.candidates.link(candidate.id + 100, 11)
    assert await store.candidates.for_item(11) is None
    assert await store.candidates.for_movie("movie:7") == [candidate]


async def test_delete_before_forgets_candidates_added_strictly_before(store: Store) -> None:
    old = await store.candidates.add("movie:7", [release(1), release(2)], 4, AT)
    (edge,) = await store.candidates.add("movie:7", [release(3)], 4, AT + timedelta(days=1))
    (other,) = await store.candidates.add("movie:8", [release(4)], 4, AT - timedelta(days=3))
    (new,) = await store.candidates.add("movie:8", [release(5)], 4, AT + timedelta(days=2))
    await store.candidates.link(old[0].id, 21)
    assert await store.candidates.delete_before(AT + timedelta(days=1)) == 3
    assert await store.candidates.for_movie("movie:7") == [edge]
    assert await store.candidates.for_movie("movie:8") == [new]
    assert await store.candidates.for_item(21) is None
    assert other not in await store.candidates.for_movie("movie:8")
    assert await store.candidates.delete_before(AT + timedelta(days=1)) == 0
    # A forgotten release may be stored again, as a new candidate.
    (back,) = await store.candidates.add("movie:7", [release(1)], 4, AT + timedelta(days=5))
    assert back.id not in {c.id for c in old} and back.item_id is None
    assert await store.candidates.for_movie("movie:7") == [edge, back]


async def test_adding_no_releases_stores_nothing(store: Store) -> None:
    assert await store.candidates.add("movie:7", [], 4, AT) == []
    assert await store.candidates.for_movie("movie:7") == []


async def test_concurrent_adds_of_the_same_release_store_it_once_and_answer_it_to_all(
        store: Store) -> None:
    for n in range(20):
        key = f"movie:{n}"
        outcomes = await asyncio.gather(
            *(store.candidates.add(key, [release(1), release(2)], 4, AT) for _ in range(8)),
            return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        stored = await store.candidates.for_movie(key)
        assert len(stored) == 2
        assert all(outcome == stored for outcome in outcomes)


async def test_a_movie_key_made_from_a_long_title_is_stored(store: Store) -> None:
    key = "title:" + " ".join(["longest"] * 120) + ":2010"
    assert len(key) > 900
    (added,) = await store.candidates.add(key, [release(1)], 4, AT)
    assert added.movie_key == key
    assert await store.candidates.for_movie(key) == [added]

"""The TagRepository and QualityDefinitionRepository contracts (core/ports.py), run on
memory, SQLite and Postgres (the `store` fixture). The memory repositories are the
reference; the SQL ones must behave identically."""

from __future__ import annotations

import pytest

from core.errors import BadRequest, NotFound
from core.quality import QUALITY_BY_ID
from core.sizes import QualityDefinition
from core.tags import Tag
from tests.conftest import Store


async def test_a_new_tag_gets_an_id_and_is_listed_by_id(store: Store) -> None:
    first = await store.tags.add("movies")
    second = await store.tags.add("4k")
    assert first.label == "movies" and second.id > first.id
    assert await store.tags.list() == [first, second]


async def test_a_taken_label_is_refused_and_nothing_is_added(store: Store) -> None:
    await store.tags.add("movies")
    with pytest.raises(BadRequest):
        await store.tags.add("movies")
    assert [t.label for t in await store.tags.list()] == ["movies"]


async def test_a_renamed_tag_keeps_its_id(store: Store) -> None:
    tag = await store.tags.add("movies")
    assert await store.tags.update(Tag(tag.id, "films")) == Tag(tag.id, "films")
    assert await store.tags.list() == [Tag(tag.id, "films")]


async def test_renaming_to_another_tags_label_is_refused_and_changes_nothing(
        store: Store) -> None:
    a = await store.tags.add("a")
    b = await store.tags.add("b")
    with pytest.raises(BadRequest):
        await store.tags.update(Tag(b.id, "a"))
    assert await store.tags.list() == [a, b]


async def test_updating_or_deleting_a_missing_tag_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.tags.update(Tag(99, "x"))
    with pytest.raises(NotFound):
        await store.tags.delete(99)


async def test_a_deleted_tags_id_is_never_given_again(store: Store) -> None:
    first = await store.tags.add("a")
    second = await store.tags.add("b")
    await store.tags.delete(second.id)
    third = await store.tags.add("c")
    assert third.id > second.id
    assert await store.tags.list() == [first, third]


# -- quality definitions ---------------------------------------------------------------

BLURAY = QUALITY_BY_ID[7]
UNKNOWN = QUALITY_BY_ID[0]


async def test_no_definition_is_stored_until_one_is_saved(store: Store) -> None:
    assert await store.definitions.list() == []


async def test_saved_definitions_read_back_exactly_and_replace_the_old_ones(
        store: Store) -> None:
    await store.definitions.save([QualityDefinition(BLURAY, "Bluray-1080p", 5.0, 400.5, 95.25),
                                  QualityDefinition(UNKNOWN, "Whatever", None, None, None)])
    await store.definitions.save([QualityDefinition(BLURAY, "BD 1080p", 0, None, 50)])
    assert await store.definitions.list() == [
        QualityDefinition(UNKNOWN, "Whatever", None, None, None),
        QualityDefinition(BLURAY, "BD 1080p", 0, None, 50)]


async def test_saving_nothing_changes_nothing(store: Store) -> None:
    await store.definitions.save([])
    assert await store.definitions.list() == []

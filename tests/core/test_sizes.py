"""Quality definitions (core.sizes): Radarr's size limits per quality and the decision
they make (AcceptableSizeSpecification), its validator's rules, and the service that lays
the stored definitions over the defaults."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from core.decisions import Appraisal, Limits, MovieState, decide
from core.errors import ValidationFailed
from core.presets import default_profile
from core.quality import QUALITY_BY_ID, QualityModel
from core.release import ParsedRelease, Release
from core.sizes import (
    MB,
    QualityDefinition,
    QualityDefinitions,
    definition_failures,
    size_rejection,
    size_suffix,
)

BLURAY = QUALITY_BY_ID[7]  # Bluray-1080p
PROFILE = default_profile({})
GB = 1024 * MB


def limits(min_size: float | None = 0, max_size: float | None = None,
           preferred: float | None = None) -> QualityDefinition:
    return QualityDefinition(BLURAY, "Bluray-1080p", min_size, max_size, preferred)


def decided(size: int, definition: QualityDefinition | None, runtime: int = 120) -> tuple[
        str, ...]:
    release = Release("Dune.2021.1080p.BluRay.x264-GRP", magnet_url="magnet:?xt=urn:btih:"
                      + "a" * 40, size=size)
    parsed = ParsedRelease(release.title, "Dune", 2021, 1080, "bluray")
    appraisal = Appraisal(release, parsed, QualityModel(BLURAY), (), 0)
    return decide(appraisal, PROFILE, MovieState(), Limits(runtime=runtime), None,
                  definition).rejections


def test_sizes_are_written_as_radarr_writes_them() -> None:
    assert size_suffix(0) == "0 B"
    assert size_suffix(1536) == "1.5 KB"
    assert size_suffix(5 * GB) == "5.0 GB"
    assert size_suffix(1234 * GB) == "1.2 TB"
    assert size_suffix(1023 * MB + 512 * 1024) == "1,023.5 MB"


def test_a_release_below_the_minimum_for_the_runtime_is_rejected_in_radarrs_words() -> None:
    # 10 MB/min for 120 minutes is 1,200 MB.
    assert decided(1000 * MB, limits(min_size=10)) == (
        "1,000.0 MB is smaller than minimum allowed 1.2 GB (for Dune)",)
    assert decided(1200 * MB, limits(min_size=10)) == ()


def test_a_release_above_the_maximum_for_the_runtime_is_rejected_in_radarrs_words() -> None:
    assert decided(13 * GB, limits(max_size=100)) == (
        "13.0 GB is larger than maximum allowed 11.7 GB (for Dune)",)
    assert decided(11 * GB, limits(max_size=100)) == ()


def test_the_runtime_setting_scales_the_limits() -> None:
    assert decided(13 * GB, limits(max_size=100), runtime=140) == ()
    assert decided(13 * GB, limits(max_size=100), runtime=120) != ()


def test_no_definition_an_unknown_size_or_a_maximum_of_zero_never_rejects() -> None:
    assert decided(500 * GB, None) == ()
    assert decided(0, limits(min_size=50, max_size=60)) == ()
    assert size_rejection(500 * GB, limits(max_size=0), 120, "x") is None
    assert decided(500 * GB, limits()) == ()  # Queuarr's defaults: min 0, no max


@pytest.mark.parametrize(("definition", "expected"), [
    (limits(0, 100, 95), []),
    (limits(None, None, None), []),
    (limits(-1, None, None),
     [("MinSize", "'Min Size' must be greater than or equal to '0'.")]),
    (limits(0, 2001, None),
     [("MaxSize", "'Max Size' must be less than or equal to '2000'.")]),
    (limits(50, 100, 40),
     [("MinSize", "'Min Size' must be less than or equal to '40'."),
      ("PreferredSize", "'Preferred Size' must be greater than or equal to '50'.")]),
    (limits(0, 30, 40.5),
     [("PreferredSize", "'Preferred Size' must be less than or equal to '30'."),
      ("MaxSize", "'Max Size' must be greater than or equal to '40.5'.")]),
    (limits(50, 10, None),
     [("MinSize", "'Min Size' must be less than or equal to '10'."),
      ("MaxSize", "'Max Size' must be greater than or equal to '50'.")]),
])
def test_sizes_must_be_in_order_and_within_radarrs_limits(
        definition: QualityDefinition, expected: list[tuple[str, str]]) -> None:
    assert [(f.property, f.message) for f in definition_failures(definition)] == expected


class FakeDefinitions:
    def __init__(self) -> None:
        self.rows: dict[int, QualityDefinition] = {}
        self.saves = 0

    async def list(self) -> list[QualityDefinition]:
        return list(self.rows.values())

    async def save(self, definitions: Sequence[QualityDefinition]) -> None:
        self.saves += 1
        self.rows.update((d.quality.id, d) for d in definitions)


async def test_every_quality_has_a_definition_with_radarrs_ids_titles_and_weights() -> None:
    every = await QualityDefinitions(FakeDefinitions()).all()
    assert len(every) == 30 and [d.id for d in every] == list(range(1, 31))
    assert (every[0].title, every[0].quality.id, every[0].weight) == ("Unknown", 0, 1)
    assert [(d.title, d.weight) for d in every if d.weight == 11] == [
        ("WEBDL-480p", 11), ("WEBRip-480p", 11)]
    assert all(d.min_size == 0 and d.max_size is None and d.preferred_size is None
               for d in every)


async def test_changes_are_stored_all_at_once_or_not_at_all() -> None:
    store = FakeDefinitions()
    service = QualityDefinitions(store, cache_seconds=0)
    good = replace(limits(), max_size=100, title="BD")
    bad = QualityDefinition(QUALITY_BY_ID[3], "WEBDL-1080p", 10, 5, None)
    with pytest.raises(ValidationFailed):
        await service.update([good, bad])
    assert store.saves == 0
    await service.update([good])
    assert (await service.by_quality())[BLURAY.id] == good
    assert (await service.get(good.id)).title == "BD"

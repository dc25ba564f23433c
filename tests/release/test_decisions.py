"""The decision engine, pure: every reason core.decisions.decide rejects a release, the
upgrade rules (Radarr's UpgradableSpecification), the default profile of core.presets,
and properties of the ranking (order-independent, total, deterministic, quality first),
with the real parser and pattern compiler."""

from __future__ import annotations

import itertools
import random
from dataclasses import fields, replace
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.decisions import (
    Appraisal,
    Decision,
    Limits,
    MovieState,
    appraise,
    decide,
    meets_cutoff,
    rank_key,
    ranked,
    upgrade_rejection,
)
from core.domain import DownloadProtocol, ItemState, QueueItem, SourceKind
from core.formats import GIB, CompiledFormat, CustomFormat, Specification, compile_formats
from core.presets import DEFAULT_FORMATS, default_profile
from core.profiles import (
    FormatScore,
    ProfileItem,
    QualityProfile,
    all_qualities,
    check_profile,
)
from core.quality import QUALITIES, QUALITY_BY_ID
from core.release import INDEXER_FLAGS, ParsedRelease, Release
from infrastructure.release.parser import PttParser
from infrastructure.release.patterns import RegexPatterns
from tests.fakes import EPOCH

PARSER = PttParser()
BLURAY_1080P = 7
WEBDL_1080P = 3
WEBRIP_1080P = 15
REFUSED = {"Unknown", "WORKPRINT", "CAM", "TELESYNC", "TELECINE", "BR-DISK"}


@cache
def parse(title: str) -> ParsedRelease:
    return PARSER.parse(title)


# -- a small test profile --------------------------------------------------------------

TEST_FORMATS: tuple[CustomFormat, ...] = (
    CustomFormat(1, "Preferred group", (Specification(
        "SPARKS or FLUX", "ReleaseGroupSpecification", fields={"value": "^(SPARKS|FLUX)$"}),)),
    CustomFormat(2, "x265", (Specification(
        "x265", "ReleaseTitleSpecification", fields={"value": r"\bx265\b"}),)),
    CustomFormat(3, "Forbidden group", (Specification(
        "YIFY", "ReleaseGroupSpecification", fields={"value": "^YIFY$"}),)),
)
COMPILED = compile_formats(TEST_FORMATS, RegexPatterns())


def make_profile(**changes: Any) -> QualityProfile:
    values: dict[str, Any] = {
        "id": 1, "name": "Test",
        "items": all_qualities(q.id for q in QUALITIES if q.name not in REFUSED),
        "cutoff": BLURAY_1080P, "upgrade_allowed": True, "min_format_score": -100,
        "cutoff_format_score": 0, "min_upgrade_format_score": 1,
        "format_items": (FormatScore(1, "Preferred group", 100), FormatScore(2, "x265", 10),
                         FormatScore(3, "Forbidden group", -1000)),
    }
    values.update(changes)
    profile = QualityProfile(**values)
    check_profile(profile, [f.id for f in TEST_FORMATS])
    return profile


PROFILE = make_profile()


def release(title: str = "Dune.2021.1080p.BluRay.x264-GRP", **changes: Any) -> Release:
    values: dict[str, Any] = {
        "title": title, "download_url": f"https://indexer.example/get/{title}.torrent",
        "size": 8 * GIB, "seeders": 50, "leechers": 5, "indexer": "Indexer",
        "protocol": DownloadProtocol.TORRENT,
    }
    values.update(changes)
    return Release(**values)


def appraisal(r: Release, profile: QualityProfile = PROFILE,
              formats: list[CompiledFormat] = COMPILED) -> Appraisal:
    return appraise(r, parse(r.title), formats, profile)


def decision(title: str = "Dune.2021.1080p.BluRay.x264-GRP", *,
             profile: QualityProfile = PROFILE, movie: MovieState | None = None,
             limits: Limits | None = None, blocklisted: str | None = None,
             **changes: Any) -> Decision:
    return decide(appraisal(release(title, **changes), profile), profile,
                  movie or MovieState(), limits or Limits(), blocklisted)


def item(item_id: int, title: str, *, score: int | None = None,
         state: ItemState = ItemState.DOWNLOADING, **extra: Any) -> QueueItem:
    """A queue item for the release `title`, with its quality and (unless given) the score
    the test profile gives it."""
    a = appraisal(release(title))
    extra.setdefault("download_url", f"https://indexer.example/item/{item_id}.torrent")
    return QueueItem(
        id=item_id, title=title, source=SourceKind.TORRENT_URL,
        protocol=DownloadProtocol.TORRENT, state=state, added_at=EPOCH, updated_at=EPOCH,
        quality=a.quality, custom_format_score=a.score if score is None else score,
        **extra)


def queued(*items: QueueItem) -> MovieState:
    return MovieState(active=items)


def completed(*items: QueueItem) -> MovieState:
    return MovieState(completed=tuple(replace(i, state=ItemState.COMPLETED) for i in items))


# -- approved --------------------------------------------------------------------------


def test_an_approved_decision_has_no_rejections() -> None:
    d = decision()
    assert d.approved
    assert d.rejections == ()
    assert d.temporary is False
    assert d.appraisal.quality.quality.name == "Bluray-1080p"


def test_the_score_is_the_sum_of_the_matched_formats_scores() -> None:
    d = decision("Dune.2021.1080p.BluRay.x265.10bit-SPARKS")
    assert {m.format.name for m in d.appraisal.formats} == {"Preferred group", "x265"}
    assert d.appraisal.score == 110


def test_a_format_the_profile_does_not_score_counts_zero() -> None:
    profile = make_profile(format_items=(FormatScore(2, "x265", 10),))
    d = decision("Dune.2021.1080p.BluRay.x265.10bit-SPARKS", profile=profile)
    assert len(d.appraisal.formats) == 2
    assert d.appraisal.score == 10


# -- each rejection --------------------------------------------------------------------


def test_a_blocklisted_release_is_rejected() -> None:
    d = decision(blocklisted="failed before")
    assert d.rejections == ("Release is blocklisted: failed before",)


def test_a_usenet_release_is_rejected() -> None:
    d = decision(protocol=DownloadProtocol.USENET, seeders=None, leechers=None)
    assert d.rejections == (
        "Usenet releases are not supported: Queuarr has no usenet client",)


def test_seeders_do_not_count_for_usenet_or_direct_downloads() -> None:
    usenet = decision(protocol=DownloadProtocol.USENET, seeders=0)
    assert len(usenet.rejections) == 1
    assert usenet.rejections[0].startswith("Usenet")
    assert decision(protocol=DownloadProtocol.UNKNOWN, seeders=0).approved


def test_a_release_without_a_link_is_rejected() -> None:
    d = decision(download_url=None, magnet_url=None)
    assert d.rejections == ("The release has neither a download URL nor a magnet link",)


def test_a_magnet_link_alone_is_enough() -> None:
    assert decision(download_url=None, magnet_url="magnet:?xt=urn:btih:" + "a" * 40).approved


def test_a_quality_the_profile_does_not_allow_is_rejected() -> None:
    d = decision("Dune.2021.HDCAM.x264-GROUP")
    assert d.rejections == ("CAM is not wanted in profile 'Test'",)


def test_a_score_below_the_minimum_is_rejected() -> None:
    d = decision("Dune.2021.1080p.BluRay.x264-YIFY")
    assert d.rejections == ("Custom formats [Forbidden group] have score -1000, below the "
                            "profile's minimum -100",)


def test_a_score_equal_to_the_minimum_is_accepted() -> None:
    assert decision(profile=make_profile(min_format_score=0)).approved
    d = decision(profile=make_profile(min_format_score=1))
    assert d.rejections == ("Custom formats [none] have score 0, below the profile's "
                            "minimum 1",)


def test_a_release_over_the_size_limit_is_rejected() -> None:
    limits = Limits(max_size=10 * GIB)
    assert decision(limits=limits, size=10 * GIB).approved  # exactly the limit is fine
    d = decision(limits=limits, size=10 * GIB + 1)
    assert d.rejections == (f"Size {10 * GIB + 1} is over the limit of {10 * GIB} bytes",)


def test_a_torrent_with_too_few_seeders_is_rejected() -> None:
    d = decision(seeders=0)
    assert d.rejections == ("Not enough seeders: 0, minimum 1",)
    limits = Limits(min_seeders=5)
    assert decision(limits=limits, seeders=4).rejections == (
        "Not enough seeders: 4, minimum 5",)
    assert decision(limits=limits, seeders=5).approved


def test_a_torrent_whose_seeders_are_unknown_is_not_rejected_for_it() -> None:
    assert decision(seeders=None).approved


def test_every_reason_is_given_at_once() -> None:
    d = decision("Dune.2021.HDCAM.x264-YIFY", blocklisted="x", download_url=None,
                 seeders=0, limits=Limits(max_size=GIB))
    assert [r.split(" ")[0] for r in d.rejections] == [
        "Release", "The", "CAM", "Custom", "Size", "Not"]


# -- the queue -------------------------------------------------------------------------


def test_the_same_release_already_in_the_queue_is_rejected_by_info_hash() -> None:
    h = "c" * 40
    movie = queued(item(3, "Dune.2021.720p.HDTV.x264-GRP", info_hash=h.upper()))
    d = decision(movie=movie, info_hash=h)
    assert d.rejections == ("Release is already in the queue (item 3)",)


def test_the_same_release_already_in_the_queue_is_rejected_by_link() -> None:
    r = release()
    movie = queued(item(3, "Dune.2021.720p.HDTV.x264-GRP", download_url=r.link))
    d = decide(appraisal(r), PROFILE, movie, Limits())
    assert d.rejections == ("Release is already in the queue (item 3)",)


def test_a_better_release_in_the_queue_rejects_for_now() -> None:
    movie = queued(item(4, "Dune.2021.1080p.WEB-DL.DDP5.1.H.264-GRP"))
    d = decision("Dune.2021.720p.WEB-DL.DDP5.1.H.264-FLUX", movie=movie)
    assert d.appraisal.score == 100  # a better score does not make up for the quality
    assert d.rejections == (
        "Release in queue (item 4) is of higher quality (WEBDL-1080p)",)
    assert d.temporary is True
    assert not d.approved


def test_an_equal_release_in_the_queue_rejects_for_now() -> None:
    movie = queued(item(4, "Dune.2021.1080p.WEB-DL.DDP5.1.H.264-GRP"))
    d = decision("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-OTHER", movie=movie)
    assert d.rejections == (
        "Release in queue (item 4) has an equal or higher custom format score (0)",)
    assert d.temporary is True


def test_a_queue_rejection_is_not_temporary_when_there_are_other_reasons() -> None:
    movie = queued(item(4, "Dune.2021.1080p.BluRay.x264-GRP"))
    d = decision("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-GRP", movie=movie, blocklisted="x")
    assert len(d.rejections) == 2
    assert d.temporary is False


def test_an_upgrade_over_what_is_in_the_queue_is_approved() -> None:
    movie = queued(item(4, "Dune.2021.720p.HDTV.x264-GRP"))
    assert decision(movie=movie).approved


def test_a_queue_item_that_meets_the_cutoff_rejects_even_a_better_quality() -> None:
    movie = queued(item(4, "Dune.2021.1080p.BluRay.x264-GRP"))
    d = decision("Dune.2021.1080p.BluRay.REMUX.AVC.DTS-HD.MA.5.1-GRP", movie=movie)
    assert d.rejections == (
        "Release in queue (item 4) meets the cutoff (Bluray-1080p, score 0)",)
    assert d.temporary is True


# -- completed downloads and upgrades --------------------------------------------------


def test_not_an_upgrade_over_a_completed_download_is_rejected() -> None:
    movie = completed(item(5, "Dune.2021.1080p.WEB-DL.DDP5.1.H.264-FLUX"))
    d = decision("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-GRP", movie=movie)
    assert d.rejections == (
        "Completed download (item 5) has an equal or higher custom format score (100)",)
    assert d.temporary is False


def test_a_lower_quality_than_a_completed_download_is_rejected() -> None:
    movie = completed(item(5, "Dune.2021.1080p.WEB-DL.DDP5.1.H.264-GRP"))
    d = decision("Dune.2021.720p.WEB-DL.DDP5.1.H.264-FLUX", movie=movie)
    assert d.rejections == ("Completed download (item 5) is of higher quality (WEBDL-1080p)",)


def test_upgrades_not_allowed_rejects_anything_once_something_completed() -> None:
    profile = make_profile(upgrade_allowed=False)
    movie = completed(item(5, "Dune.2021.720p.HDTV.x264-GRP"))
    d = decision(profile=profile, movie=movie)
    assert d.rejections == (
        "Completed download (item 5) exists and the quality profile does not allow upgrades",)


def test_a_completed_download_that_meets_the_cutoff_rejects_a_better_quality() -> None:
    movie = completed(item(5, "Dune.2021.1080p.BluRay.x264-GRP"))
    d = decision("Dune.2021.2160p.UHD.BluRay.x265.10bit.HDR.DTS-HD.MA.5.1-SWTYBLZ",
                 movie=movie)
    assert d.rejections == (
        "Completed download (item 5) meets the cutoff (Bluray-1080p, score 0)",)


def test_a_better_quality_below_the_cutoff_is_an_upgrade() -> None:
    movie = completed(item(5, "Dune.2021.1080p.WEB-DL.DDP5.1.H.264-FLUX"))
    # A lower score (0 < 100) does not matter: quality comes first.
    assert decision(movie=movie).approved


def test_the_score_cutoff_keeps_upgrading_a_quality_that_met_its_cutoff() -> None:
    profile = make_profile(cutoff_format_score=100)
    movie = completed(item(5, "Dune.2021.1080p.BluRay.x264-GRP"))
    assert not meets_cutoff(profile, movie.completed[0].quality, 0)
    assert decision("Dune.2021.1080p.BluRay.x264-SPARKS", profile=profile,
                    movie=movie).approved
    # Once the score reaches the cutoff too, it stops.
    done = completed(item(6, "Dune.2021.1080p.BluRay.x264-SPARKS"))
    assert meets_cutoff(profile, done.completed[0].quality, 100)
    d = decision("Dune.2021.1080p.BluRay.x265.10bit-SPARKS", profile=profile, movie=done)
    assert d.rejections == (
        "Completed download (item 6) meets the cutoff (Bluray-1080p, score 100)",)


def test_a_proper_of_the_same_quality_upgrades_past_the_cutoff() -> None:
    movie = completed(item(5, "Dune.2021.1080p.BluRay.x264-GRP"))
    d = decision("Dune.2021.1080p.BluRay.x264.PROPER-GRP", movie=movie)
    assert d.appraisal.quality.revision.version == 2
    assert d.approved
    # REAL beats a proper of the same version.
    movie = completed(item(6, "Dune.2021.1080p.BluRay.x264.PROPER-GRP"))
    real = decision("Dune.2021.1080p.BluRay.x264.REAL.PROPER-GRP", movie=movie)
    assert real.appraisal.quality.revision.real == 1
    assert real.approved


def test_a_proper_of_a_lower_quality_is_no_upgrade() -> None:
    movie = completed(item(5, "Dune.2021.1080p.BluRay.x264-GRP"))
    d = decision("Dune.2021.1080p.WEB-DL.DDP5.1.H.264.PROPER-GRP", movie=movie)
    assert d.rejections == (
        "Completed download (item 5) meets the cutoff (Bluray-1080p, score 0)",)


def test_a_revision_downgrade_is_rejected_whatever_its_score() -> None:
    profile = make_profile(cutoff_format_score=1000)
    movie = completed(item(5, "Dune.2021.1080p.BluRay.x264.PROPER-GRP"))
    d = decision("Dune.2021.1080p.BluRay.x264-SPARKS", profile=profile, movie=movie)
    assert d.appraisal.score == 100
    assert d.rejections == (
        "Completed download (item 5) is of higher quality (Bluray-1080p)",)


def test_a_score_upgrade_must_beat_the_current_score_by_the_minimum() -> None:
    profile = make_profile(cutoff_format_score=10_000, min_upgrade_format_score=50)
    title = "Dune.2021.1080p.BluRay.x264-SPARKS"  # scores 100
    short = completed(item(5, "Dune.2021.1080p.BluRay.x264-GRP", score=51))
    d = decision(title, profile=profile, movie=short)
    assert d.rejections == (
        "Score 100 does not beat completed download (item 5)'s 51 by the minimum upgrade "
        "of 50",)
    enough = completed(item(5, "Dune.2021.1080p.BluRay.x264-GRP", score=50))
    assert decision(title, profile=profile, movie=enough).approved


def test_the_best_completed_download_is_the_one_compared() -> None:
    movie = completed(item(5, "Dune.2021.720p.HDTV.x264-GRP"),
                      item(6, "Dune.2021.1080p.WEB-DL.DDP5.1.H.264-FLUX"),
                      item(7, "Dune.2021.DVDRip.XviD-GRP"))
    d = decision("Dune.2021.720p.WEB-DL.DDP5.1.H.264-FLUX", movie=movie)
    assert d.rejections == ("Completed download (item 6) is of higher quality (WEBDL-1080p)",)


def test_upgrade_rejection_directly() -> None:
    q = parse("Dune.2021.720p.WEB-DL.DDP5.1.H.264-GRP").quality
    better = parse("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-GRP").quality
    assert upgrade_rejection(PROFILE, q, 0, better, 0, "X") is None
    assert upgrade_rejection(PROFILE, better, 0, q, 500, "X") == (
        "X is of higher quality (WEBDL-1080p)")
    assert upgrade_rejection(PROFILE, q, 0, q, 1, "X") is None
    assert upgrade_rejection(PROFILE, q, 1, q, 1, "X") == (
        "X has an equal or higher custom format score (1)")


def web_1080p_group_profile(cutoff: int) -> QualityProfile:
    """Every quality allowed, WEBDL-1080p and WEBRip-1080p in one group (id 1001)."""
    items: list[ProfileItem] = []
    for q in QUALITIES:
        if q.id == WEBDL_1080P:
            items.append(ProfileItem(True, name="WEB 1080p", id=1001, items=(
                ProfileItem(True, QUALITY_BY_ID[WEBDL_1080P]),
                ProfileItem(True, QUALITY_BY_ID[WEBRIP_1080P]))))
        elif q.id != WEBRIP_1080P:
            items.append(ProfileItem(True, q))
    return make_profile(items=tuple(items), cutoff=cutoff)


def test_a_proper_of_another_quality_in_the_same_group_upgrades_below_the_cutoff() -> None:
    # Radarr's IsUpgradable: same group index, better revision: an upgrade.
    profile = web_1080p_group_profile(cutoff=BLURAY_1080P)
    movie = completed(item(5, "Dune.2021.1080p.WEB-DL.DDP5.1.H.264-GRP"))
    d = decision("Dune.2021.1080p.WEBRip.x264.PROPER-GRP", profile=profile, movie=movie)
    assert d.approved


def test_a_proper_of_another_quality_in_the_cutoff_group_is_no_upgrade() -> None:
    profile = web_1080p_group_profile(cutoff=1001)
    movie = completed(item(5, "Dune.2021.1080p.WEB-DL.DDP5.1.H.264-GRP"))
    assert meets_cutoff(profile, movie.completed[0].quality, 0)
    d = decision("Dune.2021.1080p.WEBRip.x264.PROPER-GRP", profile=profile, movie=movie)
    assert d.rejections == (
        "Completed download (item 5) meets the cutoff (WEBDL-1080p, score 0)",)


# -- the default profile ---------------------------------------------------------------

DEFAULT_IDS = {f.name: i + 1 for i, (f, _) in enumerate(DEFAULT_FORMATS)}
DEFAULT = default_profile(DEFAULT_IDS)
DEFAULT_COMPILED = compile_formats(
    [replace(f, id=DEFAULT_IDS[f.name]) for f, _ in DEFAULT_FORMATS], RegexPatterns())


def default_decision(r: Release, movie: MovieState | None = None) -> Decision:
    a = appraise(r, parse(r.title), DEFAULT_COMPILED, DEFAULT)
    return decide(a, DEFAULT, movie or MovieState(), Limits())


def test_the_default_profile_is_coherent() -> None:
    check_profile(DEFAULT, list(DEFAULT_IDS.values()))


def test_the_default_profile_rejects_a_cam() -> None:
    d = default_decision(release("Dune.2021.HDCAM.x264-GROUP"))
    assert not d.approved
    assert "CAM is not wanted in profile 'Queuarr default'" in d.rejections
    assert any("[Forbidden keywords] have score -10000" in r for r in d.rejections)


def test_the_default_profile_rejects_yify() -> None:
    d = default_decision(release("Dune.2021.1080p.BluRay.x264-YIFY"))
    assert d.appraisal.quality.quality.name == "Bluray-1080p"  # an allowed quality
    assert d.rejections == ("Custom formats [Forbidden groups] have score -10000, below "
                            "the profile's minimum -1000",)


def test_the_default_profile_prefers_flux_over_an_unknown_group_at_the_same_quality() -> None:
    flux = default_decision(release("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-FLUX"))
    unknown = default_decision(release("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-RANDOMGRP"))
    nameless = default_decision(release("Dune.2021.1080p.WEB-DL.DDP5.1.H.264"))
    for d in (flux, unknown, nameless):
        assert d.approved
        assert d.appraisal.quality.quality.name == "WEBDL-1080p"
    assert flux.appraisal.score == 500
    assert unknown.appraisal.score == nameless.appraisal.score == 0
    # Even with fewer seeders, a smaller size and a worse indexer priority.
    worse_flux = default_decision(release("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-FLUX",
                                          seeders=2, size=4 * GIB, indexer_priority=50))
    assert ranked([unknown, worse_flux, nameless], DEFAULT)[0] == worse_flux
    assert ranked([nameless, unknown, flux], DEFAULT)[0] == flux


def test_a_higher_quality_ranks_first_whatever_the_scores() -> None:
    flux_720p = default_decision(release("Dune.2021.720p.WEB-DL.DDP5.1.H.264-FLUX"))
    plain_1080p = default_decision(release("Dune.2021.1080p.HDTV.x264-GRP"))
    assert flux_720p.appraisal.score > plain_1080p.appraisal.score
    assert ranked([flux_720p, plain_1080p], DEFAULT) == [plain_1080p, flux_720p]


def test_approved_releases_rank_before_rejected_ones() -> None:
    good = default_decision(release("Dune.2021.720p.HDTV.x264-GRP"))
    blocked = decide(good.appraisal, DEFAULT, MovieState(), Limits(), "x")
    better_but_rejected = default_decision(
        release("Dune.2021.2160p.UHD.BluRay.x265.10bit.HDR.DTS-HD.MA.5.1-SWTYBLZ", seeders=0))
    assert ranked([blocked, better_but_rejected, good], DEFAULT) == [
        good, better_but_rejected, blocked]


def test_the_tie_breakers_in_radarr_order() -> None:
    base = release("Dune.2021.1080p.BluRay.x264-GRP", seeders=100, leechers=0,
                   size=8 * GIB, indexer_priority=25)

    def better(a: Release, b: Release) -> bool:
        da, db = default_decision(a), default_decision(b)
        return rank_key(da, DEFAULT) > rank_key(db, DEFAULT)

    # protocol: torrent before a direct download
    assert better(base, replace(base, protocol=DownloadProtocol.UNKNOWN))
    # a lower indexer priority wins, even over a freeleech
    assert better(base, replace(base, indexer_priority=26, indexer_flags=1))
    # freeleech beats 75% free beats half leech beats nothing
    assert better(replace(base, indexer_flags=1), replace(base, indexer_flags=256))
    assert better(replace(base, indexer_flags=256), replace(base, indexer_flags=2))
    assert better(replace(base, indexer_flags=2), base)
    # freeleech beats seeders
    assert better(replace(base, indexer_flags=1, seeders=1), replace(base, seeders=100_000))
    # seeders in log10 buckets: 100 vs 1000 counts, 100 vs 120 does not (size decides)
    assert better(replace(base, seeders=1000), replace(base, size=50 * GIB))
    assert better(replace(base, seeders=100, size=9 * GIB), replace(base, seeders=120))
    # size in 200 MB steps
    assert better(replace(base, size=8 * GIB + 200 * 1024**2), base)


# -- properties ------------------------------------------------------------------------

TITLES = (
    "Dune.2021.1080p.BluRay.x264-SPARKS",
    "Dune.2021.1080p.BluRay.x264-GRP",
    "Dune.2021.1080p.BluRay.x264.PROPER-GRP",
    "Dune.2021.1080p.BluRay.x264.REAL.PROPER-GRP",
    "Dune.2021.1080p.BluRay.x264-YIFY",
    "Dune.2021.720p.BluRay.x264-YTS.MX",
    "Dune.2021.1080p.BluRay.REMUX.AVC.DTS-HD.MA.5.1-EPSiLON",
    "Dune.2021.2160p.UHD.BluRay.REMUX.HDR.HEVC.TrueHD.Atmos-FraMeSToR",
    "Dune.2021.2160p.UHD.BluRay.x265.10bit.HDR.DTS-HD.MA.5.1-SWTYBLZ",
    "Dune.2021.1080p.WEB-DL.DDP5.1.H.264-FLUX",
    "Dune.2021.1080p.WEB-DL.DDP5.1.H.264-RANDOMGRP",
    "Dune.2021.1080p.WEB-DL.DDP5.1.H.264",
    "Dune.2021.1080p.AMZN.WEB-DL.DDP5.1.H.264-NTb",
    "Dune.2021.1080p.NF.WEBRip.DDP5.1.x264-CMRG",
    "Dune.2021.1080p.WEBRip.x265.10bit-RARBG",
    "Dune.2021.1080p.WEBRip.x264.PROPER-GRP",
    "Dune.2021.2160p.WEB-DL.DDP5.1.HDR.H.265-FLUX",
    "Dune.2021.720p.WEB-DL.DDP5.1.H.264-FLUX",
    "Dune.2021.720p.HDTV.x264-GRP",
    "Dune.2021.1080p.HDTV.x264-GRP",
    "Dune.2021.480p.WEB-DL.x264-GRP",
    "Dune.2021.DVDRip.XviD-GRP",
    "Dune.2021.HDCAM.x264-GROUP",
    "Dune.2021.TELECINE.x264-GRP",
    "Dune.2021.DVDSCR.x264-GRP",
    "Dune.2021.COMPLETE.BLURAY-GROUP",
    "Dune.2021.FRENCH.1080p.BluRay.x264-GROUP",
    "Dune.2021.EXTENDED.1080p.BluRay.x264-SPARKS",
    "Dune.2021.1080p.BluRay.DD5.1.x264-DON",
    "Dune 2021 1080p BluRay x264",
)
_HASHES = ("a" * 40, "b" * 40, "C" * 40)
_URLS = ("https://one.example/1.torrent", "https://one.example/2.torrent",
         "https://two.example/1.torrent")
_MAGNETS = tuple(f"magnet:?xt=urn:btih:{h}" for h in _HASHES[:2])
_PROTOCOLS = (DownloadProtocol.TORRENT, DownloadProtocol.TORRENT, DownloadProtocol.TORRENT,
              DownloadProtocol.UNKNOWN, DownloadProtocol.USENET)

_DATES = (EPOCH, EPOCH + timedelta(days=3))

releases = st.builds(
    Release,
    title=st.sampled_from(TITLES),
    download_url=st.one_of(st.sampled_from(_URLS), st.none()),
    magnet_url=st.one_of(st.none(), st.none(), st.sampled_from(_MAGNETS)),
    info_hash=st.one_of(st.none(), st.sampled_from(_HASHES)),
    guid=st.one_of(st.none(), st.sampled_from(("g1", "g2"))),
    protocol=st.sampled_from(_PROTOCOLS),
    publish_date=st.one_of(st.none(), st.sampled_from(_DATES)),
    size=st.one_of(st.integers(0, 120 * GIB),
                   st.sampled_from((0, 700 * 1024**2, 80 * GIB, 80 * GIB + 1))),
    indexer=st.sampled_from((None, "One", "Two")),
    indexer_id=st.integers(0, 2),
    indexer_priority=st.integers(1, 50),
    seeders=st.one_of(st.none(), st.integers(0, 1_000_000)),
    leechers=st.one_of(st.none(), st.integers(0, 1_000_000)),
    indexer_flags=st.sets(st.sampled_from(sorted(INDEXER_FLAGS.values()))).map(sum),
    movie_id=st.one_of(st.none(), st.sampled_from((1, 2))),
)
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Two approved releases that differ in one field only: rank_key must tell them apart.
_TIE_A = release("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-FLUX", protocol=DownloadProtocol.UNKNOWN,
                 seeders=None)
_TIE_B = replace(_TIE_A, seeders=0)


def decided(rs: list[Release], movie: MovieState | None = None) -> list[Decision]:
    return [default_decision(r, movie) for r in rs]


def quality_order(d: Decision, profile: QualityProfile = DEFAULT) -> tuple[int, int, int]:
    q = d.appraisal.quality
    return profile.rank(q.quality.id), q.revision.version, q.revision.real


def full_key(d: Decision) -> tuple[bool, tuple[object, ...]]:
    return d.approved, rank_key(d, DEFAULT)


@PROPERTY
@given(rs=st.lists(releases, max_size=12), seed=st.randoms(use_true_random=False))
def test_ranked_orders_by_the_same_keys_whatever_the_input_order(
        rs: list[Release], seed: random.Random) -> None:
    decisions = decided(rs)
    shuffled = list(decisions)
    seed.shuffle(shuffled)
    expected = ranked(decisions, DEFAULT)
    # Two distinct releases may tie (the rank_key bug below): then only the keys agree.
    keys = [full_key(d) for d in decisions]
    tied = any(keys[i] == keys[j] and decisions[i] != decisions[j]
               for i, j in itertools.combinations(range(len(decisions)), 2))
    for other in (ranked(shuffled, DEFAULT), ranked(list(reversed(decisions)), DEFAULT)):
        assert [full_key(d) for d in other] == [full_key(d) for d in expected]
        if not tied:
            assert other == expected


@PROPERTY
@example(rs=[_TIE_A, _TIE_B], seed=random.Random(0))
@given(rs=st.lists(releases, max_size=12), seed=st.randoms(use_true_random=False))
def test_ranked_does_not_depend_on_the_input_order(rs: list[Release],
                                                   seed: random.Random) -> None:
    decisions = decided(rs)
    shuffled = list(reversed(decisions))
    seed.shuffle(shuffled)
    assert ranked(shuffled, DEFAULT) == ranked(decisions, DEFAULT)
    assert ranked(list(reversed(decisions)), DEFAULT) == ranked(decisions, DEFAULT)


@PROPERTY
@example(a=_TIE_A, b=_TIE_B)
@given(a=releases, b=releases)
def test_rank_key_never_ties_two_distinct_releases(a: Release, b: Release) -> None:
    da, db = decided([a, b])
    assert (rank_key(da, DEFAULT) == rank_key(db, DEFAULT)) == (a == b)


@PROPERTY
@example(a=_TIE_A, field="seeders", b=_TIE_B)
@given(a=releases, field=st.sampled_from([f.name for f in fields(Release)]), b=releases)
def test_changing_any_one_field_changes_the_rank_key(a: Release, field: str,
                                                     b: Release) -> None:
    changed = replace(a, **{field: getattr(b, field)})
    da, dc = decided([a, changed])
    assert (rank_key(da, DEFAULT) == rank_key(dc, DEFAULT)) == (a == changed)


@pytest.mark.parametrize(("field", "one", "other"), [
    ("seeders", None, 0),
    ("leechers", None, 0),
    ("publish_date", None, EPOCH),
    ("movie_id", None, 3),
    ("quality_profile_id", None, 2),
    ("download_url", "https://one.example/1.torrent", "https://one.example/2.torrent"),
    ("guid", None, ""),
])
def test_two_approved_releases_that_differ_in_one_field_rank_in_one_order(
        field: str, one: object, other: object) -> None:
    base = replace(_TIE_A, magnet_url="magnet:?xt=urn:btih:" + "a" * 40)
    a, b = replace(base, **{field: one}), replace(base, **{field: other})
    da, db = decided([a, b])
    assert da.approved and db.approved
    assert rank_key(da, DEFAULT) != rank_key(db, DEFAULT)
    assert ranked([da, db], DEFAULT) == ranked([db, da], DEFAULT)


@PROPERTY
@given(a=releases, b=releases)
def test_rank_key_is_antisymmetric_and_equal_only_for_equal_ranking_fields(
        a: Release, b: Release) -> None:
    da, db = decided([a, b])
    ka, kb = rank_key(da, DEFAULT), rank_key(db, DEFAULT)
    assert not (ka < kb and kb < ka)
    assert (ka < kb) + (ka == kb) + (kb < ka) == 1  # comparable, exactly one holds
    if a == b:
        assert ka == kb
    # Releases that differ in a field the key does rank by never tie.
    ranked_fields = ("title", "size", "indexer_flags", "indexer_priority", "protocol",
                     "indexer_id")
    if any(getattr(a, f) != getattr(b, f) for f in ranked_fields):
        assert ka != kb


@PROPERTY
@given(rs=st.lists(releases, min_size=3, max_size=3))
def test_rank_key_is_transitive(rs: list[Release]) -> None:
    keys = [rank_key(d, DEFAULT) for d in decided(rs)]
    for x, y, z in itertools.permutations(keys):
        if x <= y and y <= z:
            assert x <= z


@PROPERTY
@given(r=releases, active=st.sampled_from(TITLES), done=st.sampled_from(TITLES),
       blocklisted=st.one_of(st.none(), st.just("entry 1")))
def test_decide_is_deterministic(r: Release, active: str, done: str,
                                 blocklisted: str | None) -> None:
    movie = MovieState(active=(item(1, active),), completed=(item(2, done),))
    first = decide(appraise(r, PARSER.parse(r.title), DEFAULT_COMPILED, DEFAULT), DEFAULT,
                   movie, Limits(), blocklisted)
    second = decide(appraise(r, PARSER.parse(r.title), DEFAULT_COMPILED, DEFAULT), DEFAULT,
                    movie, Limits(), blocklisted)
    assert first == second
    assert first.approved == (not first.rejections)


@PROPERTY
@given(rs=st.lists(releases, min_size=2, max_size=12))
def test_a_higher_quality_approved_release_ranks_above_a_lower_one(rs: list[Release]) -> None:
    order = ranked(decided(rs), DEFAULT)
    approved = [d for d in order if d.approved]
    assert order[:len(approved)] == approved  # approved first
    for better, worse in itertools.pairwise(approved):
        assert quality_order(better) >= quality_order(worse)
        if quality_order(better) == quality_order(worse):
            assert better.appraisal.score >= worse.appraisal.score

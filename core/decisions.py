"""The decision engine: is a release wanted, and how does it rank against the others.

Pure and deterministic: the same release, formats, profile and facts always give the same
decision, and `rank_key` orders any set of decisions the same way whatever order they
came in (quality, then custom-format score, then Radarr's tie-breakers)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from core.domain import DownloadProtocol, NewItem, QueueItem
from core.formats import ENGLISH, Candidate, CompiledFormat, FormatMatch, matching
from core.profiles import QualityProfile
from core.quality import CustomFormatRef, QualityModel
from core.release import ParsedRelease, Release
from core.sizes import DEFAULT_RUNTIME, QualityDefinition, size_rejection

SIZE_STEP = 200 * 1024**2  # Radarr rounds sizes to 200 MB before comparing them
_PROTOCOL_PREFERENCE = {DownloadProtocol.TORRENT: 2, DownloadProtocol.UNKNOWN: 1}


@dataclass(frozen=True, slots=True)
class Appraisal:
    """A release with its title parsed and its custom formats scored by a profile."""

    release: Release
    parsed: ParsedRelease
    quality: QualityModel
    formats: tuple[FormatMatch, ...]
    score: int


def appraise(release: Release, parsed: ParsedRelease, formats: Sequence[CompiledFormat],
             profile: QualityProfile, original_language: int = ENGLISH,
             check: Callable[[], None] | None = None) -> Appraisal:
    """`check` is called before each specification is matched (a time budget)."""
    candidate = Candidate(release, parsed, original_language)
    matches = tuple(matching(formats, candidate, check) if check else
                    matching(formats, candidate))
    return Appraisal(release, parsed, parsed.quality, matches, profile.score(matches))


@dataclass(frozen=True, slots=True)
class MovieState:
    """What the queue holds for the release's movie: items still active, items done."""

    active: tuple[QueueItem, ...] = ()
    completed: tuple[QueueItem, ...] = ()


@dataclass(frozen=True, slots=True)
class Limits:
    min_seeders: int = 1
    max_size: int | None = None
    original_language: int = ENGLISH  # what a title naming no language is taken to be in
    runtime: int = DEFAULT_RUNTIME  # minutes, for quality-definition sizes (MB per minute)


@dataclass(frozen=True, slots=True)
class Decision:
    appraisal: Appraisal
    rejections: tuple[str, ...]
    temporary: bool = False  # rejected only for now (something else is in the queue)

    @property
    def approved(self) -> bool:
        return not self.rejections

    @property
    def release(self) -> Release:
        return self.appraisal.release


def _quality_order(profile: QualityProfile, q: QualityModel) -> tuple[int, int, int]:
    return profile.rank(q.quality.id), q.revision.version, q.revision.real


def meets_cutoff(profile: QualityProfile, quality: QualityModel, score: int) -> bool:
    return (profile.rank(quality.quality.id) >= profile.cutoff_rank
            and score >= profile.cutoff_format_score)


def upgrade_rejection(profile: QualityProfile, current: QualityModel, current_score: int,
                      new: QualityModel, new_score: int, what: str) -> str | None:
    """Why `new` is not an upgrade over `current` (Radarr's UpgradableSpecification),
    or None when it is. `what` names the current one in the message."""
    if not profile.upgrade_allowed:
        return f"{what} exists and the quality profile does not allow upgrades"
    old_order, new_order = _quality_order(profile, current), _quality_order(profile, new)
    revision_upgrade = (current.quality.id == new.quality.id and new_order > old_order)
    if meets_cutoff(profile, current, current_score) and not revision_upgrade:
        return f"{what} meets the cutoff ({current.quality.name}, score {current_score})"
    if new_order > old_order:
        return None
    if new_order < old_order:
        return f"{what} is of higher quality ({current.quality.name})"
    if new_score <= current_score:
        return f"{what} has an equal or higher custom format score ({current_score})"
    if new_score < current_score + profile.min_upgrade_format_score:
        return (f"Score {new_score} does not beat {what.lower()}'s {current_score} by the "
                f"minimum upgrade of {profile.min_upgrade_format_score}")
    return None


def _is_same(item: QueueItem, release: Release) -> bool:
    if item.info_hash and release.info_hash:
        return item.info_hash.lower() == release.info_hash.lower()
    return release.link is not None and item.download_url == release.link


def decide(appraisal: Appraisal, profile: QualityProfile, movie: MovieState, limits: Limits,
           blocklisted: str | None = None, sizes: QualityDefinition | None = None
           ) -> Decision:
    """Every reason to refuse the release; approved when there is none. `sizes` is the
    definition of the release's quality (Radarr's AcceptableSizeSpecification)."""
    release, quality, score = appraisal.release, appraisal.quality, appraisal.score
    rejections: list[str] = []
    temporary = False
    if blocklisted is not None:
        rejections.append(f"Release is blocklisted: {blocklisted}")
    if release.protocol is DownloadProtocol.USENET:
        rejections.append("Usenet releases are not supported: Queuarr has no usenet client")
    if not release.link:
        rejections.append("The release has neither a download URL nor a magnet link")
    if not profile.allows(quality.quality.id):
        rejections.append(f"{quality.quality.name} is not wanted in profile {profile.name!r}")
    if score < profile.min_format_score:
        names = ", ".join(m.format.name for m in appraisal.formats) or "none"
        rejections.append(f"Custom formats [{names}] have score {score}, below the profile's "
                          f"minimum {profile.min_format_score}")
    if limits.max_size is not None and release.size > limits.max_size:
        rejections.append(f"Size {release.size} is over the limit of {limits.max_size} bytes")
    too_big_or_small = size_rejection(release.size, sizes, limits.runtime,
                                      appraisal.parsed.title or release.title)
    if too_big_or_small is not None:
        rejections.append(too_big_or_small)
    if (release.protocol is DownloadProtocol.TORRENT and release.seeders is not None
            and release.seeders < limits.min_seeders):
        rejections.append(f"Not enough seeders: {release.seeders}, minimum "
                          f"{limits.min_seeders}")
    for item in movie.active:
        if _is_same(item, release):
            rejections.append(f"Release is already in the queue (item {item.id})")
            break
        why = upgrade_rejection(profile, item.quality, item.custom_format_score, quality,
                                score, f"Release in queue (item {item.id})")
        if why is not None:
            rejections.append(why)
            temporary = True
            break
    best_done = _best(profile, movie.completed)
    if best_done is not None:
        why = upgrade_rejection(profile, best_done.quality, best_done.custom_format_score,
                                quality, score, f"Completed download (item {best_done.id})")
        if why is not None:
            rejections.append(why)
    return Decision(appraisal, tuple(rejections), temporary and len(rejections) == 1)


def _best(profile: QualityProfile, items: Iterable[QueueItem]) -> QueueItem | None:
    return max(items, default=None, key=lambda i: (
        *_quality_order(profile, i.quality), i.custom_format_score, i.id))


def _bucket(count: int | None) -> int:
    return round(math.log10(count)) if count else 0


def _some(value: object) -> tuple[object, ...]:
    """A field for the tie-break: None sorts apart from every value (0 and '' too)."""
    return (0,) if value is None else (1, value)


def rank_key(decision: Decision, profile: QualityProfile) -> tuple[object, ...]:
    """Sort key, larger is better: quality (the profile's order, then revision), custom
    format score, protocol, indexer priority (lower wins), indexer flags (freeleech
    first), seeders and peers in log10 buckets, size in 200 MB steps (larger wins); then
    every field of the release, so that distinct releases never tie (a total order)."""
    a = decision.appraisal
    r = a.release
    peers = (r.seeders or 0) + (r.leechers or 0)
    published = r.publish_date.timestamp() if r.publish_date is not None else None
    return (
        *_quality_order(profile, a.quality), a.score,
        _PROTOCOL_PREFERENCE.get(r.protocol, 0), -r.indexer_priority, r.free_percent,
        _bucket(r.seeders), _bucket(peers), r.size // SIZE_STEP,
        r.title, r.size, *(_some(v) for v in (
            r.info_hash, r.download_url, r.magnet_url, r.guid, r.seeders, r.leechers,
            r.indexer, published, r.movie_id, r.quality_profile_id)),
        r.indexer_id, r.indexer_flags, int(r.protocol), r.indexer_priority,
    )


def ranked(decisions: Iterable[Decision], profile: QualityProfile) -> list[Decision]:
    """Best first: approved before rejected, then by rank_key."""
    return sorted(decisions, key=lambda d: (d.approved, rank_key(d, profile)), reverse=True)


def with_appraisal(new: NewItem, a: Appraisal) -> NewItem:
    """The item to queue, carrying the release's quality, languages and formats."""
    return replace(new, quality=a.quality, languages=a.parsed.languages,
                   custom_formats=tuple(CustomFormatRef(m.format.id, m.format.name)
                                        for m in a.formats),
                   custom_format_score=a.score)

"""ReleaseService: score releases, accept pushed ones, grab the best of a list, and grab
the next best when a download fails for good, over the ports."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from core.catalogue import Catalogue
from core.decisions import (
    Appraisal,
    Decision,
    Limits,
    MovieState,
    appraise,
    decide,
    ranked,
    with_appraisal,
)
from core.domain import (
    FINISHED_STATES,
    HistoryEvent,
    ItemState,
    MovieInfo,
    NewItem,
    Priority,
    QueueItem,
)
from core.errors import (
    BadRequest,
    Blocklisted,
    Duplicate,
    InvalidRelease,
    NoApprovedRelease,
    ValidationFailed,
    ValidationFailure,
)
from core.grab import GrabRequest
from core.links import check_http_url, magnet_hash, url_hash
from core.listing import PageRequest, QueueFilter
from core.offload import Budget, off_loop
from core.ports import (
    BlocklistRepository,
    CandidateRepository,
    Clock,
    ReleaseParser,
    StoredCandidate,
)
from core.profiles import QualityProfile
from core.release import Release, movie_key
from core.service import QueueService
from core.sizes import QualityDefinitions
from core.text import refuse_nul

log = logging.getLogger(__name__)

MOVIE_ITEMS = 500  # queue items looked at per movie for the queue and upgrade checks
# Parsing and matching run in worker threads, never on the event loop. 1,000 titles
# against 30 formats take ~0.5 s; past this budget a request is refused (OverBudget).
SCORING_BUDGET = 5.0  # seconds
SCORING_WORKERS = 2


@dataclass(frozen=True, slots=True)
class GrabOptions:
    """How an approved release is queued (the single grab's options)."""

    movie: MovieInfo | None = None
    priority: Priority = Priority.NORMAL
    download_client: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    decisions: list[Decision]  # best first
    profile: QualityProfile
    item: QueueItem | None = None  # the queue item grabbed, if any


def _hashes(release: Release) -> tuple[str | None, str | None]:
    link = release.link
    info_hash = release.info_hash.lower() if release.info_hash else None
    if link and link[:7].lower() == "magnet:":
        return info_hash or magnet_hash(link), None
    if link:
        try:
            return info_hash, url_hash(check_http_url(link))
        except InvalidRelease:
            pass
    return info_hash, None


def _refuse_nul(releases: Sequence[Release]) -> None:
    """Before a release is kept as a candidate (its key is a text column)."""
    for r in releases:
        for name, value in (("title", r.title), ("downloadUrl", r.download_url),
                            ("magnetUrl", r.magnet_url), ("guid", r.guid),
                            ("infoHash", r.info_hash), ("indexer", r.indexer)):
            refuse_nul(f"A release's {name}", value)


class ReleaseService:
    def __init__(self, queue: QueueService, catalogue: Catalogue,
                 candidates: CandidateRepository, blocklist: BlocklistRepository,
                 parser: ReleaseParser, clock: Clock, limits: Limits | None = None,
                 budget: float = SCORING_BUDGET,
                 monotonic: Callable[[], float] = time.monotonic,
                 sizes: QualityDefinitions | None = None) -> None:
        self.queue = queue
        self.catalogue = catalogue
        self.candidates = candidates
        self.blocklist = blocklist
        self.parser = parser
        self.clock = clock
        self.limits = limits or Limits()
        self.budget = budget  # seconds of scoring per request
        self.monotonic = monotonic
        self.sizes = sizes  # quality definitions (size limits); None: no size limits

    # -- appraising --------------------------------------------------------------------

    async def appraise_all(self, releases: Sequence[Release], profile_id: int | None
                           ) -> tuple[QualityProfile, list[Appraisal]]:
        """Parse and score every release in a worker thread, within the budget."""
        formats, profile = await self.catalogue.scoring(profile_id)
        language = self.limits.original_language
        budget = Budget(self.budget, f"Scoring {len(releases)} release(s) against "
                        f"{len(formats)} custom format(s)", self.monotonic)

        def work() -> list[Appraisal]:
            out = []
            for r in releases:
                budget.check()
                parsed = self.parser.parse(r.title)
                out.append(appraise(r, parsed, formats, profile, language, budget.check))
            return out

        return profile, await off_loop("scoring", SCORING_WORKERS, work)

    async def _movie_state(self, key: str | None, movie_id: int | None,
                           leaving: frozenset[int] = frozenset()) -> MovieState:
        if key is None:
            return MovieState()
        ids = {c.item_id for c in await self.candidates.for_movie(key) if c.item_id}
        items = {i.id: i for i in await self.queue.items.get_many(sorted(ids - leaving))}
        if movie_id is not None:
            flt = QueueFilter(movie_ids=frozenset({movie_id}))
            _, more = await self.queue.items.page(
                PageRequest("added", True, 0, MOVIE_ITEMS, flt))
            items.update((i.id, i) for i in more if i.id not in leaving)
        active = tuple(i for i in items.values() if i.state not in FINISHED_STATES)
        done = tuple(i for i in items.values() if i.state is ItemState.COMPLETED)
        return MovieState(active, done)

    async def _blocked(self, release: Release) -> str | None:
        info_hash, link_hash = _hashes(release)
        title = None if info_hash or link_hash else release.title
        entry = await self.blocklist.find(info_hash, link_hash, title)
        if entry is None:
            return None
        return entry.message or f"entry {entry.id}"

    async def decide_all(self, releases: Sequence[Release], profile_id: int | None,
                         movie_id: int | None = None, leaving: frozenset[int] = frozenset()
                         ) -> Outcome:
        """Decide every release, each against the queue of its own movie (less the items
        `leaving` it); best first."""
        profile, appraisals = await self.appraise_all(releases, profile_id)
        sizes = await self.sizes.by_quality() if self.sizes is not None else {}
        states: dict[str | None, MovieState] = {}
        decisions = []
        for a in appraisals:
            mid = a.release.movie_id if a.release.movie_id is not None else movie_id
            key = movie_key(mid, a.parsed)
            if key not in states:
                states[key] = await self._movie_state(key, mid, leaving)
            decisions.append(decide(a, profile, states[key], self.limits,
                                    await self._blocked(a.release),
                                    sizes.get(a.quality.quality.id)))
        return Outcome(ranked(decisions, profile), profile)

    async def score(self, releases: Sequence[Release], profile_id: int | None) -> Outcome:
        """POST /api/v3/release/score: decisions and ranks, nothing stored."""
        return await self.decide_all(releases, profile_id)

    # -- grabbing ----------------------------------------------------------------------

    async def push(self, release: Release, options: GrabOptions) -> Outcome:
        """POST /api/v3/release/push: decide; keep the release as a candidate for its
        movie; grab it when approved. A title Radarr's parser finds no movie in is
        refused as Radarr refuses it (a validation failure on Title), nothing kept."""
        _refuse_nul([release])
        outcome = await self.decide_all([release], release.quality_profile_id)
        (decision,) = outcome.decisions
        if not decision.appraisal.parsed.recognised:
            raise ValidationFailed([ValidationFailure("Title", "Unable to parse",
                                                      release.title)])
        key = movie_key(release.movie_id, decision.appraisal.parsed)
        (stored,) = (await self.candidates.add(key, [release], outcome.profile.id,
                                               self.clock.now())) if key else (None,)
        if not decision.approved:
            return outcome
        item = await self._grab(decision, stored, options, None)
        return replace(outcome, item=item)

    async def grab_best(self, releases: Sequence[Release], movie_id: int | None,
                        profile_id: int | None, options: GrabOptions) -> Outcome:
        """POST /api/v3/queue/grab with candidates: grab the best approved release of one
        movie and keep the others for the next-best re-grab. Nothing is stored when
        none is approved (NoApprovedRelease)."""
        if not releases:
            raise BadRequest("releases must hold at least one release")
        _refuse_nul(releases)
        if movie_id is None:
            named = {r.movie_id for r in releases}
            if len(named) > 1:
                raise BadRequest("The releases name different movies; send one movie's "
                                 "releases, or give movieId")
            movie_id = named.pop()
        releases = [replace(r, movie_id=movie_id) for r in releases]
        outcome = await self.decide_all(releases, profile_id, movie_id)
        approved = [d for d in outcome.decisions if d.approved]
        if not approved:
            raise NoApprovedRelease("No release is approved: " + "; ".join(
                f"{d.release.title}: {', '.join(d.rejections)}" for d in outcome.decisions))
        key = movie_key(movie_id, approved[0].appraisal.parsed)
        assert key is not None
        stored = await self.candidates.add(key, [d.release for d in outcome.decisions],
                                           outcome.profile.id, self.clock.now())
        by_release = dict(zip((id(d.release) for d in outcome.decisions), stored,
                              strict=True))
        for decision in approved:
            try:
                item = await self._grab(decision, by_release[id(decision.release)], options,
                                        None)
            except (Duplicate, Blocklisted) as exc:
                log.info("Candidate %r not grabbed: %s", decision.release.title, exc.message)
                continue
            return replace(outcome, item=item)
        raise NoApprovedRelease("Every approved release is already queued or blocklisted")

    async def _grab(self, decision: Decision, stored: StoredCandidate | None,
                    options: GrabOptions, reason: str | None) -> QueueItem:
        r = decision.release
        request = GrabRequest(
            title=r.title, download_url=r.link, protocol=r.protocol, movie_id=r.movie_id,
            movie=options.movie, release_id=r.guid, indexer=r.indexer, size=r.size or None,
            seeders=r.seeders, leechers=r.leechers, priority=options.priority,
            download_client=options.download_client, category=options.category)
        item = await self.queue.grab(request, decision.appraisal, reason)
        if stored is not None:
            await self.candidates.link(stored.id, item.id)
        return item

    async def fill(self, new: NewItem, profile_id: int | None = None) -> NewItem:
        """A plain grab's quality, languages and custom formats, from its title."""
        release = Release(title=new.title, download_url=new.download_url,
                          info_hash=new.info_hash, protocol=new.protocol, size=new.size,
                          indexer=new.indexer, seeders=new.seeders, leechers=new.leechers,
                          movie_id=new.movie_id)
        try:
            _, (a,) = await self.appraise_all([release], profile_id)
        except BadRequest as exc:  # no profile at all: the grab goes ahead unscored
            log.warning("Grab of %r not scored: %s", new.title, exc.message)
            return new
        return with_appraisal(new, a)

    # -- the next best -----------------------------------------------------------------

    async def redownload(self, failed: QueueItem, reason: str, leaving: bool = False
                         ) -> QueueItem | None:
        """Grab the next-best stored candidate for the failed item's movie that is still
        approved, without a new search; the new item's history says so, and the failed
        one's (`leaving`: it is being removed, its removal says so). The profile is the
        one the candidates were decided with, or the default one if it is gone."""
        origin = await self.candidates.for_item(failed.id)
        key = origin.movie_key if origin else movie_key(
            failed.movie_id, None if failed.movie_id is not None else
            self.parser.parse(failed.title))
        if key is None:
            return None
        waiting = [c for c in await self.candidates.for_movie(key) if c.item_id is None]
        if not waiting:
            return None
        profile_id = origin.profile_id if origin else waiting[0].profile_id
        if profile_id is not None and not await self.catalogue.has_profile(profile_id):
            profile_id = None
        outcome = await self.decide_all([c.release for c in waiting], profile_id,
                                        failed.movie_id, frozenset({failed.id}))
        by_release = {id(c.release): c for c in waiting}
        why = f"next best after item {failed.id} failed: {reason}"
        options = GrabOptions(movie=failed.movie, priority=failed.priority,
                              category=failed.category)
        for decision in outcome.decisions:
            if not decision.approved:
                continue
            try:
                item = await self._grab(decision, by_release[id(decision.release)], options,
                                        why.capitalize())
            except (Duplicate, Blocklisted, InvalidRelease) as exc:
                log.info("Next-best %r not grabbed: %s", decision.release.title, exc.message)
                continue
            if not leaving:
                await self.queue.note(failed, HistoryEvent(
                    "redownloading", f"Grabbed the next-best candidate {item.title!r} as "
                                     f"item {item.id}"))
            return item
        if not leaving:
            await self.queue.note(failed, HistoryEvent(
                "redownloadSkipped",
                f"No stored candidate is approved ({len(waiting)} looked at)"))
        return None

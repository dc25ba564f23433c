"""Quality profiles, as Radarr has them: ordered (optionally grouped) qualities, a cutoff,
and custom-format scores with their thresholds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.errors import BadRequest
from core.formats import FormatMatch
from core.quality import QUALITIES, QUALITY_BY_ID, Quality

GROUP_ID_BASE = 1000  # Radarr numbers quality groups from 1000


@dataclass(frozen=True, slots=True)
class ProfileItem:
    """A quality, or a named group of qualities that rank as one."""

    allowed: bool
    quality: Quality | None = None
    name: str | None = None
    id: int | None = None  # a group's id
    items: tuple[ProfileItem, ...] = ()

    @property
    def quality_ids(self) -> tuple[int, ...]:
        if self.quality is not None:
            return (self.quality.id,)
        return tuple(i.quality.id for i in self.items if i.quality is not None)


@dataclass(frozen=True, slots=True)
class FormatScore:
    format_id: int
    name: str
    score: int


@dataclass(frozen=True, slots=True)
class QualityProfile:
    id: int
    name: str
    items: tuple[ProfileItem, ...]  # worst first, as Radarr stores them
    cutoff: int  # a quality id or a group id
    upgrade_allowed: bool = True
    min_format_score: int = 0
    cutoff_format_score: int = 0
    min_upgrade_format_score: int = 1
    format_items: tuple[FormatScore, ...] = ()
    language_id: int = -1  # Radarr's profile language; -1 is Any
    _rank: dict[int, int] = field(default_factory=dict, compare=False, repr=False)
    _allowed: frozenset[int] = field(default=frozenset(), compare=False, repr=False)
    _scores: dict[int, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        rank, allowed = {}, set()
        for index, item in enumerate(self.items):
            for qid in item.quality_ids:
                rank[qid] = index
                if item.allowed:
                    allowed.add(qid)
        self._rank.update(rank)
        object.__setattr__(self, "_allowed", frozenset(allowed))
        self._scores.update({f.format_id: f.score for f in self.format_items})

    def rank(self, quality_id: int) -> int:
        """The quality's place in the profile (higher is better; -1 when absent)."""
        return self._rank.get(quality_id, -1)

    def allows(self, quality_id: int) -> bool:
        return quality_id in self._allowed

    def score(self, matches: Iterable[FormatMatch]) -> int:
        """Radarr's custom-format score: the sum of the profile's scores of the formats
        that matched; formats the profile does not list count 0."""
        return sum(self._scores.get(m.format.id, 0) for m in matches)

    @property
    def cutoff_rank(self) -> int:
        for index, item in enumerate(self.items):
            if item.id == self.cutoff or (item.quality is not None
                                          and item.quality.id == self.cutoff):
                return index
            if any(i.quality is not None and i.quality.id == self.cutoff for i in item.items):
                return index
        return len(self.items)


def check_profile(profile: QualityProfile, format_ids: Sequence[int]) -> None:
    """Raise BadRequest unless the profile is coherent: every quality at most once, at
    least one allowed, a cutoff among the allowed items, scores for known formats."""
    seen: set[int] = set()
    for item in profile.items:
        if item.quality is None and not item.items:
            raise BadRequest(f"Quality group {item.name!r} has no qualities")
        for qid in item.quality_ids:
            if qid in seen:
                raise BadRequest(f"Quality {QUALITY_BY_ID[qid].name} is listed twice")
            seen.add(qid)
    if not any(item.allowed for item in profile.items):
        raise BadRequest("A profile must allow at least one quality")
    allowed_ids = {item.id if item.quality is None else item.quality.id
                   for item in profile.items if item.allowed}
    if profile.cutoff not in allowed_ids:
        raise BadRequest(f"cutoff {profile.cutoff} is not an allowed quality or group of "
                         "this profile")
    known = set(format_ids)
    for f in profile.format_items:
        if f.format_id not in known:
            raise BadRequest(f"formatItems: no custom format with id {f.format_id}")


def all_qualities(allowed: Iterable[int]) -> tuple[ProfileItem, ...]:
    """Every Radarr quality in Radarr's order, those in `allowed` allowed."""
    wanted = set(allowed)
    return tuple(ProfileItem(q.id in wanted, q) for q in QUALITIES)

"""Quality definitions: Radarr's size limits per quality, in MB per minute of runtime,
and the decision they make (Radarr's AcceptableSizeSpecification).

Queuarr's defaults are min 0 and no max or preferred size, so that nothing is refused
by size until a user (or a TRaSH sync) sets limits; Radarr's own defaults cap most
qualities at 100 MB/min."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from core.errors import NotFound, ValidationFailed, ValidationFailure
from core.quality import QUALITIES, Quality
from core.text import refuse_nul

if TYPE_CHECKING:  # core.ports imports QualityDefinition from here
    from core.ports import QualityDefinitionRepository

# Radarr's QualityDefinitionLimits (MB per minute), GET /qualitydefinition/limits.
LIMIT_MIN = 0
LIMIT_MAX = 2000
DEFAULT_RUNTIME = 120  # minutes (QUEUARR_MOVIE_RUNTIME): Queuarr has no movie library
CACHE_SECONDS = 5.0  # as Radarr caches its definitions
MB = 1024 * 1024

# Radarr's Quality.DefaultQualityDefinitions weights (the WEB pairs share one).
WEIGHTS: dict[int, int] = {
    0: 1, 24: 2, 25: 3, 26: 4, 27: 5, 29: 6, 28: 7, 1: 8, 2: 9, 23: 10, 8: 11, 12: 11,
    20: 12, 21: 13, 4: 14, 5: 15, 14: 15, 6: 16, 9: 17, 3: 18, 15: 18, 7: 19, 30: 20,
    16: 21, 18: 22, 17: 22, 19: 23, 31: 24, 22: 25, 10: 26,
}
# A definition's id is the one a fresh Radarr gives it: its place in Radarr's default
# list (core.quality.QUALITIES is in that order), from 1. Radarr refuses id 0 on a PUT,
# and Unknown's quality id is 0.
DEFINITION_ID: dict[int, int] = {q.id: n for n, q in enumerate(QUALITIES, start=1)}
QUALITY_OF: dict[int, Quality] = {n: q for n, q in enumerate(QUALITIES, start=1)}


@dataclass(frozen=True, slots=True)
class QualityDefinition:
    quality: Quality
    title: str
    min_size: float | None = LIMIT_MIN
    max_size: float | None = None
    preferred_size: float | None = None

    @property
    def id(self) -> int:
        return DEFINITION_ID[self.quality.id]

    @property
    def weight(self) -> int:
        return WEIGHTS[self.quality.id]


def default_definition(quality: Quality) -> QualityDefinition:
    return QualityDefinition(quality, quality.name)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def definition_failures(d: QualityDefinition) -> list[ValidationFailure]:
    """Radarr's QualityDefinitionResourceValidator: min <= preferred <= max, each within
    LIMIT_MIN..LIMIT_MAX; the absent ones are skipped. Radarr lets min pass max when
    there is no preferred size; Queuarr refuses that too."""
    out: list[ValidationFailure] = []

    def check(name: str, value: float | None, low: float, high: float) -> None:
        if value is None:
            return
        label = " ".join(name.split("_")).title()
        prop = label.replace(" ", "")
        if value < low:
            out.append(ValidationFailure(
                prop, f"'{label}' must be greater than or equal to '{_number(low)}'.", value,
                "GreaterThanOrEqualTo"))
        elif value > high:
            out.append(ValidationFailure(
                prop, f"'{label}' must be less than or equal to '{_number(high)}'.", value,
                "LessThanOrEqualTo"))

    def pick(*values: float | None) -> float:
        return next(v for v in values if v is not None)

    check("min_size", d.min_size, LIMIT_MIN, pick(d.preferred_size, d.max_size, LIMIT_MAX))
    check("preferred_size", d.preferred_size, pick(d.min_size, LIMIT_MIN),
          pick(d.max_size, LIMIT_MAX))
    check("max_size", d.max_size, pick(d.preferred_size, d.min_size, LIMIT_MIN), LIMIT_MAX)
    return out


def size_suffix(size: int) -> str:
    """Radarr's NumberExtensions.SizeSuffix: '1.5 GB' (binary units, one decimal)."""
    if size < 0:
        return "-" + size_suffix(-size)
    if size == 0:
        return "0 B"
    units = ("B", "KB", "MB", "GB", "TB", "PB", "EB")
    mag = 0
    while mag + 1 < len(units) and size >= 1024 ** (mag + 1):
        mag += 1
    adjusted = (Decimal(size) / Decimal(1024**mag)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{adjusted:,} {units[mag]}"


def size_rejection(size: int, definition: QualityDefinition | None, runtime: int,
                   what: str) -> str | None:
    """Why a release of `size` bytes is refused by its quality's definition, in Radarr's
    words (`what` stands for the movie's title), or None. An unknown size (0) passes, as
    does a release with no definition; a max of 0 is no limit."""
    if size <= 0 or definition is None:
        return None
    if definition.min_size is not None:
        low = round(definition.min_size * MB) * runtime
        if size < low:
            return (f"{size_suffix(size)} is smaller than minimum allowed "
                    f"{size_suffix(low)} (for {what})")
    if definition.max_size:
        high = round(definition.max_size * MB) * runtime
        if size > high:
            return (f"{size_suffix(size)} is larger than maximum allowed "
                    f"{size_suffix(high)} (for {what})")
    return None


class QualityDefinitions:
    """Every quality's definition: the stored ones over the defaults."""

    def __init__(self, store: QualityDefinitionRepository,
                 cache_seconds: float = CACHE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cached: tuple[float, dict[int, QualityDefinition]] | None = None

    async def all(self) -> list[QualityDefinition]:
        """One per quality, by weight (Radarr's order)."""
        stored = {d.quality.id: d for d in await self.store.list()}
        every = [stored.get(q.id) or default_definition(q) for q in QUALITIES]
        return sorted(every, key=lambda d: (d.weight, d.id))

    async def get(self, definition_id: int) -> QualityDefinition:
        found = next((d for d in await self.all() if d.id == definition_id), None)
        if found is None:
            raise NotFound(f"Quality definition {definition_id} does not exist")
        return found

    async def update(self, changes: Sequence[QualityDefinition]) -> list[QualityDefinition]:
        """Check every definition, then store them all at once (all or nothing)."""
        failures: list[ValidationFailure] = []
        for d in changes:
            failures.extend(definition_failures(d))
            refuse_nul("A quality definition's title", d.title)
        if failures:
            raise ValidationFailed(failures)
        await self.store.save(list({d.quality.id: d for d in changes}.values()))
        self._cached = None
        return await self.all()

    async def by_quality(self) -> Mapping[int, QualityDefinition]:
        """Every definition by quality id, for release decisions (cached a few seconds:
        another process's edits show within CACHE_SECONDS)."""
        now = self._monotonic()
        if self._cached is None or now - self._cached[0] > self.cache_seconds:
            self._cached = (now, {d.quality.id: d for d in await self.all()})
        return self._cached[1]


def with_sizes(d: QualityDefinition, title: str | None, min_size: float | None,
               max_size: float | None, preferred_size: float | None) -> QualityDefinition:
    """A definition as a PUT body sets it (the quality never changes; a missing title
    keeps the current one)."""
    return replace(d, title=d.title if title is None else title, min_size=min_size,
                   max_size=max_size, preferred_size=preferred_size)

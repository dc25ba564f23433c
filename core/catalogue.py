"""Catalogue: custom formats and quality profiles, checked before they are stored and
compiled once for scoring."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from core.errors import BadRequest, NotFound
from core.formats import CompiledFormat, CustomFormat, PatternCompiler, compile_formats
from core.ports import CustomFormatRepository, QualityProfileRepository
from core.presets import DEFAULT_FORMATS, default_profile
from core.profiles import FormatScore, QualityProfile, check_profile
from core.text import refuse_nul

CACHE_SECONDS = 5.0  # how stale another process's edits may look to this one's scoring


class Catalogue:
    def __init__(self, formats: CustomFormatRepository, profiles: QualityProfileRepository,
                 compiler: PatternCompiler, cache_seconds: float = CACHE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._formats = formats
        self._profiles = profiles
        self.compiler = compiler
        self.cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cached: tuple[float, list[CompiledFormat], dict[int, QualityProfile]] | None
        self._cached = None

    def _invalidate(self) -> None:
        self._cached = None

    # -- custom formats ----------------------------------------------------------------

    async def formats(self) -> list[CustomFormat]:
        return sorted(await self._formats.list(), key=lambda f: f.id)

    async def get_format(self, format_id: int) -> CustomFormat:
        found = next((f for f in await self._formats.list() if f.id == format_id), None)
        if found is None:
            raise NotFound(f"Custom format {format_id} does not exist")
        return found

    def _check_format(self, fmt: CustomFormat) -> None:
        if not fmt.name.strip():
            raise BadRequest("A custom format needs a name")
        refuse_nul("A custom format's name", fmt.name)
        for spec in fmt.specifications:
            refuse_nul(f"Specification {spec.name!r}", spec.name, spec.implementation,
                       *(v for v in spec.fields.values() if isinstance(v, str)))
        CompiledFormat(fmt, self.compiler)

    async def add_format(self, fmt: CustomFormat) -> CustomFormat:
        self._check_format(fmt)
        self._invalidate()
        return await self._formats.add(fmt)

    async def update_format(self, fmt: CustomFormat) -> CustomFormat:
        self._check_format(fmt)
        self._invalidate()
        return await self._formats.update(fmt)

    async def delete_format(self, format_id: int) -> None:
        """Delete it, and its score from every profile (as Radarr does)."""
        await self.get_format(format_id)
        for profile in await self._profiles.list():
            kept = tuple(f for f in profile.format_items if f.format_id != format_id)
            if len(kept) != len(profile.format_items):
                await self._profiles.update(replace(profile, format_items=kept))
        self._invalidate()
        await self._formats.delete(format_id)

    # -- quality profiles --------------------------------------------------------------

    def _complete(self, profile: QualityProfile, formats: list[CustomFormat]
                  ) -> QualityProfile:
        """The profile with a score for every format (0 where it names none), names
        refreshed, in format order: what Radarr lists."""
        scores = {f.format_id: f.score for f in profile.format_items}
        items = tuple(FormatScore(f.id, f.name, scores.get(f.id, 0)) for f in formats)
        return replace(profile, format_items=items)

    async def profiles(self) -> list[QualityProfile]:
        formats = await self.formats()
        return [self._complete(p, formats)
                for p in sorted(await self._profiles.list(), key=lambda p: p.id)]

    async def get_profile(self, profile_id: int) -> QualityProfile:
        found = next((p for p in await self.profiles() if p.id == profile_id), None)
        if found is None:
            raise NotFound(f"Quality profile {profile_id} does not exist")
        return found

    async def _check_profile(self, profile: QualityProfile) -> QualityProfile:
        if not profile.name.strip():
            raise BadRequest("A quality profile needs a name")
        refuse_nul("A quality profile's name", profile.name)
        check_profile(profile, [f.id for f in await self._formats.list()])
        return replace(profile, format_items=tuple(
            f for f in profile.format_items if f.score != 0))

    async def add_profile(self, profile: QualityProfile) -> QualityProfile:
        stored = await self._profiles.add(await self._check_profile(profile))
        self._invalidate()
        return await self.get_profile(stored.id)

    async def update_profile(self, profile: QualityProfile) -> QualityProfile:
        await self._profiles.update(await self._check_profile(profile))
        self._invalidate()
        return await self.get_profile(profile.id)

    async def delete_profile(self, profile_id: int) -> None:
        profiles = await self._profiles.list()
        if not any(p.id == profile_id for p in profiles):
            raise NotFound(f"Quality profile {profile_id} does not exist")
        if len(profiles) == 1:
            raise BadRequest("The last quality profile cannot be deleted")
        self._invalidate()
        await self._profiles.delete(profile_id)

    async def ensure_defaults(self) -> None:
        """A fresh installation gets the default formats and profile; an installation
        with any profile is left as it is."""
        if await self._profiles.list():
            return
        existing = {f.name: f.id for f in await self._formats.list()}
        ids = {}
        for fmt, _score in DEFAULT_FORMATS:
            ids[fmt.name] = existing.get(fmt.name) or (await self._formats.add(fmt)).id
        await self._profiles.add(default_profile(ids))
        self._invalidate()

    # -- scoring -----------------------------------------------------------------------

    async def has_profile(self, profile_id: int) -> bool:
        _, profiles = await self._scoring_cache()
        return profile_id in profiles

    async def _scoring_cache(self) -> tuple[list[CompiledFormat], dict[int, QualityProfile]]:
        now = self._monotonic()
        if self._cached is None or now - self._cached[0] > self.cache_seconds:
            formats = sorted(await self._formats.list(), key=lambda f: f.id)
            profiles = {p.id: p for p in await self._profiles.list()}
            self._cached = (now, compile_formats(formats, self.compiler), profiles)
        return self._cached[1], self._cached[2]

    async def scoring(self, profile_id: int | None
                      ) -> tuple[list[CompiledFormat], QualityProfile]:
        """The compiled formats and the profile to score with: the one asked for, else
        the profile with the lowest id."""
        compiled, profiles = await self._scoring_cache()
        if profile_id is None:
            if not profiles:
                raise BadRequest("No quality profile exists; create one first")
            return compiled, profiles[min(profiles)]
        if profile_id not in profiles:
            raise BadRequest(f"Quality profile {profile_id} does not exist")
        return compiled, profiles[profile_id]

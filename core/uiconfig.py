"""Radarr's UI settings (GET/PUT /api/v3/config/ui): stored as one JSON document under
one switch name, so every process reads the same. Queuarr's web page does not read them;
tools do (decluttarr reads them at start-up)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from core.errors import ValidationFailed, ValidationFailure
from core.ports import Clock, SwitchRepository
from core.quality import LANGUAGES
from core.text import refuse_nul

UI_CONFIG = "ui_config"
RUNTIME_FORMATS = ("hoursMinutes", "minutes")  # Radarr's MovieRuntimeFormatType


@dataclass(frozen=True, slots=True)
class UiConfig:
    """Radarr's defaults (ConfigService; the first day of the week is the invariant
    culture's Sunday)."""

    first_day_of_week: int = 0
    calendar_week_column_header: str = "ddd M/D"
    movie_runtime_format: str = "hoursMinutes"
    short_date_format: str = "MMM D YYYY"
    long_date_format: str = "dddd, MMMM D YYYY"
    time_format: str = "h(:mm)a"
    show_relative_dates: bool = True
    enable_color_impaired_mode: bool = False
    movie_info_language: int = 1
    ui_language: int = 1
    theme: str = "auto"


def _language_failures(prop: str, label: str, value: int) -> list[ValidationFailure]:
    """Radarr's UiConfigController rules, both of which may fail."""
    out = []
    if value < 1:
        out.append(ValidationFailure(prop, f"The {label} value cannot be less than 1", value,
                                     "GreaterThanOrEqualValidator"))
    if value not in LANGUAGES:
        out.append(ValidationFailure(prop, f"Invalid {label} ID", value, "PredicateValidator"))
    return out


def check_ui_config(config: UiConfig) -> UiConfig:
    failures = [*_language_failures("MovieInfoLanguage", "Movie Info Language",
                                    config.movie_info_language),
                *_language_failures("UILanguage", "UI Language", config.ui_language)]
    if config.movie_runtime_format not in RUNTIME_FORMATS:
        failures.append(ValidationFailure(
            "MovieRuntimeFormat", f"'Movie Runtime Format' must be one of "
            f"{', '.join(RUNTIME_FORMATS)}", config.movie_runtime_format))
    if failures:
        raise ValidationFailed(failures)
    for f in fields(config):
        value = getattr(config, f.name)
        if isinstance(value, str):
            refuse_nul(f"UI setting {f.name}", value)
    return config


class UiSettings:
    def __init__(self, switches: SwitchRepository, clock: Clock) -> None:
        self.switches = switches
        self.clock = clock

    async def get(self) -> UiConfig:
        """The stored settings over Radarr's defaults (a setting not stored, or one a
        newer version stored and this one does not know, is ignored)."""
        raw = await self.switches.get(UI_CONFIG)
        if not raw:
            return UiConfig()
        stored: dict[str, Any] = json.loads(raw)
        known = {f.name for f in fields(UiConfig)}
        return replace(UiConfig(), **{k: v for k, v in stored.items() if k in known})

    async def update(self, changes: dict[str, Any]) -> UiConfig:
        """Apply the given settings (the others keep their values), checked first."""
        config = check_ui_config(replace(await self.get(), **changes))
        await self.switches.set(UI_CONFIG, json.dumps(asdict(config)), self.clock.now())
        return config

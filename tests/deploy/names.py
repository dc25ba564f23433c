"""What the deployment files may name: the environment variables Settings reads, so that
a misspelt QUEUARR_ name in a compose file or a unit fails a test instead of being
silently ignored (Settings ignores unknown variables)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices

from infrastructure.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
QUEUARR_NAME = re.compile(r"\bQUEUARR_[A-Z0-9_]+\b")


def setting_env_names() -> set[str]:
    """QUEUARR_<FIELD> for every field, and every alias a field accepts."""
    names = set()
    for field, info in Settings.model_fields.items():
        names.add(f"QUEUARR_{field.upper()}")
        if isinstance(info.validation_alias, AliasChoices):
            names.update(c for c in info.validation_alias.choices if isinstance(c, str))
        elif isinstance(info.validation_alias, str):
            names.add(info.validation_alias)
    return names


def unknown_settings(text: str) -> set[str]:
    """The QUEUARR_ names in `text` that no setting reads."""
    return set(QUEUARR_NAME.findall(text)) - setting_env_names()

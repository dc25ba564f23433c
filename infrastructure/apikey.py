"""The API key: from settings, or generated once and kept in the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from infrastructure.settings import Settings

KEY_FILE = "api_key"


def load_or_create_api_key(settings: Settings) -> tuple[str, bool]:
    """(key, created). A configured key wins; otherwise the key stored in the data dir,
    or a new 32-hex key written there with owner-only permissions."""
    if settings.api_key is not None:
        return settings.api_key.get_secret_value(), False
    path = Path(settings.data_dir) / KEY_FILE
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key, True

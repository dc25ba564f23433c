"""The API key: from settings, or generated once and kept in the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from infrastructure.private_files import private_dir
from infrastructure.settings import MIN_API_KEY_LENGTH, Settings

KEY_FILE = "api_key"


def load_or_create_api_key(settings: Settings) -> tuple[str, bool]:
    """(key, created). A configured key wins; otherwise the key stored in the data dir,
    or a new 32-hex key written there with owner-only permissions. A stored key shorter
    than MIN_API_KEY_LENGTH is refused (ValueError), as a configured one is."""
    if settings.api_key is not None:
        return settings.api_key.get_secret_value(), False
    path = Path(settings.data_dir) / KEY_FILE
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= MIN_API_KEY_LENGTH:
            return key, False
        if key:
            raise ValueError(f"The API key in {path} is shorter than {MIN_API_KEY_LENGTH} "
                             "characters: write a longer one, or delete the file to have "
                             "one generated")
    private_dir(path.parent)
    key = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key, True

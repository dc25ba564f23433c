"""Versions. Radarr clients read X-Application-Version and system/status.version as
Radarr's version (Prowlarr refuses anything below 4.0.4), so those carry the Radarr API
level Queuarr implements; Queuarr's own version is packageVersion."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

RADARR_API_VERSION = "6.1.0.0"

try:
    QUEUARR_VERSION = version("queuarr")
except PackageNotFoundError:  # running from a source tree that is not installed
    QUEUARR_VERSION = "0.0.0"

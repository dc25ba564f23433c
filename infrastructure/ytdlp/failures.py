"""Which yt-dlp failures a retry cannot fix, for the download worker and the probe alike:
first from the exception chain yt-dlp keeps (the guard's refusal, an HTTP status, a
network error, an extractor's expected error: the site's own answer), else from the text.

Permanent: the video is unavailable, private, removed, geo-blocked or behind a login;
the URL is not a video yt-dlp supports, answers 404/410, or is refused by Queuarr's
private-address guard. Transient: everything else, network trouble (time-outs, resets,
short reads), 5xx and throttling (429) above all."""

from __future__ import annotations

import re

from infrastructure.ytdlp.guard import REFUSED

# Checked first: a 503 "Service Unavailable" is not an unavailable video.
_TRANSIENT = re.compile(
    r"HTTP Error (5\d\d|429|408)|Too Many Requests|rate[- ]limit|throttl|timed? ?out"
    r"|Connection (reset|refused|aborted)|Remote end closed|IncompleteRead"
    r"|bytes read, \d+ more expected|Downloaded \d+ bytes, expected \d+"
    r"|Temporary failure in name resolution|Network is unreachable|temporar",
    re.IGNORECASE)

_PERMANENT = re.compile(
    "|".join([
        re.escape(REFUSED),
        r"HTTP Error (404|410)\b",
        r"Unsupported URL",
        r"is a playlist",  # one job is one video
        r"outside the download roots",
        r"Video unavailable|video is (no longer |not |un)available|not available",
        r"Private video|video is private|private (video|playlist)",
        r"has been removed|been terminated|no longer exists|deleted",
        r"geo[- ]?restrict|available (from|in) your (location|country)",
        r"only available for registered users|Sign in to confirm|login required"
        r"|members[- ]only|requires (payment|purchase|a subscription)",
        r"Requested format is not available|No video formats found",
    ]),
    re.IGNORECASE)


def is_permanent(error: str) -> bool:
    """Whether a retry cannot fix the failure that `error` describes."""
    if REFUSED in error:
        return True
    if _TRANSIENT.search(error):
        return False
    return _PERMANENT.search(error) is not None


# HTTP statuses that may pass: 5xx, and these (403: yt-dlp's signed media URLs expire, and
# a retry extracts fresh ones).
TRANSIENT_STATUSES = frozenset({403, 408, 425, 429})


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes (yt-dlp keeps them in `exc_info` and `cause`)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        exc_info = getattr(current, "exc_info", None)
        inner = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None
        cause = getattr(current, "cause", None)
        current = next((e for e in (inner, cause, current.__cause__, current.__context__)
                        if isinstance(e, BaseException) and e is not current), None)
    return chain


def error_text(exc: BaseException) -> str:
    """yt-dlp's message without its "ERROR:" and progress-line debris."""
    text = str(exc).removeprefix("ERROR: ").split("\r")[-1].strip()
    return (text.removeprefix("[download] ") or type(exc).__name__)[:2000]


def classify(exc: BaseException) -> tuple[str, bool]:
    """(text, permanent) of a failure raised in a yt-dlp process."""
    from yt_dlp.networking.exceptions import (  # type: ignore[import-untyped]
        HTTPError,
        TransportError,
    )
    from yt_dlp.utils import ExtractorError  # type: ignore[import-untyped]

    from infrastructure.ytdlp.guard import PrivateTarget

    chain = _chain(exc)
    text = error_text(exc)
    refused = next((e for e in chain if isinstance(e, PrivateTarget)), None)
    if refused is not None:
        return str(refused), True
    status = next((e.status for e in chain if isinstance(e, HTTPError)), None)
    if status is not None:
        return text, not (status >= 500 or status in TRANSIENT_STATUSES)
    if any(isinstance(e, TransportError | OSError | TimeoutError) for e in chain):
        return text, False
    if any(isinstance(e, ExtractorError) and e.expected for e in chain):
        return text, True
    return text, is_permanent(text)

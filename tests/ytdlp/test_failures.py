"""Which yt-dlp failures are permanent, on the texts yt-dlp really raises (its DownloadError
messages, "ERROR: " left out as the worker leaves it out) and the sites' own reasons."""

from __future__ import annotations

import pytest

from infrastructure.ytdlp.failures import is_permanent

GUARD = ("[generic] x: Unable to download webpage: HTTPConnection(host='127.0.0.1', "
         "port=42769): Failed to establish a new connection: '127.0.0.1' is in private "
         "address space (127.0.0.1); Queuarr does not fetch from private networks unless "
         "QUEUARR_ALLOW_PRIVATE_URLS is true")

PERMANENT = [
    "[generic] 404: Unable to download webpage: HTTP Error 404: Not Found "
    "(caused by <HTTPError 404: Not Found>)",
    "[generic] 410: Unable to download webpage: HTTP Error 410: Gone "
    "(caused by <HTTPError 410: Gone>)",
    "Unsupported URL: http://127.0.0.1:42769/novideo",
    GUARD,
    "[youtube] dQw4w9WgXcQ: Private video. Sign in if you've been granted access to this "
    "video. Use --cookies-from-browser or --cookies for the authentication.",
    "[youtube] dQw4w9WgXcQ: Video unavailable. This video has been removed by the uploader",
    "[youtube] dQw4w9WgXcQ: Video unavailable. This video is no longer available because "
    "the YouTube account associated with this video has been terminated.",
    "[youtube] dQw4w9WgXcQ: The uploader has not made this video available in your country",
    "[generic] x: This video is not available from your location due to geo restriction",
    "[youtube] dQw4w9WgXcQ: Sign in to confirm your age. This video may be inappropriate "
    "for some users.",
    "[youtube] dQw4w9WgXcQ: Join this channel to get access to members-only content like "
    "this video, and other exclusive perks.",
    "[vimeo] 12345: This video is only available for registered users",
    "[generic] x: Requested format is not available. Use --list-formats for a list of "
    "available formats",
    "http://127.0.0.1/three.html is a playlist of 3 videos; one job is one video: grab its "
    "entries one by one",
    "yt-dlp wrote '/etc/x.mp4', outside the download roots",
    "yt-dlp would hand this download to an external program (ffmpeg, rtmpdump); refused: it "
    "would bypass the private address space guard",
]

TRANSIENT = [
    "[generic] 503: Unable to download webpage: HTTP Error 503: Service Unavailable "
    "(caused by <HTTPError 503: Service Unavailable>)",
    "[generic] 500: Unable to download webpage: HTTP Error 500: Internal Server Error "
    "(caused by <HTTPError 500: Internal Server Error>)",
    "[generic] 429: Unable to download webpage: HTTP Error 429: Too Many Requests "
    "(caused by <HTTPError 429: Too Many Requests>)",
    "Got error: 5000 bytes read, 95000 more expected",
    "Downloaded 5000 bytes, expected 100000 bytes",
    "[generic] x: Unable to download webpage: HTTPConnection(host='127.0.0.1', port=35789): "
    "Failed to establish a new connection: [Errno 111] Connection refused",
    "[generic] x: Unable to download webpage: [Errno -3] Temporary failure in name "
    "resolution (caused by TransportError('[Errno -3] Temporary failure in name "
    "resolution'))",
    "[generic] x: Unable to download webpage: Connection to example.org timed out. "
    "(connect timeout=20.0)",
    "Got error: ('Connection aborted.', ConnectionResetError(104, 'Connection reset by "
    "peer'))",
    "Got error: IncompleteRead(1048576 bytes read, 2097152 more expected)",
    "the yt-dlp worker exited (code -9) without a result 3 times; see worker.log",
]


@pytest.mark.parametrize("text", PERMANENT)
def test_unavailable_refused_and_unsupported_are_permanent(text: str) -> None:
    assert is_permanent(text)


@pytest.mark.parametrize("text", TRANSIENT)
def test_network_trouble_5xx_and_throttling_are_transient(text: str) -> None:
    assert not is_permanent(text)


def test_the_guard_wins_over_anything_transient_in_the_same_text() -> None:
    assert is_permanent(GUARD + " (timed out)")

"""yt-dlp as a download client: video pages and playlists, extracted and downloaded by
yt-dlp in worker processes of their own (never in the server's event loop)."""

"""Download-client adapters (qBittorrent, aria2), the managed aria2c and the registry."""

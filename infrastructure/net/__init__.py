"""The network edge: every fetch Queuarr makes of a caller's URL (a .torrent, a redirect
chain, a webhook) goes through one guarded HTTP client (`http.guarded_client`), which
checks each connection's address (`guard.UrlGuard`) and connects to the address it
checked. `sources` prepares a release for its download client with it."""

# Queuarr, laid out as every *arr image is (TRaSH's guide): its state in /config (the
# database, the API key file, logs, backups), the media root in /data, downloads in
# /data/downloads. Downloads and media share one mount so that moves are atomic and
# hardlinks work.
#   docker build -t queuarr .
#   docker run -p 7878:7878 -e PUID=1000 -e PGID=1000 -e TZ=Europe/Berlin \
#     -v queuarr-config:/config -v /srv/data:/data queuarr
# docker-compose.yml runs it with Postgres and qBittorrent.
FROM python:3.11-slim-trixie

# PUID/PGID/UMASK/TZ as in linuxserver.io's images. The container starts as root only so
# that `queuarr` can apply them (infrastructure/runas.py): it hands /config and the
# download dir itself (not what is in it) to PUID:PGID, then drops to them for good.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    QUEUARR_DATA_DIR=/config \
    QUEUARR_DOWNLOAD_DIR=/data/downloads \
    QUEUARR_HOST=0.0.0.0 \
    QUEUARR_PORT=7878 \
    PUID=1000 \
    PGID=1000 \
    UMASK=022 \
    TZ=Etc/UTC

# aria2c for the managed download client (started by `queuarr serve` when no other
# client is configured; its RPC listens on 127.0.0.1 inside the container only); ffmpeg
# for the yt-dlp client to merge video and audio; tzdata for TZ (slim has no zone files;
# noninteractive, or its installer waits for someone to pick a zone).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends aria2 ffmpeg ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY core ./core
COPY infrastructure ./infrastructure
COPY api ./api
COPY migrations ./migrations
# The Telegram bot and yt-dlp ship in the image; pip's in-tree build leftovers do not.
RUN pip install '.[telegram,video]' \
 && rm -rf build queuarr.egg-info

VOLUME ["/config", "/data"]
EXPOSE 7878

# /ping, under QUEUARR_URL_BASE when one is set (urlopen raises on anything but 2xx).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; base = os.environ.get('QUEUARR_URL_BASE', '').strip().strip('/'); port = os.environ.get('QUEUARR_PORT', '7878'); urllib.request.urlopen(f'http://127.0.0.1:{port}' + (f'/{base}' if base else '') + '/ping', timeout=4)"]

ENTRYPOINT ["queuarr"]
CMD ["serve"]

# Queuarr: `docker build -t queuarr .` then
# `docker run -p 7878:7878 -v queuarr-data:/data queuarr`
# Downloads land in /data/downloads (QUEUARR_DOWNLOAD_DIR) unless a client is configured.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    QUEUARR_DATA_DIR=/data \
    QUEUARR_PORT=7878

# aria2c for the managed download client (started by `queuarr serve` when no other
# client is configured; its RPC listens on 127.0.0.1 inside the container only); ffmpeg
# for the yt-dlp client to merge video and audio.
RUN apt-get update \
 && apt-get install -y --no-install-recommends aria2 ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY core ./core
COPY infrastructure ./infrastructure
COPY api ./api
COPY migrations ./migrations
RUN pip install '.[telegram,video]' \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home queuarr \
 && mkdir -p /data \
 && chown queuarr:queuarr /data

USER queuarr
VOLUME ["/data"]
EXPOSE 7878

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('QUEUARR_PORT', '7878'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/ping', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["queuarr"]
CMD ["serve", "--host", "0.0.0.0"]

# sqlapi: a read-only JSON API over an SQLite file.
#   docker build -t sqlapi .
#   docker run --rm -p 8000:8000 -v "$PWD/mydb.sqlite:/data/db.sqlite:ro" sqlapi /data/db.sqlite
# The database is mounted read-only at /data; with no path the bundled sample is served.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY sqlapi ./sqlapi
RUN pip install . && useradd --system --uid 10001 --no-create-home sqlapi

USER 10001:10001
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["sqlapi", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
CMD []

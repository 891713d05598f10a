# The API image. Runs `landmarket serve --migrate` against LANDMARKET_DATABASE_URL
# (see docker-compose.yml for a PostGIS beside it).

# The web app (docs/web.md), built from the lock file; only its output goes into the image.
FROM node:20-slim AS web
WORKDIR /build
COPY web/package.json web/package-lock.json ./web/
RUN cd web && npm ci --no-audit --no-fund
COPY openapi ./openapi
COPY web/index.html web/tsconfig.json web/vite.config.ts ./web/
COPY web/src ./web/src
COPY web/vendor-init ./web/vendor-init
RUN cd web && npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /var/lib/landmarket --create-home landmarket

COPY --from=web /build/web/dist ./web/dist

USER landmarket
ENV LANDMARKET_DATA_DIR=/var/lib/landmarket \
    LANDMARKET_WEB_DIST_DIR=/app/web/dist
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["landmarket", "serve", "--host", "0.0.0.0", "--port", "8000", "--migrate"]

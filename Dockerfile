# The bot in a small image: Python's slim base, the runtime dependencies only, a non-root user.
# Volumes: /data (the SQLite database and its backups), /knowledge (the YAML base, which admins may
# replace by upload), /report (the report the bot quotes and checks figures against).
#
#   docker build -t hp-report-bot .
#   docker run -d --name hp-report-bot --env-file .env \
#     -v hp-data:/data -v "$PWD/knowledge:/knowledge" -v "$PWD/../shared/source:/report:ro" \
#     -e REPORT_PATH=/report/000_ffa3f5d343d508a7.txt hp-report-bot
#
# See README.md, "Operations".

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml ./
COPY bot ./bot
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir --progress-bar off .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    DATABASE_PATH=/data/bot.sqlite3 \
    KNOWLEDGE_DIR=/knowledge \
    REPORT_PATH=/report/report.txt
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin bot \
    && mkdir -p /app /data /knowledge /report \
    && chown bot:bot /app /data /knowledge
COPY --from=build /opt/venv /opt/venv
COPY --chown=bot:bot knowledge /knowledge
WORKDIR /app
USER bot
VOLUME ["/data", "/knowledge", "/report"]
# Settings, base with provenance, database, time zone, admins, access: the same checks as
# `python -m bot doctor` on a server (offline: no call to Telegram).
HEALTHCHECK --interval=5m --timeout=60s --start-period=30s --retries=2 CMD ["python", "-m", "bot", "doctor"]
# SIGTERM (docker stop) ends the bot cleanly; SIGHUP (docker kill -s HUP) reloads the base.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]

# palbot: the Slack app, ready for a container platform. Data lives in PostgreSQL
# (DATABASE_URL) or, for a single container, in a SQLite file on a mounted volume (/data).
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 palbot \
    && mkdir /data && chown palbot /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY palbot ./palbot
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER palbot
ENV PORT=3000 \
    PALBOT_DATABASE=/data/palbot.db
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"
# Several workers share the port; they share the database, never memory.
CMD ["sh", "-c", "palbot migrate && exec palbot serve --host 0.0.0.0 --port ${PORT} --workers ${PALBOT_WORKERS:-2}"]

# Vigil's image: the web app (`vigil run`) and the Celery worker (`vigil worker`) alike.
FROM python:3.11-slim

# Chromium renders the charts in alert emails (kaleido); the fonts make their text legible.
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 vigil && mkdir /data && chown vigil /data
WORKDIR /app
COPY pyproject.toml README.md app.py ./
COPY alerts alerts
COPY assets assets
COPY components components
COPY detection detection
COPY live live
COPY pages pages
COPY storage storage
COPY vigil vigil
RUN pip install --no-cache-dir -e ".[s3]"

USER vigil
ENV VIGIL_DATA_DIR=/data VIGIL_HOST=0.0.0.0 VIGIL_PORT=8050
EXPOSE 8050
CMD ["vigil", "run", "--workers", "4"]

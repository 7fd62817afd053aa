# Production image of Datastore Studio: gunicorn (gthread workers, gunicorn.conf.py) serving
# studio.wsgi, static files by whitenoise. Put it behind a TLS-terminating proxy (README, Production).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY manage.py gunicorn.conf.py ./
COPY studio/ studio/
COPY accounts/ accounts/
COPY datastores/ datastores/
COPY templates/ templates/
COPY static/ static/

# Collect static files at build time; throwaway keys only satisfy the settings' start-up checks.
RUN DEBUG=true DATASTORE_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput -v 0 \
 && useradd --system --uid 10001 --home /app studio \
 && mkdir -p /app/var && chown studio /app/var

USER studio
EXPOSE 8000
# tests/test_production_start.py runs this command and the CMD below, read from this file.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["python", "-m", "studio.healthcheck"]

# Migrates (only what is new, one container at a time), then execs gunicorn, which gets SIGTERM
# on `docker stop`: give it GUNICORN_GRACEFUL_TIMEOUT plus a few seconds (docker stop -t, compose
# stop_grace_period). Settings, keys and DATABASE_URL come from the environment or secret files.
CMD ["python", "-m", "studio.start"]

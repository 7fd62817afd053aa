# Production image of Datastore Studio: gunicorn serving studio.wsgi, static files by whitenoise.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY manage.py ./
COPY studio/ studio/
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
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"

# Migrations run before the workers start; DATABASE_URL and the keys come from the environment.
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn studio.wsgi --bind 0.0.0.0:8000 --workers 3 --timeout 300 --access-logfile -"]

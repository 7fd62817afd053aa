"""Settings for Datastore Studio, read from the environment (12-factor).

Every variable is documented in `.env.example`. An optional `.env` file at the
project root is read first; real environment variables win over it. Each secret can
instead be read from a file (a Docker or compose secret): NAME_FILE=/run/secrets/name.
"""

import uuid
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _secret(name: str, default: str = "") -> str:
    """NAME from the environment, or the contents of the file that NAME_FILE names, trimmed
    (a secret file usually ends with a newline). Setting both is refused as ambiguous."""
    path = env.str(f"{name}_FILE", default="")
    if not path:
        return env.str(name, default=default)
    if env.str(name, default=""):
        raise ImproperlyConfigured(f"Both {name} and {name}_FILE are set: keep one of them.")
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ImproperlyConfigured(f"{name}_FILE: cannot read {path} ({error.strerror}).") from None


def _secret_key() -> str:
    """A strong SECRET_KEY, or a refusal to start when DEBUG is off."""
    key = _secret("SECRET_KEY")
    # .env.example's placeholder ("change-me-...") is as weak as no key at all.
    weak = len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-") or "change-me" in key.lower()
    if weak and not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing or weak (it needs at least 50 characters and 5 distinct ones). "
            "Set it in the environment, e.g. from: "
            "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
        )
    return key or "django-insecure-local-development-only"


def _encryption_keys() -> list[str]:
    """The Fernet keys that protect stored secrets: the first encrypts, all decrypt."""
    raw = _secret("DATASTORE_ENCRYPTION_KEYS").replace("\n", ",")  # a file may hold one key per line
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured(
            "DATASTORE_ENCRYPTION_KEYS is not set. Datastore secrets are never stored in plaintext; "
            "generate a key with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"DATASTORE_ENCRYPTION_KEYS: key number {position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from None
    return keys


SECRET_KEY = _secret_key()
DATASTORE_ENCRYPTION_KEYS = _encryption_keys()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Hosts a datastore may point at beyond Azure's own suffixes (e.g. a local Azurite).
DATASTORE_ALLOWED_HOSTS = [
    host.strip().lower()
    for host in env.list("DATASTORE_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
]

# The storage account behind each new workspace's workspaceblobstore and workspacefilestore.
LOCAL_AZURITE_CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)
WORKSPACE_STORAGE_CONNECTION_STRING = _secret(
    "WORKSPACE_STORAGE_CONNECTION_STRING", default=LOCAL_AZURITE_CONNECTION_STRING if DEBUG else ""
)
if not WORKSPACE_STORAGE_CONNECTION_STRING:
    raise ImproperlyConfigured(
        "WORKSPACE_STORAGE_CONNECTION_STRING is not set: new workspaces need a storage account "
        "for their workspaceblobstore and workspacefilestore."
    )

# Audit log: days an entry is kept before `manage.py prune_audit` removes it (unset: forever).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=0) or None

# Seconds allowed for any one call to a storage service or database: connecting, then reading
# the whole answer (each piece of a streamed download), whatever the other side does.
STORAGE_TIMEOUT_SECONDS = env.int("STORAGE_TIMEOUT_SECONDS", default=20)

# Identity-based datastores (no stored credential): the studio reaches their storage with its own
# Azure identity (DefaultAzureCredential: managed identity, workload identity, or AZURE_CLIENT_*).
# Off: the New datastore form does not offer them, and existing ones are refused.
IDENTITY_BASED_DATASTORES = env.bool("IDENTITY_BASED_DATASTORES", default=True)

# Browsers upload and download Blob files straight to and from storage with a SAS for one file
# (when the account's CORS rules let the studio's origin in); off: every byte goes through the studio.
DIRECT_TRANSFERS = env.bool("DIRECT_TRANSFERS", default=True)
# Minutes such a SAS lives: long enough to start a transfer (a block upload asks again per file).
DIRECT_TRANSFER_SAS_MINUTES = env.int("DIRECT_TRANSFER_SAS_MINUTES", default=10)
if not 1 <= DIRECT_TRANSFER_SAS_MINUTES <= 60:
    raise ImproperlyConfigured(
        f"DIRECT_TRANSFER_SAS_MINUTES is {DIRECT_TRANSFER_SAS_MINUTES}: "
        "a SAS handed to a browser lives 1 to 60 minutes."
    )

# The largest file one upload request may carry, in bytes; unset or 0 means no limit.
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=0) or None
# A request that is not signed in may carry a body only to the sign-in form, and at most this much.
ANONYMOUS_BODY_MAX_BYTES = 4096

# Requests that reach a storage service on a user's behalf (register, Update authentication,
# Test connection, Validate now), per signed-in user and per client address (django-ratelimit).
STORAGE_CHECK_RATE_PER_USER = env.str("STORAGE_CHECK_RATE_PER_USER", default="20/m")
STORAGE_CHECK_RATE_PER_ADDRESS = env.str("STORAGE_CHECK_RATE_PER_ADDRESS", default="60/m")
# Behind a proxy that sets X-Forwarded-For, the number of proxies in front of the studio: the
# client address is then that many hops from the right. 0: the address the connection came from.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# The API (/api/v1/ and Azure ML's datastore routes): access tokens and what they may get.
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)  # the longest a personal access token lives
API_ACCESS_TOKEN_MINUTES = env.int("API_ACCESS_TOKEN_MINUTES", default=60)  # managed-identity tokens
API_CREDENTIAL_MAX_MINUTES = env.int("API_CREDENTIAL_MAX_MINUTES", default=60)  # SAS for a script
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/m")  # requests per token (django-ratelimit syntax)
API_REFUSED_RATE_LIMIT = env.str("API_REFUSED_RATE_LIMIT", default="60/m")  # refused bearer tokens per client address
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)  # JSON bodies; file uploads stream
# What Azure ML's SDK addresses: /subscriptions/<id>/resourceGroups/<name>/... Stable defaults
# derived from SECRET_KEY, so each studio has its own and they survive restarts.
STUDIO_SUBSCRIPTION_ID = env.str(
    "STUDIO_SUBSCRIPTION_ID", default=str(uuid.uuid5(uuid.NAMESPACE_URL, "datastore-studio:" + SECRET_KEY))
)
STUDIO_RESOURCE_GROUP = env.str("STUDIO_RESOURCE_GROUP", default="datastore-studio")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_ratelimit",
    "mozilla_django_oidc",
    "accounts",
    "ninja",  # its docs page then loads Swagger UI from the studio's own static files
    "datastores",
    # Before django_tasks_db: its `db_worker` command is jobs' own (the same worker, plus the
    # reaper that picks up jobs whose worker died, and the health-check schedule).
    "jobs",
    "django_tasks_db",
]

# Background jobs (jobs/): Django's tasks framework, kept in the app database by django-tasks-db
# and run by `manage.py db_worker` processes, as many as wanted, on any machine that reaches it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A running job writes its heartbeat this often; one silent for JOB_STALE_SECONDS lost its worker
# (killed, or its machine gone) and is queued again, to resume where it stopped.
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=5)
JOB_STALE_SECONDS = env.int("JOB_STALE_SECONDS", default=30)
# Every workspace's datastores are re-tested by a job this often (minutes); 0: only on "Test all".
HEALTH_CHECK_INTERVAL_MINUTES = env.int("HEALTH_CHECK_INTERVAL_MINUTES", default=0)
# Delete folder offers a background job for a folder with more files than this.
JOB_FOLDER_DELETE_THRESHOLD = env.int("JOB_FOLDER_DELETE_THRESHOLD", default=1000)
# "Download as zip" builds the zip in a job, for the Jobs tab to offer, above this many files or bytes;
# the result is kept JOB_RESULT_HOURS, in the default storage (STORAGES below) under JOB_RESULTS_DIR.
JOB_ZIP_FILE_THRESHOLD = env.int("JOB_ZIP_FILE_THRESHOLD", default=1000)
JOB_ZIP_BYTES_THRESHOLD = env.int("JOB_ZIP_BYTES_THRESHOLD", default=1024**3)
JOB_RESULT_HOURS = env.int("JOB_RESULT_HOURS", default=24)
if (
    JOB_HEARTBEAT_SECONDS < 1
    or JOB_STALE_SECONDS < 2 * JOB_HEARTBEAT_SECONDS
    or HEALTH_CHECK_INTERVAL_MINUTES < 0
    or min(JOB_ZIP_FILE_THRESHOLD, JOB_ZIP_BYTES_THRESHOLD) < 0
    or JOB_RESULT_HOURS < 1
):
    raise ImproperlyConfigured(
        "JOB_HEARTBEAT_SECONDS must be at least 1, JOB_STALE_SECONDS at least twice it, "
        "HEALTH_CHECK_INTERVAL_MINUTES 0 (off) or more, JOB_ZIP_FILE_THRESHOLD and JOB_ZIP_BYTES_THRESHOLD "
        "0 (always a job) or more, and JOB_RESULT_HOURS at least 1."
    )

MIDDLEWARE = [
    # First: the container's probe is answered whatever the Host and the scheme (see studio/health.py).
    "studio.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before any view or CSRF check reads a body: a request that is not signed in carries none.
    "datastores.middleware.AnonymousBodyLimitMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "datastores.audit.RequestIdMiddleware",
    "datastores.api.limits.BodyLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last, so it sees what views raise: a storage error or a refused role answers with its page, never a 500.
    "datastores.errors.ErrorAnswerMiddleware",
]

ROOT_URLCONF = "studio.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "datastores.context_processors.studio",
            ],
        },
    },
]

WSGI_APPLICATION = "studio.wsgi.application"

(BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES = {
    "default": env.db_url_config(_secret("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'studio.sqlite3'}"))
}
# The password can stay out of DATABASE_URL: DATABASE_PASSWORD or DATABASE_PASSWORD_FILE (the
# same secret file PostgreSQL's image reads as POSTGRES_PASSWORD_FILE).
if database_password := _secret("DATABASE_PASSWORD"):
    DATABASES["default"]["PASSWORD"] = database_password
# Each worker thread keeps its connection for a minute, and checks it before reusing it: a
# connection the database (or a failover, or a restart) closed meanwhile is replaced, not an error.
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer fails a request (and the health check) in seconds, not minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Parallel uploads read while a session is written: wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
    # A file, not Django's shared in-memory default: the live test server answers parallel
    # requests in threads, and one shared in-memory connection breaks under them.
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}.test"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sign-in: after AXES_FAILURE_LIMIT failures a username, and separately a client address, waits.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "datastores.limits.sign_in_locked_out"
AXES_CLIENT_IP_CALLABLE = "datastores.access.client_address"
AXES_VERBOSE = False

# django-ratelimit counts in this cache. The default is a table in the studio's database, which
# every worker and every machine shares (studio/cache.py, created by migrate); CACHE_URL may name
# memcached or redis instead. A local-memory cache (locmemcache://) would count in each process alone.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://studio_cache")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    CACHES["default"]["BACKEND"] = "studio.cache.DatabaseCache"  # the same table, with an atomic incr
if CACHES["default"]["BACKEND"] in ("studio.cache.DatabaseCache", "django.core.cache.backends.locmem.LocMemCache"):
    # E003 says Django's own DatabaseCache does not increment atomically (studio/cache.py's does)
    # and that locmem is not shared (a choice, then); W001 names only memcached and redis.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
RATELIMIT_USE_CACHE = "default"

# Sessions live in the database (Django's default, spelled out): any process, on any machine, that
# shares the database and SECRET_KEY knows a session signed in on another.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in. Local accounts: usernames and passwords kept by the studio; LOCAL_ACCOUNTS=false turns
# them off (sessions signed in with a password end too). OIDC: Microsoft Entra ID or any OpenID
# Connect provider, on when OIDC_RP_CLIENT_ID is set (accounts/oidc.py, README "Sign-in with
# Microsoft Entra ID").
LOCAL_ACCOUNTS = env.bool("LOCAL_ACCOUNTS", default=True)
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_CLIENT_SECRET = _secret("OIDC_RP_CLIENT_SECRET")
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = ""  # not called: the claims are the verified ID token's
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid profile email")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="Microsoft")
OIDC_ADMIN_GROUPS = env.list("OIDC_ADMIN_GROUPS", default=[])
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT_SECONDS", default=10)
# Fixed: signed ID tokens, nonce and PKCE always; the ID token is kept for the provider's sign-out.
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_STORE_ID_TOKEN = True
OIDC_CREATE_USER = True
OIDC_OP_LOGOUT_URL_METHOD = "accounts.oidc.provider_logout_url"


def _check_sign_in() -> None:
    if OIDC_ENABLED:
        needed = {
            "OIDC_RP_CLIENT_SECRET": OIDC_RP_CLIENT_SECRET,
            "OIDC_OP_ISSUER": OIDC_OP_ISSUER,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": OIDC_OP_AUTHORIZATION_ENDPOINT,
            "OIDC_OP_TOKEN_ENDPOINT": OIDC_OP_TOKEN_ENDPOINT,
            "OIDC_OP_JWKS_ENDPOINT": OIDC_OP_JWKS_ENDPOINT,
        }
        if missing := [name for name, value in needed.items() if not value]:
            raise ImproperlyConfigured(
                f"OIDC_RP_CLIENT_ID is set, so sign-in with OpenID Connect needs {', '.join(missing)} too."
            )
        urls = {name: value for name, value in needed.items() if name != "OIDC_RP_CLIENT_SECRET"}
        if OIDC_OP_LOGOUT_ENDPOINT:
            urls["OIDC_OP_LOGOUT_ENDPOINT"] = OIDC_OP_LOGOUT_ENDPOINT
        if plain := [name for name, value in urls.items() if not value.startswith("https://")]:
            raise ImproperlyConfigured(
                f"{', '.join(plain)} must be https:// URLs: the client secret and tokens go there."
            )
        if "openid" not in OIDC_RP_SCOPES.split():
            raise ImproperlyConfigured("OIDC_RP_SCOPES must include openid.")
    elif not LOCAL_ACCOUNTS:
        raise ImproperlyConfigured("LOCAL_ACCOUNTS is off and OIDC_RP_CLIENT_ID is not set: nobody could sign in.")


_check_sign_in()
# A session is valid only while the backend that signed it in is listed here.
AUTHENTICATION_BACKENDS = (
    # Password sign-in attempts are counted (django-axes) and locked out first.
    (["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"] if LOCAL_ACCOUNTS else [])
    + (["accounts.oidc.StudioOIDCBackend"] if OIDC_ENABLED else [])
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# The default storage holds what jobs leave for download (zips). Locally a folder under var/; with
# workers on several machines, point it at storage they all share (django-storages, an NFS mount).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
JOB_RESULTS_DIR = env.str("JOB_RESULTS_DIR", default="job-results").strip("/") or "job-results"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploads stream through the server: never buffer a file in memory beyond a chunk.
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
DATA_UPLOAD_MAX_NUMBER_FILES = 10_000


# Content-Security-Policy on every page (Django's own): scripts and styles from the studio's
# static files only, nothing inline.
def provider_origins(*urls: str) -> list[str]:
    """scheme://host[:port] of each URL that is set."""
    from urllib.parse import urlsplit

    return sorted({f"{part.scheme}://{part.netloc}" for part in map(urlsplit, urls) if part.scheme and part.netloc})


SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    # A sign-in or sign-out form's redirect to the OpenID provider is a form action too.
    "form-action": [CSP.SELF, *provider_origins(OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_LOGOUT_ENDPOINT)],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# Debug pages (DEBUG on) hide settings, POST data and every variable of the studio's and the
# client libraries' frames (datastores/debug.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "datastores.debug.StudioExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "datastores.debug.StudioExceptionReporter"

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Only a test run over plain http on 127.0.0.1 turns these off.
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "datastores.logs.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # The Azure SDK logs request headers at DEBUG, and urllib3 logs request URLs (with a SAS in
    # their query) at DEBUG: keep both quiet so nothing sensitive leaks.
    "loggers": {
        # Django's own loggers print once, through this handler rather than also through root.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "azure": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # a line per sign-in otherwise
    },
}

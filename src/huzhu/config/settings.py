"""Django settings for huzhu.

SQLite under ``var/`` by default; PostgreSQL (or any database) via ``DATABASE_URL``.
Debug mode is off unless ``HUZHU_DEBUG=1`` (``make demo`` sets it). Keys come from the
environment or a key file outside ``var/`` (see :mod:`huzhu.config.secrets`).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import xstatic.pkg.bootstrap

from huzhu.config import env
from huzhu.config.secrets import load_secrets
from huzhu.lib.filemodes import private_dir, private_sqlite

BASE_DIR = Path(__file__).resolve().parent.parent  # src/huzhu
VAR_DIR = env.var_dir()
private_dir(VAR_DIR)  # database, uploads and exports: owner only

_secrets = load_secrets(VAR_DIR)
SECRET_KEY = _secrets["DJANGO_SECRET_KEY"]
HUZHU_FIELD_KEY = _secrets["HUZHU_FIELD_KEY"]
HUZHU_INDEX_KEY = _secrets["HUZHU_INDEX_KEY"]

DEBUG = env.debug()
ALLOWED_HOSTS = env.csv_list("HUZHU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # its static files: Swagger UI without a CDN
    "huzhu.lib",
    "huzhu.audit",
    "huzhu.orgs",
    "huzhu.imports",
    "huzhu.members",
    "huzhu.notify",
    "huzhu.coverage",
    "huzhu.claims",
    "huzhu.feeds",
    "huzhu.portal",
    "huzhu.reports",
    "huzhu.web",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from the app, any server
    # Below WhiteNoise: every response but a static file is no-store; HTML pages get the
    # Content-Security-Policy (huzhu.lib.middleware says why and what).
    "huzhu.lib.middleware.NoStoreMiddleware",
    "huzhu.lib.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "huzhu.lib.middleware.SessionLimitsMiddleware",  # a working day idle, 12 hours at most
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a lockout into the Chinese lockout page
]

ROOT_URLCONF = "huzhu.config.urls"
WSGI_APPLICATION = "huzhu.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'huzhu.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server read while the task worker imports.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    private_sqlite(DATABASES["default"]["NAME"])
elif "postgresql" in DATABASES["default"]["ENGINE"]:
    # The app runs short queries (OLTP). PostgreSQL's JIT judged the claims queue's
    # counts costly enough to compile and spent 250–350 ms doing so for queries that
    # run in tens of milliseconds (bench/bench_claims.py): off for the app's sessions.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Passwords are hashed with Django's default, PBKDF2-SHA256 at 1,000,000 iterations
# (Django 5.2): kept on purpose. One check takes 0.21 s of a core on this machine's CPU,
# 0.25–0.34 s wall at a load of 4 on its 2 cores (0.5–0.75 s at 6); it is paid once per
# login (about a fifth to a third of the 1–2.7 s a login takes there, bench/bench_browser.py)
# and it is what makes a stolen user table slow to guess. scrypt, Django's other built-in
# strong hasher, measured 0.6 s: no cheaper at equal strength.
_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("username", "display_name", "first_name", "last_name",
                                     "email")}},
    {"NAME": "huzhu.orgs.passwords.ChineseMinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
    {"NAME": "huzhu.orgs.passwords.LettersAndDigitsValidator"},
]

# Login lockout (django-axes): 5 failures for one username from one address lock that
# pair for 15 minutes; another address, or another user, may still log in. Failures,
# lockouts and logins are in the audit log (huzhu.audit.logins); unlock early with
# ``huzhu manage axes_reset_username NAME``.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair
    "django.contrib.auth.backends.ModelBackend",
    "huzhu.orgs.roles.RoleBackend",  # the role table: user.has_perm("claims.pay")
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=max(1, env.number("HUZHU_LOCKOUT_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "huzhu.orgs.logins.client_ip"
AXES_LOCKOUT_CALLABLE = "huzhu.orgs.logins.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful logins are in the audit log already

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["huzhu.config.formats"]
# The statistics' figures are kept in the database (shared by every server process and
# the housekeeping job that precomputes them when payouts post, huzhu.reports.precompute);
# everything else caches per process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "reports": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "reports_figures_cache",
        "TIMEOUT": 7 * 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": 50_000, "CULL_FREQUENCY": 4},
    },
}

TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # huzhu serve runs collectstatic into it at every start
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing one
STATICFILES_DIRS = [("bootstrap", xstatic.pkg.bootstrap.BASE_DIR)]  # no CDN, no npm
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
# huzhu serve collects the static files at every start and says so to its children
# (HUZHU_STATIC_COLLECTED=1): they link hashed names, which WhiteNoise serves gzipped and
# cached for a year (huzhu.config.static_storage). Every other process (the tests, a
# script, huzhu manage runserver) links plain names, as collected or found in the
# packages: a stale var/static from an earlier start can never be linked.
STATIC_COLLECTED = env.flag("HUZHU_STATIC_COLLECTED")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "huzhu.config.static_storage.HashedStaticStorage"
                    if STATIC_COLLECTED else "whitenoise.storage.CompressedStaticFilesStorage"},
}
# In debug without a collect, straight from the packages; under huzhu serve (debug or
# not) from var/static, where the gzip copies and the hashed names are.
WHITENOISE_USE_FINDERS = DEBUG and not STATIC_COLLECTED
WHITENOISE_AUTOREFRESH = DEBUG and not STATIC_COLLECTED

MEDIA_ROOT = VAR_DIR / "media"  # outside the web root; files are served by views only
UPLOAD_ROOT = VAR_DIR / "uploads"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
HUZHU_IMPORT_MAX_BYTES = int(os.environ.get("HUZHU_IMPORT_MAX_BYTES", 200 * 1024 * 1024))

TASKS = {
    "default": {
        "BACKEND": os.environ.get("HUZHU_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

SESSION_COOKIE_HTTPONLY = True
# A session ends after a working day without use (renewed at most every five minutes by
# huzhu.lib.middleware.SessionLimitsMiddleware, which also ends it 12 hours after signing
# in); Django's default was two weeks.
SESSION_COOKIE_AGE = 8 * 3600
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less header in base.html
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # a member's URL never leaves the site
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_TRUSTED_ORIGINS = env.csv_list("HUZHU_CSRF_TRUSTED_ORIGINS")  # e.g. https://huzhu.example.cn

# HTTPS in production (HUZHU_HTTPS=1): cookies only over TLS, HTTP redirected, and HSTS.
HUZHU_HTTPS = env.flag("HUZHU_HTTPS")
if HUZHU_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env.number("HUZHU_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading is a promise to browsers that is slow to take back: only on request.
    SECURE_HSTS_PRELOAD = env.flag("HUZHU_HSTS_PRELOAD")
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]  # "no preload": a decision, not an oversight
# Behind a reverse proxy that terminates TLS (HUZHU_BEHIND_PROXY=1): believe its
# X-Forwarded-Proto, and take the client address from its X-Forwarded-For. Only when every
# request comes through that proxy: otherwise a client could claim either.
HUZHU_BEHIND_PROXY = env.flag("HUZHU_BEHIND_PROXY")
if HUZHU_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HUZHU_LOG_LEVEL", "WARNING")},
}

# Per user and day: searches by ID number (full or last four), and refusals because a
# number is already registered elsewhere. Past either, the next one is refused and the
# admins are alerted (huzhu.audit.limits).
HUZHU_NUMBER_SEARCHES_PER_DAY = int(os.environ.get("HUZHU_NUMBER_SEARCHES_PER_DAY", 200))
HUZHU_DUPLICATE_REFUSALS_PER_DAY = int(os.environ.get("HUZHU_DUPLICATE_REFUSALS_PER_DAY", 10))

# The notification outbox (huzhu.notify): which gateway sends, where the file gateway
# writes, how often a message is tried, and when a "sending" message counts as stranded.
HUZHU_SMS_GATEWAY = os.environ.get("HUZHU_SMS_GATEWAY", "huzhu.notify.gateways.FileGateway")
HUZHU_OUTBOX_DIR = VAR_DIR / "outbox"
# Where `huzhu demo` writes its settlement feed files (huzhu.demo.feeds).
HUZHU_DEMO_DIR = VAR_DIR / "demo"
HUZHU_SMS_MAX_ATTEMPTS = max(1, env.number("HUZHU_SMS_MAX_ATTEMPTS", 5))
HUZHU_SMS_STUCK_SECONDS = max(60, env.number("HUZHU_SMS_STUCK_SECONDS", 300))

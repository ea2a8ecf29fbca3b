from bench.settings import *  # noqa
import dj_database_url
DATABASES = {"default": dj_database_url.parse("postgres://postgres@127.0.0.1:5432/kw_benchx", conn_max_age=None)}
DATABASES["default"]["ENGINE"] = "config.postgresql"
DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/5"}}

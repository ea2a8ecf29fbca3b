"""Numbers and strings that govern tokens (SPEC 5 and 9)."""

from datetime import timedelta

USER_TOKEN_PREFIX = "kwu_"
AUTOMATION_TOKEN_PREFIX = "kwa_"
RANDOM_LENGTH = 32
CHECKSUM_LENGTH = 6
BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN_PATTERN = r"^kw[ua]_[0-9A-Za-z]{38}$"

# Longest Authorization value worth looking at; anything longer is refused unread.
MAX_CREDENTIAL_LENGTH = 200

MAX_ACTIVE_TOKENS_PER_USER = 100
DEFAULT_EXPIRY = timedelta(days=90)
EXPIRY_CHOICES_DAYS = (30, 60, 90)
MAX_EXPIRY_YEARS = 10
MAX_NAME_LENGTH = 100
MAX_ALLOWED_IPS = 50

# last_used_* is written at most this often per token.
LAST_USED_INTERVAL = timedelta(minutes=1)

# Rolling a secret: the longest the previous secret may keep working (SPEC 11).
MAX_ROLL_GRACE_PERIOD = timedelta(days=7)

# Tokens unused this long are deleted by `delete_stale_tokens`.
STALE_AFTER = timedelta(days=730)

# Failed bearer attempts per client IP before 429.
BEARER_FAILURE_LIMIT = 30
BEARER_FAILURE_WINDOW_SECONDS = 5 * 60

LEGACY_USER_NAME = "Global API Token"

# Leak reports (SPEC 12): at most this many strings per report.
MAX_REPORTED_CREDENTIALS = 1000

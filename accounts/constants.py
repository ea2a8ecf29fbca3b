"""Choices shared by the accounts app and the token rules."""

from datetime import timedelta

from django.db import models


class Plan(models.TextChoices):
    SOLO = "solo", "Solo"
    TEAMS = "teams", "Teams"
    ENTERPRISE = "enterprise", "Enterprise"


class Role(models.TextChoices):
    SUPERUSER = "superuser", "Superuser"
    ENGINEER = "engineer", "Engineer"
    USER = "user", "User"
    BILLING = "billing", "Billing"


class RecordType(models.TextChoices):
    A = "A", "A"
    AAAA = "AAAA", "AAAA"
    CNAME = "CNAME", "CNAME"
    MX = "MX", "MX"
    TXT = "TXT", "TXT"
    NS = "NS", "NS"
    SRV = "SRV", "SRV"
    CAA = "CAA", "CAA"


# Plans whose automation tokens choose scopes and resources (SPEC 4, Plans). On
# the others (Solo) an automation token has `global` on all resources.
PLANS_WITH_SCOPED_AUTOMATION_TOKENS = frozenset({Plan.TEAMS, Plan.ENTERPRISE})


def plan_scopes_automation_tokens(plan: str) -> bool:
    """The Solo-plan rule (SPEC 4, Plans): the one place it is decided.

    The plan page shows it; tokens.permissions.plan_allows_scoped applies it to tokens.
    """
    return plan in PLANS_WITH_SCOPED_AUTOMATION_TOKENS


# Monthly price in US dollars, shown by the billing endpoint.
# Keyed by the plan string (a Plan member is one), as rows and tokens carry it.
PLAN_MONTHLY_PRICE_USD: dict[str, int] = {Plan.SOLO: 10, Plan.TEAMS: 50, Plan.ENTERPRISE: 300}
# What each plan adds to the one before it, in the plan page's words.
PLAN_ADDS: dict[str, tuple[str, ...]] = {
    Plan.SOLO: (
        "Personal tokens with chosen scopes and resources",
        "Automation tokens with the scope global on all resources, capped by their role",
        "Token policies: maximum lifetime, idle time, allowed networks",
    ),
    Plan.TEAMS: ("Automation tokens with chosen scopes, resources and DNS record rules",),
    Plan.ENTERPRISE: (
        "Single sign-on with OpenID Connect: members sign in through your identity provider",
        "Force SSO: the panel and members' personal tokens work in the account only through "
        "its single sign-on",
    ),
}

# Password throttling (sign-in, `POST /api/v1/tokens`, sudo): wrong passwords counted
# over a window per email (sudo: per user) AND client IP, the lockout a person meets;
# per email alone, a looser ceiling that keeps guessing from many addresses bounded
# without letting 5 addresses lock someone out; and per client IP.
SIGN_IN_WINDOW_SECONDS = 15 * 60
SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP = 5
SIGN_IN_MAX_FAILURES_PER_EMAIL = 50
SIGN_IN_MAX_FAILURES_PER_IP = 20

# Sudo mode: the password re-check lasts this long.
SUDO_DURATION = timedelta(minutes=10)
# SPEC 17: how long a sign-in through an account's SSO counts for that account (force SSO,
# and authorizing a token for it).
SSO_SESSION_MAX_AGE = timedelta(hours=24)

# Sudo mode's 10 minutes include the time to come back from it: a form kept across the
# sudo page (accounts.sudo) waits this long, and is carried out within a minute of the
# confirmation.
SUDO_KEPT_FORM_MAX_AGE = timedelta(minutes=15)
SUDO_KEPT_FORM_READY_SECONDS = 60


class AuthMethod(models.TextChoices):
    """How a person proved who they are (sign-in and sudo events, SPEC 16).

    The labels complete "with a …": "signed in with a password and a passkey".
    """

    PASSWORD = "password", "password"
    TOTP = "totp", "authenticator app"
    RECOVERY_CODE = "recovery_code", "recovery code"
    PASSKEY = "passkey", "passkey"
    SSO = "sso", "identity provider (single sign-on)"


# The number of recovery codes a person gets at a time (allauth's MFA_RECOVERY_CODE_COUNT).
RECOVERY_CODE_COUNT = 10

"""Writes and checks about identity: signing in, with throttling."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import HttpRequest

from accounts.constants import (
    SIGN_IN_MAX_FAILURES_PER_EMAIL,
    SIGN_IN_MAX_FAILURES_PER_IP,
    SIGN_IN_WINDOW_SECONDS,
)
from accounts.http import client_ip
from accounts.models import User
from accounts.ratelimit import Limit, minutes_text

SIGN_IN_PER_EMAIL = Limit("sign-in-email", SIGN_IN_MAX_FAILURES_PER_EMAIL, SIGN_IN_WINDOW_SECONDS)
SIGN_IN_PER_IP = Limit("sign-in-ip", SIGN_IN_MAX_FAILURES_PER_IP, SIGN_IN_WINDOW_SECONDS)


class CredentialsRejected(Exception):
    """Sign-in refused; the message is safe to show (it never says which part was wrong)."""


class Throttled(CredentialsRejected):
    """Too many recent failures: the caller must wait `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"Too many attempts. Try again in {minutes_text(retry_after)}.")


def credentials_check(*, request: HttpRequest, email: str, password: str) -> User:
    """The active user with this email and password, or CredentialsRejected.

    Failures are counted per email and per client IP; once either limit is hit
    the password is not even checked until the window closes.
    """
    email_key, ip_key = email.strip().lower(), client_ip(request)
    wait = max(
        SIGN_IN_PER_EMAIL.retry_after(email_key) or 0, SIGN_IN_PER_IP.retry_after(ip_key) or 0
    )
    if wait:
        raise Throttled(wait)
    user = authenticate(request, email=email_key, password=password)
    if user is None or user.is_synthetic:
        SIGN_IN_PER_EMAIL.record_failure(email_key)
        SIGN_IN_PER_IP.record_failure(ip_key)
        raise CredentialsRejected("That email and password do not match an account.")
    SIGN_IN_PER_EMAIL.reset(email_key)
    return user

"""Which accounts' SSO this session came through, and when (SPEC 17).

A sign-in through an account's identity provider is noted in the session for that
account and that person; it counts for SSO_SESSION_MAX_AGE (24 hours): force SSO lets
the session into the account, and the person may authorize tokens for it.
"""

from __future__ import annotations

import time

from django.http import HttpRequest

from accounts.constants import SSO_SESSION_MAX_AGE

SSO_SESSION_KEY = "sso_sign_ins"


def sso_session_mark(request: HttpRequest, *, account_id: int, user_id: int) -> None:
    """This session just came through `account_id`'s SSO as `user_id`."""
    marks = request.session.get(SSO_SESSION_KEY)
    marks = dict(marks) if isinstance(marks, dict) else {}
    marks[str(account_id)] = {"user": user_id, "at": time.time()}
    request.session[SSO_SESSION_KEY] = marks


def sso_session_valid(request: HttpRequest, account_id: int) -> bool:
    """The signed-in person came through `account_id`'s SSO in this session, recently enough."""
    marks = request.session.get(SSO_SESSION_KEY)
    if not isinstance(marks, dict) or not request.user.is_authenticated:
        return False
    mark = marks.get(str(account_id))
    if not isinstance(mark, dict) or mark.get("user") != request.user.pk:
        return False
    at = mark.get("at")
    age = SSO_SESSION_MAX_AGE.total_seconds()
    return isinstance(at, int | float) and 0 <= time.time() - at < age


def sso_session_accounts(request: HttpRequest) -> set[int]:
    """The ids of the accounts whose SSO this session validly came through."""
    marks = request.session.get(SSO_SESSION_KEY)
    if not isinstance(marks, dict):
        return set()
    return {int(key) for key in marks if key.isdigit() and sso_session_valid(request, int(key))}

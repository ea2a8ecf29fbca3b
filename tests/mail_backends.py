"""Email backends that misbehave as real mail servers do, for the queue's tests."""

from __future__ import annotations

import threading
import time

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.console import EmailBackend as ConsoleBackend


class DownOnceBackend(BaseEmailBackend):
    """The mail server refuses the first attempt, then delivers (to `mail.outbox`)."""

    attempts = 0
    _lock = threading.Lock()

    def send_messages(self, email_messages):
        with DownOnceBackend._lock:
            DownOnceBackend.attempts += 1
            first = DownOnceBackend.attempts == 1
        if first:
            raise ConnectionRefusedError("the mail server is down")
        mail.outbox.extend(email_messages)
        return len(email_messages)


class SlowConsoleBackend(ConsoleBackend):
    """The console backend behind a slow mail server: each send takes two seconds."""

    def send_messages(self, email_messages):
        time.sleep(2)
        return super().send_messages(email_messages)

"""Removals (SPEC 6): a member's user token cut off from one account by its superuser.

- `models`: TokenRemoval.
"""

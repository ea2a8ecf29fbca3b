"""Members of an account: changing a member's role and removing a member (logged)."""

from __future__ import annotations

from django.db import transaction

from accounts.constants import Role
from accounts.models import Membership
from accounts.roles import manages_account
from tokens.events import Actor, event_record
from tokens.models import EventKind


class MembershipChangeRefused(Exception):
    """A role change or removal that would break a rule; the message is safe to show."""


def _lock_managers(account_id: int) -> list[int]:
    """Lock the account's memberships and return the ids of those a human manages it with.

    The synthetic owner of legacy keys is a superuser member but cannot sign in,
    so it never counts as the superuser who keeps an account manageable.
    """
    rows = list(
        Membership.objects.select_for_update(of=("self",))
        .filter(account_id=account_id)
        .order_by("pk")
        .values_list("pk", "role", "user__is_synthetic")
    )
    return [pk for pk, role, synthetic in rows if manages_account(role) and not synthetic]


@transaction.atomic
def membership_change_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    """Give a member another role in the account and log it.

    The member's user tokens follow on their next API request (bearer
    authentication reads the current role). The last superuser of an account
    cannot be demoted: someone must be able to manage it.
    """
    if role not in Role.values:
        raise MembershipChangeRefused("Choose superuser, engineer, user or billing.")
    managers = _lock_managers(membership.account_id)
    membership = Membership.objects.select_related("user", "account").get(pk=membership.pk)
    before = membership.role
    if before == role:
        return membership
    if manages_account(before) and not manages_account(role) and managers == [membership.pk]:
        raise MembershipChangeRefused(
            f"{membership.user.email} is the only superuser of {membership.account.name}. "
            "Make another member a superuser first."
        )
    membership.role = role
    membership.save(update_fields=["role"])
    event_record(
        kind=EventKind.ROLE_CHANGED,
        actor=actor,
        account=membership.account,
        summary=f"{actor.label or 'Someone'} changed the role of {membership.user.email} "
        f"from {Role(before).label.lower()} to {Role(role).label.lower()}",
        details={
            "member": membership.user.email,
            "before": {"role": before},
            "after": {"role": role},
        },
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor, membership: Membership) -> None:
    """Remove a member from the account and log it.

    Their user tokens stop acting in this account on the next request (they
    keep working in the member's other accounts). The last superuser cannot be removed.
    """
    managers = _lock_managers(membership.account_id)
    membership = Membership.objects.select_related("user", "account").get(pk=membership.pk)
    if manages_account(membership.role) and managers == [membership.pk]:
        raise MembershipChangeRefused(
            f"{membership.user.email} is the only superuser of {membership.account.name}. "
            "Make another member a superuser first."
        )
    membership.delete()
    event_record(
        kind=EventKind.MEMBER_REMOVED,
        actor=actor,
        account=membership.account,
        summary=f"{actor.label or 'Someone'} removed {membership.user.email} "
        f"({Role(membership.role).label.lower()}) from {membership.account.name}",
        details={"member": membership.user.email, "before": {"role": membership.role}},
    )

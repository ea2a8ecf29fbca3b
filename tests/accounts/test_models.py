import pytest
from django.db import IntegrityError, transaction

from accounts.constants import plan_scopes_automation_tokens
from accounts.models import Account, Membership, User
from tests.factories import (
    AccountFactory,
    DomainFactory,
    MembershipFactory,
    RecordFactory,
    ServiceFactory,
    UserFactory,
    ZoneFactory,
)

pytestmark = pytest.mark.django_db


def test_user_signs_in_by_email_with_argon2(password):
    user = UserFactory(email="Mixed@Example.ORG")
    assert user.email == "mixed@example.org"
    assert user.password.startswith("argon2")
    assert User.objects.get_by_natural_key("MIXED@example.org") == user


def test_user_email_is_unique_ignoring_case():
    UserFactory(email="a@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="A@example.org")


def test_membership_is_unique_per_user_and_account():
    membership = MembershipFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=membership.user, account=membership.account, role="user")


def test_membership_role_must_be_a_known_role():
    membership = MembershipFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(role="admin")


def test_account_plan_must_be_a_known_plan():
    account = AccountFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(plan="free")


@pytest.mark.parametrize("factory", [ZoneFactory, DomainFactory, ServiceFactory])
def test_resource_names_are_unique_per_account(factory):
    first = factory()
    factory(name=first.name)  # same name in another account is fine
    with pytest.raises(IntegrityError), transaction.atomic():
        factory(name=first.name, account=first.account)


def test_record_ttl_is_bounded():
    with pytest.raises(IntegrityError), transaction.atomic():
        RecordFactory(ttl=5)


def test_solo_plan_does_not_scope_automation_tokens():
    assert not plan_scopes_automation_tokens(AccountFactory(plan="solo").plan)
    assert plan_scopes_automation_tokens(AccountFactory(plan="teams").plan)
    assert plan_scopes_automation_tokens(AccountFactory(plan="enterprise").plan)

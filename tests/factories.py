"""factory-boy factories for every model."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.constants import Plan, RecordType, Role
from accounts.models import (
    Account,
    Certificate,
    Domain,
    Membership,
    Purge,
    Record,
    Service,
    User,
    Zone,
)

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save(update_fields=["password"])


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    slug = factory.Sequence(lambda n: f"account-{n}")
    plan = Plan.TEAMS


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory)
    role = Role.ENGINEER


class ZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Zone

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"zone{n}.example")


class RecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Record

    zone = factory.SubFactory(ZoneFactory)
    type = RecordType.A
    name = factory.Sequence(lambda n: f"host{n}")
    content = "203.0.113.1"


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"domain{n}.example")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=200))


class CertificateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Certificate

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"www.cert{n}.example")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=60))


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    hostname = factory.Sequence(lambda n: f"www.service{n}.example")
    origin = factory.Sequence(lambda n: f"origin.service{n}.example")


class PurgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Purge

    service = factory.SubFactory(ServiceFactory)
    kind = Purge.Kind.URL
    value = "https://www.example.org/index.html"


# --------------------------------------------------------------------------- tokens (governance)


def issue_user_token(owner: User, name: str = "Test token", **kwargs):
    """A user token issued through the real service; returns CreatedToken (token, secret)."""
    from tokens.events import Actor
    from tokens.services.issue import token_create

    return token_create(
        actor=Actor.person(owner), token_type="user", owner=owner, name=name, **kwargs
    )


def issue_automation_token(
    account: Account, name: str = "CI token", creator: User | None = None, **kwargs
):
    """An automation token of `account` (created by `creator`, a superuser, or the system)."""
    from tokens.events import Actor
    from tokens.services.issue import token_create

    actor = Actor.person(creator) if creator else Actor.system("tests")
    return token_create(actor=actor, token_type="automation", account=account, name=name, **kwargs)

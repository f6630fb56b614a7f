"""factory-boy factories for the tenancy models; apps add theirs beside their tests."""

from __future__ import annotations

import uuid

import factory

from analytics_api.models import Account, ApiClient, Bot, Scope


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    account_id = factory.Sequence(lambda n: f"{n:024x}")
    org_id = factory.LazyFunction(lambda: f"o-{uuid.uuid4()}")
    name = factory.Sequence(lambda n: f"Account {n}")


class BotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bot

    account = factory.SubFactory(AccountFactory)
    bot_id = factory.LazyFunction(lambda: f"st-{uuid.uuid4()}")
    name = factory.Sequence(lambda n: f"Bot {n}")


class ApiClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiClient

    account = factory.SubFactory(AccountFactory)
    name = "test client"
    scopes = factory.LazyFunction(lambda: list(Scope.values))

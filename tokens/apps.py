from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Tokens and events"

    def ready(self) -> None:
        from tokens.webhooks import checks  # noqa: F401  (registers keyward.W002)

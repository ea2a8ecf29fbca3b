from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and resources"

    def ready(self) -> None:
        from accounts import checks  # noqa: F401  (registers the deploy checks)

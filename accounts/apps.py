from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-in: API tokens (issue, expiry, revocation), the lockout, WebSocket authentication."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Token revocation on a password change or a deactivation is a signal receiver: connect
        # it in every process (web, worker, shell), not only in one that imported the API.
        from . import authentication  # noqa: F401

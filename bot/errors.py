"""The one exception hierarchy: every expected failure is a BotError with a one-line message."""


class BotError(Exception):
    """An expected failure the CLI reports as one line, without a traceback."""


class ModelFileError(BotError):
    """A model file is missing, unreadable or inconsistent with the others."""


class CorpusError(BotError):
    """Training titles are missing, empty or unusable."""


class ConfigError(BotError):
    """A setting is missing or has a bad value."""


class TrainingError(BotError):
    """Training could not start or continue (missing training extras, bad options)."""


class PanelError(BotError):
    """A blind panel's files or options are missing or malformed (bot panel ...)."""


class StateError(BotError):
    """The state database cannot be opened, read or migrated."""


class NoStateYetError(StateError):
    """A read-only command found no state: the SQLite file or the tables do not exist yet (the
    worker creates them at its first start)."""


class SchemaVersionError(StateError):
    """The database's schema is older than this bot reads (the worker upgrades it at its next
    start) or newer than it knows (upgrade the bot)."""


class DatabaseLostError(StateError):
    """The database connection was lost and not restored in time (or another worker took over
    meanwhile): the worker exits non-zero so that its supervisor restarts it."""


class ApprovalError(BotError):
    """`bot queue` cannot act: no slot waits for an answer, no such candidate, the slot was
    decided already or is over, or the filters refuse an edit."""


class RegistrationError(BotError):
    """The server would not register the app or exchange the authorization code."""


class ServerError(BotError):
    """Talking to the Mastodon server failed."""


class TemporaryServerError(ServerError):
    """The server may accept the same request later: network errors, timeouts, 5xx, 429."""

    def __init__(self, message: str, retry_at: float | None = None):
        super().__init__(message)
        self.retry_at = retry_at  # epoch seconds the server asked us to wait until (429), if any


class AuthError(ServerError):
    """The server refuses our credentials (401/403): retrying cannot help."""


class RejectedError(ServerError):
    """The server refuses this status (422 and other 4xx): another text may pass."""


class NotReadableError(ServerError):
    """The server will not show us one status or thread (401, 403, 404 or 410 on reading it: hidden,
    deleted, or its author blocks us). Not a refused token: only the credentials check and a
    refused post stop the worker."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status the server answered


class MissingScopeError(ServerError):
    """The access token works but lacks a scope a feature needs (403 on that call only)."""

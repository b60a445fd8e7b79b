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


class MastodonTemporaryError(BotError):
    """The server may accept the same request later: network errors, timeouts, 5xx, 429."""


class MastodonPermanentError(BotError):
    """Retrying cannot help: bad credentials (401/403) or a rejected status (422)."""

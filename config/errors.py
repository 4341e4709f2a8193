"""The named things that can go wrong, shared by every layer.

The command line turns any :class:`HankintavahtiError` into one line that says what
happened and what to do; anything else reaching the user as a traceback is a bug.
This module sits in ``config`` because every other package already depends on it.
"""


class HankintavahtiError(Exception):
    """Base class: ``str(error)`` is the one line shown to the user."""


class ConfigurationError(HankintavahtiError):
    """A setting is missing or has a value the service cannot use."""


class SourceError(HankintavahtiError):
    """A source (HILMA, TED) refused us or could not be reached."""


class PayloadError(HankintavahtiError):
    """A payload could not be read as a notice (broken JSON/XML, unknown format)."""


class InputError(HankintavahtiError):
    """The user gave the command something it cannot use (bad date, missing file)."""

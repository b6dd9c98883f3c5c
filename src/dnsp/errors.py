"""Exceptions that carry a message meant for the user.

The command line prints a :class:`DnspError` as one line on stderr and exits non-zero; any
other exception is a bug and is reported as an internal error (traceback with ``--debug``).
"""


class DnspError(Exception):
    """An error caused by the user's input or environment, with a one-line explanation."""


class InputError(DnspError, ValueError):
    """A file, folder or argument that cannot be used (missing, corrupt, wrong shape, ...)."""


class Interrupted(DnspError):
    """Work stopped by the user (Ctrl-C) after saving what is needed to resume (exit 130)."""

    exit_code = 130

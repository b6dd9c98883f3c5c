"""The package's messages: library modules log them, the command line shows them.

Library code never prints: it writes progress and warnings to the ``dnsp`` logger hierarchy
(``logging.getLogger(__name__)`` in each module). :func:`show_messages`, called by the command
line (and by worker processes it starts), sends them to standard error as plain lines. Used as
a library, dnsp stays quiet except for warnings (Python's last-resort handler shows those).
"""

from __future__ import annotations

import logging
import sys

__all__ = ["LOGGER_NAME", "show_messages"]

#: Root of the package's loggers.
LOGGER_NAME = "dnsp"


class _StandardError(logging.Handler):
    """Plain lines on the current ``sys.stderr`` (looked up at each record, so that a
    replaced stream, e.g. pytest's capture, receives them)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def show_messages(level: int = logging.INFO) -> None:
    """Show the package's messages of ``level`` and above on standard error (idempotent)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    logger.propagate = False
    if not any(isinstance(h, _StandardError) for h in logger.handlers):
        handler = _StandardError()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)

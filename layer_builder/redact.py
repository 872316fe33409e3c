"""Mask the credentials in URLs before they reach a log line or an error message.

A private index URL such as ``https://user:token@host/simple`` carries its
credentials in the userinfo part. pip 26 masks the password with ``****`` but
prints the user name. Some indexes take the token as the user name, so here
the whole userinfo becomes ``****``.
"""

from __future__ import annotations

import logging
import re

MASK = "****"

# scheme://userinfo@host: the userinfo runs to the last "@" before the first "/",
# whitespace or quote, which is where urllib splits it off too.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s'\"]+@")


def redact_url(text: str) -> str:
    """Replace the userinfo of every URL in ``text`` with ``****``."""
    return _USERINFO.sub(rf"\g<scheme>{MASK}@", text)


class RedactingFormatter(logging.Formatter):
    """A formatter that masks URL credentials in every formatted record, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_url(super().format(record))

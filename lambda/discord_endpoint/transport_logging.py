"""Caps the HTTP libraries' loggers at WARNING, so that request lines stay out of the log.

At DEBUG, urllib3 logs each request line, and the PATCH that edits a deferred
response has the interaction token in its path. botocore logs each request's
parameters, and the self-invocation's payload carries the signed body that
contains the token. The token authorises that edit for 15 minutes.

Raising the level of these named loggers (instead of filtering records) works
whatever level the root logger or AWS_LAMBDA_LOG_LEVEL sets, because a logger
with its own level ignores its ancestors' levels. Their warnings and errors
still reach the log, and none of those contain a request line or body.
"""

from __future__ import annotations

import logging

# The loggers named after the packages that send the function's requests. Their
# child loggers (urllib3.connectionpool, botocore.endpoint, ...) keep no level
# of their own, so they inherit the cap.
TRANSPORT_LOGGERS = ("urllib3", "botocore", "boto3")


def cap_transport_loggers() -> None:
    """Set each transport logger's level to WARNING, or leave a stricter level as it is.

    NOTE: code that sets one of these loggers, or a child such as
    `botocore.endpoint`, back to DEBUG after this call logs the token again.
    """
    for name in TRANSPORT_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, logging.WARNING))

"""Ed25519 verification of Discord's request signature.

Discord signs `X-Signature-Timestamp + raw body` with the application's key.
The message is checked over the exact bytes received: re-serialising the JSON
changes escapes, key order and number formats, so real payloads would fail.
"""

from __future__ import annotations

import binascii

import nacl.exceptions
from nacl.signing import VerifyKey

SIGNATURE_BYTES = 64


class SignatureError(Exception):
    """The request's signature or timestamp was rejected, for the reason in the message."""


class SignatureVerifier:
    """Checks request signatures against one public key and a timestamp window.

    The `VerifyKey` is built once, at Lambda init, and reused for every request.
    """

    def __init__(self, public_key: bytes, max_skew_seconds: int) -> None:
        self._verify_key = VerifyKey(public_key)
        self._max_skew_seconds = max_skew_seconds

    def verify(self, signature: str, timestamp: str, body: bytes, now: float) -> None:
        """Raise `SignatureError` unless `signature` signs `timestamp + body`.

        `signature` is the hex `X-Signature-Ed25519` header and `timestamp` the
        `X-Signature-Timestamp` header, in Unix seconds. A timestamp further
        than the allowed skew from `now` is rejected, so a captured request
        cannot be replayed later.
        """
        signature_bytes = _decode_signature(signature)

        # The length bound keeps int() far from its digit limit on hostile input.
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise SignatureError("X-Signature-Timestamp is not a Unix time in whole seconds")

        # Whole seconds on both sides, like the header, so the skew in the
        # message is exactly the one compared with the maximum.
        skew = abs(int(now) - int(timestamp))
        if skew > self._max_skew_seconds:
            raise SignatureError(
                f"X-Signature-Timestamp is {skew} s from the current time "
                f"(the maximum is {self._max_skew_seconds} s)"
            )

        try:
            self._verify_key.verify(timestamp.encode("ascii") + body, signature_bytes)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError) as error:
            raise SignatureError("X-Signature-Ed25519 does not match the request") from error


def _decode_signature(signature: str) -> bytes:
    # unhexlify, unlike bytes.fromhex, rejects embedded whitespace.
    if len(signature) != SIGNATURE_BYTES * 2:
        raise SignatureError(
            f"X-Signature-Ed25519 must be {SIGNATURE_BYTES * 2} hexadecimal characters, "
            f"got {len(signature)}"
        )
    try:
        return binascii.unhexlify(signature)
    except ValueError as error:  # binascii.Error is a ValueError subclass
        raise SignatureError("X-Signature-Ed25519 is not hexadecimal") from error

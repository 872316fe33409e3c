"""HTTP server that turns each request into a Function URL invocation.

A failed invocation becomes a 502 whose JSON body carries the Lambda error
type and message, and the server keeps serving.
NOTE: a real Function URL responds to a failed invocation with a bare 502
"Internal Server Error" and writes the error only to CloudWatch Logs.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .events import (
    HttpRequest,
    HttpResponse,
    InvalidResponseError,
    request_to_event,
    result_to_response,
)
from .process import FunctionError, LocalFunction

log = logging.getLogger(__name__)

# Lambda's synchronous invocation payload limit: 6 MB for the request and for
# the response (AWS Lambda Developer Guide, "Lambda quotas").
MAX_BODY_BYTES = 6 * 1024 * 1024


class FunctionUrlServer(ThreadingHTTPServer):
    """Serve one LocalFunction at http://HOST:PORT/."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], function: LocalFunction) -> None:
        super().__init__(address, FunctionUrlHandler)
        self.function = function
        # A Function URL id is 32 lower-case characters; this one is derived
        # from the function name so that it is stable across restarts.
        self.api_id = uuid.uuid5(uuid.NAMESPACE_URL, function.deployment.function_arn).hex

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class FunctionUrlHandler(BaseHTTPRequestHandler):
    """Convert one HTTP request into an invocation and the outcome back into HTTP."""

    server: FunctionUrlServer
    protocol_version = "HTTP/1.1"

    def do_request(self) -> None:
        started = time.monotonic()
        request_id = str(uuid.uuid4())

        body, problem = self._read_body()
        if problem is not None:
            # The body was not read, so the connection cannot carry another request.
            self.close_connection = True
            self._send(problem)
            self._log_outcome(request_id, problem.status, started)
            return

        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            server_port=self.server.server_address[1],
        )
        event = request_to_event(request, api_id=self.server.api_id, request_id=request_id)
        outcome = self.server.function.invoke(event, request_id)
        response = self._to_response(outcome, request_id)

        self._send(response)
        self._log_outcome(request_id, response.status, started)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_request

    def _read_body(self) -> tuple[bytes, HttpResponse | None]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # NOTE: http.server does not decode chunked bodies, so they are rejected.
            return b"", _plain_error(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length header")
        length_header = self.headers.get("Content-Length", "0")
        try:
            length = int(length_header)
        except ValueError:
            return b"", _plain_error(
                HTTPStatus.BAD_REQUEST, f"invalid Content-Length {length_header!r}"
            )
        if length < 0:
            return b"", _plain_error(
                HTTPStatus.BAD_REQUEST, f"invalid Content-Length {length_header!r}"
            )
        if length > MAX_BODY_BYTES:
            return b"", _plain_error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body of {length} bytes exceeds Lambda's {MAX_BODY_BYTES}-byte limit",
            )
        return self.rfile.read(length), None

    def _to_response(self, outcome: object, request_id: str) -> HttpResponse:
        if isinstance(outcome, FunctionError):
            log.error("request %s failed: %s: %s", request_id, outcome.error_type, outcome.message)
            return _function_error_response(outcome)
        try:
            response = result_to_response(outcome)
        except InvalidResponseError as error:
            log.error("request %s: invalid function response: %s", request_id, error)
            return _function_error_response(
                FunctionError("Runtime.InvalidResponse", f"invalid function response: {error}")
            )
        if len(response.body) > MAX_BODY_BYTES:
            log.error(
                "request %s: response of %s bytes is too large", request_id, len(response.body)
            )
            return _function_error_response(
                FunctionError(
                    "Function.ResponseSizeTooLarge",
                    f"response of {len(response.body)} bytes exceeds {MAX_BODY_BYTES} bytes",
                )
            )
        return response

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _log_outcome(self, request_id: str, status: int, started: float) -> None:
        # Method, path and status only: bodies and headers carry interaction tokens.
        elapsed_ms = (time.monotonic() - started) * 1000
        log.info(
            "%s %s -> %s in %.0f ms (request %s)",
            self.command,
            self.path.partition("?")[0],
            status,
            elapsed_ms,
            request_id,
        )

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip http.server's access log: `_log_outcome` writes one without the query."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        """Route http.server's own messages (bad request lines) to logging."""
        log.warning("%s: %s", self.address_string(), format % args)


def _function_error_response(error: FunctionError) -> HttpResponse:
    body = json.dumps(error.to_payload()).encode("utf-8")
    headers = [("Content-Type", "application/json"), ("X-Amzn-ErrorType", error.error_type)]
    return HttpResponse(HTTPStatus.BAD_GATEWAY, headers, body)


def _plain_error(status: HTTPStatus, message: str) -> HttpResponse:
    body = json.dumps({"Message": message}).encode("utf-8")
    return HttpResponse(status, [("Content-Type", "application/json")], body)

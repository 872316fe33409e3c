"""Property tests: no event makes the handler raise or respond outside 200/400/401/405.

Random events rarely get past the method and header checks. So the signed
strategies start from a complete POST event in one of the three payload
formats, with both signature headers, and replace some of its fields with
arbitrary JSON values. That way every check in the event view and the
verifier receives hostile input behind the ones before it.
"""

from __future__ import annotations

import json

from discord_endpoint.endpoint import _parse_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ALLOWED_STATUSES = {200, 400, 401, 405}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

# Interaction-like payloads reach routing: real type numbers, command names
# and custom_ids mixed with wrong types.
interaction_types = st.sampled_from([1, 2, 3, 4, 5, 0, 6, -1, 2**70]) | json_values
options = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["text", "name"]) | json_values},
        optional={
            "value": json_values,
            "focused": st.booleans() | json_values,
            "options": json_values,
        },
    ),
    max_size=3,
)
data = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["ping", "echo", "nope"]) | json_values,
        "custom_id": st.text(max_size=10) | json_values,
        "options": options | json_values,
    },
)
payloads = st.fixed_dictionaries(
    {"type": interaction_types},
    optional={"data": data | json_values, "id": json_values, "token": json_values},
)
bodies = (
    payloads.map(lambda payload: json.dumps(payload).encode())
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=64)
)

headers = st.dictionaries(
    st.sampled_from(["x-signature-ed25519", "X-Signature-Timestamp", "content-type"])
    | st.text(max_size=8),
    st.text(max_size=140) | json_values,
    max_size=4,
)
raw_events = json_values | st.fixed_dictionaries(
    {},
    optional={
        "httpMethod": st.sampled_from(["POST", "GET", "post"]) | json_values,
        "requestContext": st.fixed_dictionaries(
            {"http": st.fixed_dictionaries({"method": st.sampled_from(["POST"]) | json_values})}
        )
        | json_values,
        "headers": headers | json_values,
        "multiValueHeaders": st.dictionaries(st.text(max_size=8), st.lists(st.text()))
        | json_values,
        "body": st.text(max_size=64) | json_values,
        "isBase64Encoded": st.booleans() | json_values,
    },
)


# The signature header: valid for the message sent, a well-formed signature of
# something else, or arbitrary text.
SIGNATURE_KINDS = ("valid", "other", "text")

# Timestamps that int() reads or rejects differently from isdigit().
TIMESTAMPS = ["", "0", "1e3", "1.5", " 1", "-5", "\u0661\u0662", "9" * 13]

# Fields of a signed event that `signed_events` may replace, with the values
# to try. "method" is `httpMethod` in payload format 1.0 and
# `requestContext.http.method` in 2.0. At most two fields are replaced, so the
# checks after the first broken one are reached too.
REPLACEMENT_VALUES = {
    "body": json_values,
    "headers": headers | json_values,
    "multiValueHeaders": json_values,
    "isBase64Encoded": json_values,
    "requestContext": json_values,
    "method": st.sampled_from(["POST", "post", "GET"]) | json_values,
    "x-signature-ed25519": st.text(max_size=140) | json_values,
    "x-signature-timestamp": st.sampled_from(TIMESTAMPS) | st.text(max_size=14) | json_values,
}
replacements = st.lists(
    st.one_of([st.tuples(st.just(field), values) for field, values in REPLACEMENT_VALUES.items()]),
    max_size=2,
).map(dict)
signed_events = st.fixed_dictionaries(
    {
        "body": bodies,
        "base64_body": st.booleans(),
        "payload_format": st.sampled_from(["function_url", "http_api", "rest_api"]),
        "signature": st.sampled_from(SIGNATURE_KINDS),
        "replace": replacements,
    }
)

PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def build_signed_event(sign_event, case: dict) -> dict:
    """Return the event that `case`, drawn from `signed_events`, describes."""
    body = case["body"]
    base64_body = case["base64_body"]
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        base64_body = True  # only a base64 body can carry bytes that are not UTF-8

    signature = None
    if case["signature"] == "other":
        signature = "ab" * 64
    elif case["signature"] == "text":
        signature = "not hex"
    event = sign_event(
        body,
        base64_body=base64_body,
        payload_format=case["payload_format"],
        signature=signature,
    )

    replace = dict(case["replace"])
    if "method" in replace:  # before requestContext may be replaced
        method = replace.pop("method")
        if case["payload_format"] == "rest_api":
            event["httpMethod"] = method
        else:
            event["requestContext"]["http"]["method"] = method

    for field, value in replace.items():
        if field.startswith("x-signature-"):
            set_header(event, field, value)
        else:
            event[field] = value
    return event


def set_header(event: dict, name: str, value: object) -> None:
    """Replace header `name` in every header map of `event` that still is a dict."""
    for field in ("headers", "multiValueHeaders"):
        headers = event.get(field)
        if isinstance(headers, dict):
            headers[name] = [value] if field == "multiValueHeaders" else value


def check_response(response: dict) -> None:
    assert response["statusCode"] in ALLOWED_STATUSES
    assert response["headers"]["Content-Type"] == "application/json"
    assert isinstance(json.loads(response["body"]), dict)


@PROPERTY_SETTINGS
@given(event=raw_events)
def test_arbitrary_event_allowed_status(handler_module, event):
    check_response(handler_module.lambda_handler(event, None))


@PROPERTY_SETTINGS
@given(
    body=bodies,
    base64_body=st.booleans(),
    payload_format=st.sampled_from(["function_url", "http_api", "rest_api"]),
)
def test_signed_arbitrary_body_allowed_status(
    handler_module, sign_event, body, base64_body, payload_format
):
    # A body that is not UTF-8 can only arrive base64-encoded.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        base64_body = True
    event = sign_event(body, base64_body=base64_body, payload_format=payload_format)

    response = handler_module.lambda_handler(event, None)

    check_response(response)
    assert response["statusCode"] != 401


@PROPERTY_SETTINGS
@given(case=signed_events)
def test_signed_event_with_replaced_fields(handler_module, sign_event, case):
    event = build_signed_event(sign_event, case)

    response = handler_module.lambda_handler(event, None)

    check_response(response)
    if case["signature"] != "valid":
        assert response["statusCode"] != 200


def loads_outcome(parse, text: str) -> tuple[str, object]:
    """Return ("value", result) or ("error", None) for `parse(text)`."""
    try:
        return "value", parse(text)
    except ValueError:
        return "error", None


json_texts = (
    st.tuples(
        st.sampled_from(["", " ", "\n\t", "\ufeff", "x"]),
        json_values.map(lambda value: json.dumps(value, separators=(",", ":"))),
        st.sampled_from(["", " ", "\r\n", "x", "}", "{}", "1"]),
    ).map("".join)
    | st.text(alphabet='{}[]":,0123456789.eE+-tfnul \\', max_size=30)
    | st.text(max_size=30)
)


@settings(max_examples=1000, deadline=None)
@given(text=json_texts)
def test_parse_json_agrees_with_json_loads(text):
    # The endpoint's fast path for compact bodies must accept and reject
    # exactly what json.loads does. NaN is compared by its text form.
    expected = loads_outcome(json.loads, text)
    actual = loads_outcome(_parse_json, text)

    assert actual[0] == expected[0]
    assert repr(actual[1]) == repr(expected[1])

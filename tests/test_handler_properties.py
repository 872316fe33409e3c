"""Property test: no event makes the handler raise or respond outside 200/400/401/405."""

from __future__ import annotations

import json

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


def check_response(response: dict) -> None:
    assert response["statusCode"] in ALLOWED_STATUSES
    assert response["headers"]["Content-Type"] == "application/json"
    assert isinstance(json.loads(response["body"]), dict)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event=raw_events)
def test_arbitrary_event_allowed_status(handler_module, event):
    check_response(handler_module.lambda_handler(event, None))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
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

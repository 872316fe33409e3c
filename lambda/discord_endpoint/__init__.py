"""Discord interactions endpoint for AWS Lambda.

`lambda_function.lambda_handler` builds one `Endpoint` at init from the
environment and the command registry. The modules split the work by concept:
`config` (environment), `signature` (Ed25519), `events` (Lambda HTTP events),
`interaction` (the Discord payload), `protocol` (Discord's numbers),
`responses`, `registry` (routing) and `commands` (the shipped commands).
"""

"""Run a deployed Lambda function's artifacts locally behind a Function URL look-alike.

Modules: `events` converts HTTP requests and responses to and from Function
URL payloads, `deployment` finds the deployed configuration and artifacts,
`worker` runs inside the target interpreter, `process` drives it, and `server`
serves HTTP on 127.0.0.1. `scripts/local_runner.py` is the entry point.
"""

"""Entry point of the local AWS API: moto's server plus the Lambda fields it drops.

moto 5.2.5 ignores a function's ``LoggingConfig``: GetFunction never returns
it, so the AWS provider would plan to add ``logging_config`` on every run and
a second plan would never be empty. This module stores the field on create and
update and returns it the way AWS does. An unset field reads as ``LogFormat``
Text with the default log group, and JSON without levels gets INFO levels.
Then it starts moto's own server with the given arguments.

Run as ``python -m tests.harness.moto_patches -H 127.0.0.1 -p PORT``.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.server import main as moto_main

JSON_DEFAULT_LEVELS = {"ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO"}


def _effective_logging_config(function_name: str, requested: dict[str, Any] | None) -> dict:
    """Fill in the fields AWS reports when a request leaves them out."""
    config = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function_name}"}
    config.update(requested or {})
    if config["LogFormat"] == "JSON":
        for key, value in JSON_DEFAULT_LEVELS.items():
            config.setdefault(key, value)
    return config


def patch_lambda_logging_config() -> None:
    """Make moto's LambdaFunction keep and report ``LoggingConfig``. Idempotent."""
    if getattr(LambdaFunction, "_harness_logging_config", False):
        return

    original_init = LambdaFunction.__init__
    original_update = LambdaFunction.update_configuration
    original_get = LambdaFunction.get_configuration

    @functools.wraps(original_init)
    def init(
        self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any
    ) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.logging_config = _effective_logging_config(
            self.function_name, spec.get("LoggingConfig")
        )

    @functools.wraps(original_update)
    def update(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "LoggingConfig" in config_updates:
            self.logging_config = _effective_logging_config(
                self.function_name, config_updates["LoggingConfig"]
            )
        return original_update(self, config_updates)

    @functools.wraps(original_get)
    def get(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_get(self, *args, **kwargs)
        config["LoggingConfig"] = self.logging_config
        return config

    LambdaFunction.__init__ = init  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get  # type: ignore[method-assign]
    LambdaFunction._harness_logging_config = True  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    patch_lambda_logging_config()
    moto_main(argv)


if __name__ == "__main__":
    main()

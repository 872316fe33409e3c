"""The request log record: same content as `Logger.info` would give, through the same gates."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from discord_endpoint.request_log import FIELDS, MESSAGE, log_request

FIELD_VALUES = {
    "interaction_id": "123",
    "interaction_type": 2,
    "command": "ping",
    "error": None,
    "outcome": "handled",
    "status": 200,
    "latency_ms": 0.042,
}


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected() -> Iterator[tuple[logging.Logger, Collector]]:
    logger = logging.getLogger("tests.request_log")
    collector = Collector()
    logger.addHandler(collector)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, collector
    logger.removeHandler(collector)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True
    logger.filters.clear()


def test_fields_shadow_no_record_attribute():
    # Logger.info rejects these keys in `extra`, but log_request skips that check.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None, "f")
    reserved = set(record.__dict__) | {"message", "asctime"}

    assert reserved.isdisjoint(FIELDS)
    assert set(FIELD_VALUES) == set(FIELDS)
    assert MESSAGE.count("%s") == len(FIELDS)


def test_record_matches_logger_info(collected):
    logger, collector = collected
    args = tuple(FIELD_VALUES[name] for name in FIELDS)

    logger.info(MESSAGE, *args, extra=FIELD_VALUES)
    log_request(logger, dict(FIELD_VALUES))

    expected, actual = collector.records
    assert actual.getMessage() == expected.getMessage()
    assert actual.getMessage().startswith("interaction 123 type=2 command=ping outcome=handled")
    for attribute in ("name", "levelno", "levelname", "args", "exc_info", *FIELDS):
        assert getattr(actual, attribute) == getattr(expected, attribute), attribute
    assert actual.funcName == "log_request"
    assert actual.filename == "request_log.py"
    assert actual.lineno > 0


def test_below_info_writes_nothing(collected):
    logger, collector = collected
    logger.setLevel(logging.WARNING)

    log_request(logger, dict(FIELD_VALUES))

    assert collector.records == []


def test_logging_disable_applies(collected):
    logger, collector = collected
    logging.disable(logging.INFO)
    try:
        log_request(logger, dict(FIELD_VALUES))
    finally:
        logging.disable(logging.NOTSET)

    assert collector.records == []


def test_logger_filters_apply(collected):
    logger, collector = collected
    logger.addFilter(lambda record: record.outcome != "handled")

    log_request(logger, dict(FIELD_VALUES))
    log_request(logger, {**FIELD_VALUES, "outcome": "pong"})

    assert [record.outcome for record in collector.records] == ["pong"]


def test_record_factory_builds_the_record(collected):
    logger, collector = collected
    default_factory = logging.getLogRecordFactory()

    def tagging_factory(*args, **kwargs):
        record = default_factory(*args, **kwargs)
        record.tag = "from-factory"
        return record

    logging.setLogRecordFactory(tagging_factory)
    try:
        log_request(logger, dict(FIELD_VALUES))
    finally:
        logging.setLogRecordFactory(default_factory)

    [record] = collector.records
    assert record.tag == "from-factory"

import pytest

from muni_watchdog.core.durations import DurationError, format_duration, humanize, parse_duration


@pytest.mark.parametrize("text, seconds", [
    ("30s", 30), ("5m", 300), ("4h", 14400), ("7d", 604800), ("2w", 1209600),
    ("1h30m", 5400), ("250ms", 0.25), ("1.5h", 5400), (" 10 m ", 600), ("1H", 3600),
])
def test_parse(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("value, message", [
    (30, "30 has no unit; write it with one, e.g. '30s' or '30m'"),
    ("30", "'30' is not a duration"),
    ("5 minutes", "'5 minutes' is not a duration"),
    ("0s", "'0s' must be longer than zero"),
    ("-5m", "'-5m' is not a duration"),
    (None, "expected a duration such as 30s"),
    (True, "expected a duration such as 30s"),
])
def test_parse_rejects_with_the_fix(value, message):
    with pytest.raises(DurationError) as exc:
        parse_duration(value)
    assert message in str(exc.value)


@pytest.mark.parametrize("seconds, text", [
    (30, "30s"), (90, "1m30s"), (14400, "4h"), (90000, "1d1h"), (0.25, "250ms"),
])
def test_format(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds, words", [
    (1, "1 second"), (42 * 60, "42 minutes"), (3 * 3600 + 300, "3 hours 5 minutes"),
    (3600, "1 hour"), (49 * 3600, "2 days 1 hour"), (3 * 86400, "3 days"),
])
def test_humanize(seconds, words):
    assert humanize(seconds) == words


# -- bounds ----------------------------------------------------------------------------------

def test_a_bound_is_enforced_with_the_allowed_range():
    assert parse_duration("1d", maximum=86400) == 86400
    with pytest.raises(DurationError) as exc:
        parse_duration("25h", maximum=86400)
    assert str(exc.value) == "'25h' is too long: the allowed range here is up to 1d; write a " \
        "shorter duration"
    with pytest.raises(DurationError) as exc:
        parse_duration("99999999999d", maximum=10 * 365 * 86400)
    assert "up to 10 years (3650d)" in str(exc.value)
    with pytest.raises(DurationError):  # 400 digits parse as infinity: still too long
        parse_duration("9" * 400 + "d", maximum=86400)


def _every_field():
    from pydantic import BaseModel

    from muni_watchdog.checks import KINDS
    from muni_watchdog.config.models import Config
    from muni_watchdog.config.reference import _models
    models: list[type[BaseModel]] = list(_models(Config))
    for kind in KINDS.values():
        if kind.connection is not None:
            models += _models(kind.connection)
        for check in kind.check_types.values():
            models += _models(check.Params)
    for model in dict.fromkeys(models):
        for name, info in model.model_fields.items():
            yield f"{model.__name__}.{name}", info


def _adapter(info):
    from typing import Annotated

    from pydantic import TypeAdapter
    annotation = Annotated[info.annotation, *info.metadata] if info.metadata else \
        info.annotation
    return TypeAdapter(annotation)


def test_every_duration_in_the_schema_is_bounded():
    """The whole class: any field that takes '5m' has an upper bound that refuses the value
    from the issue, and states its range in the error."""
    from pydantic import ValidationError

    from muni_watchdog.config.reference import duration_bounds
    durations = []
    for where, info in _every_field():
        try:
            value = _adapter(info).validate_python("5m")
        except ValidationError:
            continue  # not a duration
        if value != 300 or isinstance(value, str):
            continue  # text
        durations.append(where)
        assert duration_bounds(info) is not None, f"{where} is a duration without a bound"
        with pytest.raises(ValidationError) as exc:
            _adapter(info).validate_python("99999999999d")
        assert "is too long: the allowed range here is up to" in str(exc.value), where
    assert len(durations) >= 35, durations  # the search itself found them


def test_every_bound_is_usable_as_a_date_offset_and_a_scheduler_interval():
    """A value at its bound must not overflow what the daemon computes from it."""
    from datetime import UTC, datetime, timedelta

    from apscheduler.triggers.interval import IntervalTrigger

    from muni_watchdog.config.reference import duration_bounds
    now = datetime.now(UTC)
    for where, info in _every_field():
        bounds = duration_bounds(info)
        if bounds is None:
            continue
        # twice the bound: escalation adds the response SLA to a step's delay
        assert now + timedelta(seconds=2 * bounds.maximum) > now, where
        assert now - timedelta(seconds=2 * bounds.maximum) < now, where
        trigger = IntervalTrigger(seconds=min(bounds.maximum, 86400), timezone=UTC)
        assert trigger.get_next_fire_time(None, now) is not None, where

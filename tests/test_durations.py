import pytest

from watchdog.durations import DurationError, format_duration, humanize, parse_duration


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

from __future__ import annotations

import pytest

from lockgate.federation.automation import conditions as c
from lockgate.federation.automation.parser import parse_condition
from lockgate.federation.errors import ConditionError, ConfigError


@pytest.mark.parametrize(
    "text",
    [
        "eager()",
        "on_missing()",
        'on_cron("0 6 * * *", "Europe/Berlin") & checks_passed()',
        "(missing() | ~in_progress()).newly_true().since(newly_updated())",
        "any_deps_updated().since_last_handled() & ~any_deps_missing()",
        'cron_tick_passed("0 * * * *") | code_version_changed() & in_latest_time_window()',
    ],
)
def test_parse_round_trips_through_str(text: str) -> None:
    cond = parse_condition(text)
    assert parse_condition(str(cond)) == cond


def test_parse_builds_the_same_values_as_python() -> None:
    assert parse_condition('on_cron("0 6 * * *", "Europe/Berlin") & checks_passed()') == (
        c.on_cron("0 6 * * *", "Europe/Berlin") & c.checks_passed()
    )
    assert parse_condition("~missing() | in_progress() & newly_updated()") == (
        ~c.missing() | (c.in_progress() & c.newly_updated())
    )
    assert parse_condition("eager()") == c.eager()


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("", 1, "empty"),
        ("eager(", 7, "expected a condition"),
        ("eagre()", 1, "unknown condition 'eagre'"),
        ("eager() &", 10, "expected a condition"),
        ("eager() eager()", 9, "unexpected 'eager'"),
        ('on_cron("nope")', 9, "not a cron expression"),
        ('on_cron("0 6 * * *", "Mars/X")', 22, "unknown time zone"),
        ("on_cron()", 1, "takes 1 to 2 argument"),
        ('eager("x")', 7, "takes 0 argument"),
        ("missing().since()", 11, "takes one condition"),
        ("missing().bogus()", 11, "unknown method"),
        ("missing", 8, "needs parentheses"),
        ("__import__('os')", 1, "unknown condition"),
        ("eager() ; x", 9, "unexpected character ';'"),
        ('on_cron("0 6 * * *', 9, "unexpected character"),
    ],
)
def test_parse_errors_point_at_the_column(text: str, column: int, message: str) -> None:
    with pytest.raises(ConditionError) as err:
        parse_condition(text)
    assert err.value.column == column
    assert message in str(err.value)
    assert isinstance(err.value, ConfigError)
    assert "^" in str(err.value)

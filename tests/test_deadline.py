"""The wall-clock limit of training loops."""

import time

import pytest

from scorebridge.deadline import Deadline


def test_a_deadline_passes_after_its_time_and_none_never() -> None:
    d = Deadline(0.05)
    assert not d.passed()
    time.sleep(0.06)
    assert d.passed()
    assert not Deadline(None).passed() and not Deadline.minutes(None).passed()
    assert not Deadline.minutes(1.0).passed()


@pytest.mark.parametrize("seconds", [0, -1.0])
def test_a_limit_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Deadline(seconds)

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.core.ratelimit import TokenBucket

MINUTE = 60_000_000


def test_a_full_bucket_allows_its_burst_then_says_when_to_retry():
    bucket = TokenBucket.full(per_minute=60, now_us=0, burst=3)
    assert [bucket.try_take(0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_take(0) == pytest.approx(1.0)  # one call a second
    assert bucket.try_take(500_000) == pytest.approx(0.5)
    assert bucket.try_take(1_000_000) == 0.0


@given(st.integers(1, 600), st.lists(st.integers(0, 5 * MINUTE), min_size=1, max_size=300))
def test_never_more_than_burst_plus_rate_times_elapsed(per_minute, times):
    times = sorted(times)
    bucket = TokenBucket.full(per_minute, now_us=times[0])
    allowed = sum(1 for t in times if bucket.try_take(t) == 0.0)
    elapsed_minutes = (times[-1] - times[0]) / MINUTE
    assert allowed <= bucket.burst + per_minute * elapsed_minutes + 1e-9


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        TokenBucket.full(0, now_us=0)

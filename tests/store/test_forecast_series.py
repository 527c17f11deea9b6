"""The forecasts' read (``scope_series``): each budget scope's spend per bucket from the finest
rollup that holds its keys, all scopes at once, equal to the raw usage rows' sums."""

from __future__ import annotations

import sqlalchemy as sa

from router.core.timeunits import DAY_US, HOUR_US
from router.store.sql import SqlStore
from tests.store.test_spend_store import MIDNIGHT_LONDON, traffic

SCOPES = [{}, {"team": "eng"}, {"team": "ops", "agent": "a1", "model": "gpt-4o"},
          {"team": "eng", "user": "ana"}, {"task_type": "x"}, {"task_id": "t1"},
          {"team": "nobody"}]


def raw(store: SqlStore, scope: dict[str, str], step: int, since: int, until: int
        ) -> list[tuple[int, int, int]]:
    where = " AND ".join(f"{'user_name' if k == 'user' else k} = :{k}" for k in scope)
    sql = (f"SELECT recorded_us - recorded_us % {step} AS at, sum(cost_total), "
           "sum(input_tokens + cached_input_tokens + output_tokens + reasoning_tokens) "
           f"FROM usages WHERE recorded_us >= :since AND recorded_us < :until "
           f"{'AND ' + where if where else ''} GROUP BY at ORDER BY at")
    with store.engine.connect() as conn:
        return [(int(a), int(c), int(t)) for a, c, t in conn.execute(
            sa.text(sql), {**scope, "since": since, "until": until})]


def test_each_scope_reads_its_finest_rollup_and_equals_the_raw_rows(store):
    store.write_batch([], traffic())
    since, until = MIDNIGHT_LONDON - 30 * HOUR_US, MIDNIGHT_LONDON + 20 * HOUR_US + 5
    found = store.scope_series(SCOPES, since, until)
    assert [s.step_us if s else None for s in found] == [HOUR_US] * 3 + [DAY_US] * 2 + [
        None, HOUR_US]
    for scope, series in zip(SCOPES, found, strict=True):
        if series is None:
            continue
        # whole buckets: from the one containing since to the one containing until's last moment
        step = series.step_us
        start, end = since - since % step, until - 1 - (until - 1) % step + step
        assert list(series.buckets) == raw(store, scope, step, start, end), scope
    assert found[0].buckets and found[-1].buckets == ()


def test_many_scopes_are_read_in_bounded_statements(store):
    store.write_batch([], traffic(50))
    scopes = [{"agent": f"a{i % 5}"} for i in range(250)]
    found = store.scope_series(scopes, MIDNIGHT_LONDON - 48 * HOUR_US,
                               MIDNIGHT_LONDON + 48 * HOUR_US)
    assert [s.buckets for s in found[:5]] == [s.buckets for s in found[5:10]]
    assert sum(sum(c for _, c, _ in s.buckets) for s in found[:5]) == sum(
        u.cost.total for u in traffic(50))

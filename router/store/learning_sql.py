"""The learner's evidence in SQL: sums that every replica adds its increments to."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from router.core.learning import Evidence
from router.store.engine import SqlBase
from router.store.tables import learning_evidence


class SqlLearning(SqlBase):
    def load_learning(self) -> list[Evidence]:
        with self._connect() as conn:
            return [Evidence(r.level, r.scope, r.model, r.precision, r.weighted,
                             r._mapping["count"], r.updated_us)  # r.count is tuple's method
                    for r in conn.execute(sa.select(learning_evidence))]

    def add_learning(self, rows: Sequence[Evidence]) -> None:
        """Add ``rows`` (increments) to the stored sums, in one transaction."""
        if not rows:
            return
        summed: dict[tuple[str, str, str], Evidence] = {}
        for r in rows:  # one row per key: a statement may not update a row twice
            key = (r.level, r.scope, r.model)
            summed[key] = r if key not in summed else summed[key].plus(r)
        t = learning_evidence.c
        stmt = self._insert(learning_evidence)
        new = stmt.excluded
        with self._connect(write=True) as conn:
            # sorted: replicas adding to overlapping keys lock rows in the same order
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["level", "scope", "model"],
                set_={"precision": t.precision + new.precision,
                      "weighted": t.weighted + new.weighted,
                      "count": t["count"] + new["count"],
                      "updated_us": sa.case((new.updated_us > t.updated_us, new.updated_us),
                                            else_=t.updated_us)},
            ), [{"level": e.level, "scope": e.scope, "model": e.model,
                 "precision": e.precision, "weighted": e.weighted, "count": e.count,
                 "updated_us": e.updated_us} for _, e in sorted(summed.items())])

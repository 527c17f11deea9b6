"""Input-token calibration: ``router.core.tokens``' estimate against RouteProfile's real counts."""

from __future__ import annotations

from typing import Any

import numpy as np

from router.core.tokens import counts as token_counts
from router.core.tokens import estimate_tokens
from router.training.corpus import Corpus


def token_calibration(corpus: Corpus, tokenizer_of: str = "llama-3.1-8b-instruct"
                      ) -> dict[str, Any]:
    """Refit ``router.core.tokens``' coefficients on RouteProfile's real prompt tokens, and
    measure the shipped estimate.

    RouteProfile's prompts lack the template its harness added (instructions, answer options),
    so each (task, tokenizer) gets its own intercept: the errors are of the text-dependent part
    plus a fixed template, as a router sees them. Median absolute percentage errors.
    """
    if not corpus.prompt_tokens:
        return {}
    texts, tasks, models, real = zip(*corpus.prompt_tokens, strict=True)
    y = np.array(real, dtype=float)
    counted = np.array([token_counts(t)[:4] for t in texts], dtype=float)
    groups = sorted(set(zip(tasks, models, strict=True)))
    group = np.array([groups.index(g) for g in zip(tasks, models, strict=True)])
    one_hot = np.eye(len(groups))[group]

    def mdape(pred: np.ndarray, sel: np.ndarray) -> float:
        return float(np.median(np.abs(pred[sel] - y[sel]) / y[sel]))

    def with_intercepts(est: np.ndarray) -> np.ndarray:
        """The estimate plus each group's median residual (its template)."""
        resid = {g: np.median((y - est)[group == g]) for g in range(len(groups))}
        return est + np.array([resid[g] for g in group])

    if tokenizer_of not in models:
        tokenizer_of = min(models)
    out: dict[str, Any] = {"rows": len(y), "tokenizer_fit": tokenizer_of}
    mine = np.array([m == tokenizer_of for m in models])
    if mine.sum() > 10:
        design = np.hstack([counted, one_hot[:, one_hot[mine].any(axis=0)]])[mine]
        coef = np.linalg.lstsq(design, y[mine], rcond=None)[0]
        loo = [abs(design[i] @ np.linalg.lstsq(np.delete(design, i, 0), np.delete(y[mine], i),
                                               rcond=None)[0] - y[mine][i]) / y[mine][i]
               for i in range(len(design))]
        out |= {"coefficients": dict(zip(("word", "digit", "symbol", "newline"),
                                         (round(float(c), 3) for c in coef[:4]), strict=True)),
                "fit_mdape": float(np.median(np.abs(design @ coef - y[mine]) / y[mine])),
                "fit_mdape_leave_one_out": float(np.median(loo))}
    shipped = np.array([estimate_tokens(t) for t in texts], dtype=float)
    quarter = np.array([len(t) / 4 for t in texts])
    everyone = np.ones(len(y), dtype=bool)
    for name, est in (("estimate_tokens", shipped), ("chars_div_4", quarter)):
        full = with_intercepts(est)
        out[name] = {"mdape_all_tokenizers": mdape(full, everyone),
                     "mdape_" + tokenizer_of: mdape(full, mine)}
    return out

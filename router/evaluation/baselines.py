"""RouterBench's baseline routers, trained on the same rows as ours (scikit-learn, offline only).

- ``TfidfLogReg``: one logistic regression per model on TF-IDF word 1-2 grams: the plain router
  that already beats RouteLLM's published numbers in-distribution, so the floor to beat.
- ``KnnRouter``: a model's predicted quality is its mean score on the k most similar training
  prompts (cosine over TF-IDF).
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=100_000,
                           sublinear_tf=True, dtype=np.float32)


class TfidfLogReg:
    name = "tfidf_lr"

    def fit(self, prompts: list[str], scores: np.ndarray) -> TfidfLogReg:
        self._vec = _vectorizer()
        x = self._vec.fit_transform(prompts)
        self._heads: list[LogisticRegression | float] = []
        for j in range(scores.shape[1]):
            y = scores[:, j] >= 0.5
            if y.all() or not y.any():
                self._heads.append(float(y.mean()))
            else:
                self._heads.append(LogisticRegression(C=1.0, max_iter=1000).fit(x, y))
        return self

    def predict(self, prompts: list[str]) -> np.ndarray:
        x = self._vec.transform(prompts)
        cols = [np.full(x.shape[0], h) if isinstance(h, float) else h.predict_proba(x)[:, 1]
                for h in self._heads]
        return np.column_stack(cols)


class KnnRouter:
    name = "knn"

    def __init__(self, k: int = 20) -> None:
        self.k = k

    def fit(self, prompts: list[str], scores: np.ndarray) -> KnnRouter:
        self._vec = _vectorizer()
        x = self._vec.fit_transform(prompts)
        self._nn = NearestNeighbors(n_neighbors=min(self.k, x.shape[0]), metric="cosine").fit(x)
        self._scores = scores
        return self

    def predict(self, prompts: list[str]) -> np.ndarray:
        _, idx = self._nn.kneighbors(self._vec.transform(prompts))
        return self._scores[idx].mean(axis=1)

"""The server's enabled models as the simulator sees them: prices, and the tiers agents pick."""

from __future__ import annotations

from dataclasses import dataclass

from router import v1 as pb


@dataclass
class Model:
    id: str
    provider: str
    input: int  # nanos per 1M tokens
    cached: int
    output: int
    reasoning: int
    context: int
    max_output: int
    can_reason: bool

    @property
    def index(self) -> int:
        """Price of a typical call (2,000 in, 400 out), to order the catalog."""
        return 2000 * self.input + 400 * self.output

    def cost(self, inp: float, cached: float, out: float, reasoning: float) -> float:
        return (inp * self.input + cached * self.cached + out * self.output
                + reasoning * self.reasoning) / 1e6


PROVIDERS = {"openai", "anthropic", "google", "deepseek", "mistral"}


class Catalog:
    """The enabled models, cheapest first: the agents' pool and its three tiers."""

    def __init__(self, resp: pb.ListModelsResponse) -> None:
        self.currency = resp.currency_code
        models = [Model(m.id, m.provider, m.input_price_per_mtok.nanos,
                         m.cached_input_price_per_mtok.nanos or m.input_price_per_mtok.nanos,
                         m.output_price_per_mtok.nanos,
                         m.reasoning_price_per_mtok.nanos or m.output_price_per_mtok.nanos,
                         m.context_window, m.max_output_tokens or 16384,
                         pb.CAPABILITY_REASONING in m.capabilities)
                  for m in resp.models if m.enabled]
        if not models:
            raise RuntimeError("the server's catalog has no enabled model")
        # the API models companies run agents on; long context keeps the prompts valid
        pool = [m for m in models if m.provider in PROVIDERS and m.context >= 100_000]
        if len(pool) < 6:
            pool = models
        self.models = {m.id: m for m in models}
        self.pool = sorted(pool, key=lambda m: (m.index, m.id))
        top = self.pool[-1].index
        normal = [m for m in self.pool if m.index < 0.5 * top] or self.pool
        third = max(1, len(normal) // 3)
        self.normal = normal
        self.tiers = (normal[:third], normal[third:2 * third] or normal,
                      normal[2 * third:] or normal)

"""A model catalog as the server's ListModels describes it, for the simulator's pure parts."""

from __future__ import annotations

import pytest

from router import v1 as pb
from router.simulate.catalog import Catalog

USD = 1_000_000_000  # nanos

# id, provider, input and output price per 1M tokens (USD), reasons
_MODELS = (
    ("flash-lite", "google", 0.10, 0.40, False),
    ("mini", "openai", 0.15, 0.60, False),
    ("chat-v3", "deepseek", 0.27, 1.10, False),
    ("small-3", "mistral", 0.40, 2.00, False),
    ("reasoner-r1", "deepseek", 0.55, 2.20, True),
    ("gpt-mid", "openai", 2.50, 10.00, False),
    ("sonnet", "anthropic", 3.00, 15.00, True),
    ("o-pro", "openai", 10.00, 40.00, True),
    ("opus", "anthropic", 15.00, 75.00, True),
)


def list_models() -> pb.ListModelsResponse:
    def money(usd: float) -> pb.Money:
        return pb.Money(currency_code="USD", nanos=round(usd * USD))

    models = [pb.ModelInfo(id=mid, provider=provider, input_price_per_mtok=money(inp),
                           output_price_per_mtok=money(out), context_window=200_000,
                           max_output_tokens=16_384, enabled=True,
                           capabilities=[pb.CAPABILITY_REASONING] if reasons else [])
              for mid, provider, inp, out, reasons in _MODELS]
    models.append(pb.ModelInfo(id="switched-off", provider="openai", enabled=False,
                               input_price_per_mtok=money(0.01),
                               output_price_per_mtok=money(0.01), context_window=200_000))
    return pb.ListModelsResponse(models=models, currency_code="USD")


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(list_models())

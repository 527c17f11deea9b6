"""Cost-aware model router: pick the cheapest adequate LLM per task, attribute and enforce spend."""

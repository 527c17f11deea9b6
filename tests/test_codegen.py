"""The committed generated code in router/v1 matches protos/ (regenerate with `make proto`)."""

from pathlib import Path

from router._codegen import ROOT, generate


def test_generated_code_is_not_stale(tmp_path: Path):
    fresh = generate(tmp_path)
    assert fresh, "protoc produced nothing"
    for path in fresh:
        committed = ROOT / "router" / "v1" / path.name
        assert committed.exists(), f"{path.name} is not committed: run `make proto`"
        assert committed.read_text() == path.read_text(), f"{path.name} is stale: run `make proto`"

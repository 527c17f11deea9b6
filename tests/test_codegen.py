"""The committed generated code in router/v1 matches protos/ (regenerate with `make proto`)."""

import importlib
from pathlib import Path

from router import v1
from router.v1._codegen import ROOT, generate

GENERATED = ROOT / "router" / "v1"


def test_generated_code_is_not_stale(tmp_path: Path):
    fresh = {path.relative_to(tmp_path): path for path in generate(tmp_path)}
    assert fresh, "protoc produced nothing"
    names = {path.name for path in fresh}
    # Besides the modules: the package's re-exports and a type stub per *_pb2 module.
    assert "__init__.py" in names
    assert {n.replace(".py", ".pyi") for n in names if n.endswith("_pb2.py")} <= names
    for relative, path in fresh.items():
        committed = ROOT / relative
        assert committed.exists(), f"{relative} is not committed: run `make proto`"
        assert committed.read_text() == path.read_text(), f"{relative} is stale: run `make proto`"
    # A generated file protoc no longer writes (its .proto was removed or lost its service).
    leftovers = {p.relative_to(ROOT) for p in GENERATED.glob("*_pb2*.py*")} - set(fresh)
    assert not leftovers, f"{sorted(map(str, leftovers))} are no longer generated: delete them"


def test_package_exports_every_type_of_every_file():
    """router.v1 is the proto package: each top-level message, enum and enum value, nothing
    else, and the very objects of the *_pb2 module that declares them."""
    expected = {}
    for path in sorted(GENERATED.glob("*_pb2.py")):
        module = importlib.import_module(f"router.v1.{path.stem}")
        file = module.DESCRIPTOR
        for name in [*file.message_types_by_name, *file.enum_types_by_name]:
            expected[name] = getattr(module, name)
        for enum in file.enum_types_by_name.values():
            for value in enum.values:
                expected[value.name] = getattr(module, value.name)
    assert sorted(v1.__all__) == sorted(expected)
    for name, obj in expected.items():
        assert getattr(v1, name) is obj, name

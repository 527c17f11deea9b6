import pytest

from router.cli import main
from router.settings import Settings


def test_environment_overrides_defaults_and_flags_override_environment():
    env = {"ROUTER_ADDRESS": "0.0.0.0:6000", "ROUTER_POOL_SIZE": "3",
           "ROUTER_DEFAULT_QUALITY_TARGET": "0.9"}
    s = Settings.from_env(env)
    assert (s.address, s.pool_size, s.default_quality_target) == ("0.0.0.0:6000", 3, 0.9)
    assert Settings.from_env(env, address="127.0.0.1:1").address == "127.0.0.1:1"
    assert Settings.from_env({}).address == Settings().address


def test_a_malformed_environment_value_names_the_variable():
    with pytest.raises(ValueError, match="ROUTER_POOL_SIZE"):
        Settings.from_env({"ROUTER_POOL_SIZE": "many"})


def test_every_setting_is_documented():
    described = Settings.describe()
    assert described and all(help_text for _, help_text, _ in described)


def test_cli_lists_settings_and_models(capsys):
    assert main(["settings"]) == 0
    assert "ROUTER_DATABASE_URL" in capsys.readouterr().out
    assert main(["models"]) == 0
    assert "gpt-4o-mini" in capsys.readouterr().out


def test_cli_models_reports_a_bad_catalog(tmp_path, capsys):
    bad = tmp_path / "c.toml"
    bad.write_text("currency = \n")
    assert main(["models", "--catalog", str(bad)]) == 2
    assert "c.toml" in capsys.readouterr().err

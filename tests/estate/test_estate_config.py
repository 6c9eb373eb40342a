"""An estate's config: `targets:` or `dynamics.environments: all` beside the single-target form, each mistake one
line naming its key (exit 2), and a single-target config unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.cli import main
from checks.config import load, load_any
from checks.errors import ConfigError
from checks.settings import EstateSettings, RunOptions, Settings

A = "11111111-1111-1111-1111-111111111111"
B = "22222222-2222-2222-2222-222222222222"
B2 = "55555555-5555-5555-5555-555555555555"
APP = "33333333-3333-3333-3333-333333333333"
READER = "44444444-4444-4444-4444-444444444444"


def base(**dynamics: Any) -> dict[str, Any]:
    return {"dynamics": {"tenant_id": A, **dynamics}, "exchange": {"tenant_id": B},
            "credentials": [{"tenant_id": t, "client_id": READER, "client_secret": "env:XT_SECRET"}
                            for t in (A, B, B2)]}


def write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "xtcheck.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def loaded(tmp_path: Path, config: dict[str, Any]) -> Settings | EstateSettings:
    return load_any(write(tmp_path, config), RunOptions(), {"XT_SECRET": "s3cret-value"})


def test_a_single_target_config_is_what_it_always_was(tmp_path: Path) -> None:
    settings = loaded(tmp_path, base(environment_url="https://contoso.crm4.dynamics.com/main.aspx"))
    assert isinstance(settings, Settings)
    assert settings.environment_url == "https://contoso.crm4.dynamics.com"


def test_targets_inherit_what_they_do_not_name(tmp_path: Path) -> None:
    config = base()
    config["targets"] = [
        {"environment_url": "https://contoso.crm4.dynamics.com"},
        {"name": "emea", "environment_url": "https://contoso-emea.crm4.dynamics.com/", "profile": "Cross-tenant",
         "exchange_tenant": B2, "client_id": APP, "mailboxes": ["a@contoso.com"]},
    ]
    estate = loaded(tmp_path, config)
    assert isinstance(estate, EstateSettings) and not estate.discover
    first, second = (estate.settings_for(spec) for spec in estate.targets)
    assert (first.environment_url, first.exchange_tenant, first.mailboxes) == \
        ("https://contoso.crm4.dynamics.com", B, "all")
    assert (second.environment_url, second.profile, second.exchange_tenant, second.client_id) == \
        ("https://contoso-emea.crm4.dynamics.com", "Cross-tenant", B2, APP)
    assert estate.targets[1].name == "emea"


def test_every_environment_of_tenant_a(tmp_path: Path) -> None:
    estate = loaded(tmp_path, base(environments="all"))
    assert isinstance(estate, EstateSettings) and estate.discover and estate.targets == ()


@pytest.mark.parametrize(("config", "key", "words"), [
    ({**base(environment_url="https://contoso.crm4.dynamics.com"),
      "targets": [{"environment_url": "https://x.crm.dynamics.com"}]}, "dynamics", "one way"),
    (base(), "dynamics", "one way"),
    ({**base(), "targets": [{"name": "x", "environment_url": "https://a.crm.dynamics.com"},
                            {"name": "x", "environment_url": "https://b.crm.dynamics.com"}]}, "targets", "same name"),
    ({**base(), "targets": []}, "targets", ""),
    (base(environments="some"), "dynamics.environments", ""),
    (base(environments="all", admin_api="http://api.bap.example"), "dynamics.admin_api", "https"),
    ({**base(), "targets": [{"environment_url": "https://a.crm.dynamics.com", "exchange_tenant": "not-a-tenant!"}]},
     "targets[0].exchange_tenant", ""),
])
def test_an_estate_mistake_is_one_line_naming_its_key(tmp_path: Path, config: dict[str, Any], key: str,
                                                      words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        loaded(tmp_path, config)
    message = str(raised.value)
    assert message.startswith(key) and words in message and "\n" not in message


def test_a_command_of_one_target_refuses_an_estate_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="estate"):
        load(write(tmp_path, base(environments="all")), RunOptions(), {"XT_SECRET": "x"})


def test_shard_on_a_single_target_config_is_a_usage_error(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "reader.secret").write_text("s3cret-value", encoding="utf-8")
    config = base(environment_url="https://contoso.crm4.dynamics.com")
    config["credentials"] = [{**c, "client_secret": "file:reader.secret"} for c in config["credentials"]]
    path = write(tmp_path, config)
    assert main(["audit", "--config", str(path), "--shard", "1/2"]) == 2
    err = capsys.readouterr().err
    assert "--shard" in err and "one environment" in err and len(err.strip().splitlines()) == 1


def test_the_sync_apps_secret_goes_only_to_the_targets_of_that_app_and_tenant(tmp_path: Path) -> None:
    (tmp_path / "app.secret").write_text("app-secret-value", encoding="utf-8")
    config = {**base(), "app": {"client_id": APP, "secret": "file:app.secret"},
              "targets": [{"environment_url": "https://a.crm.dynamics.com"},
                          {"environment_url": "https://b.crm.dynamics.com", "client_id": READER},
                          {"environment_url": "https://c.crm.dynamics.com", "exchange_tenant": B2}]}
    estate = loaded(tmp_path, config)
    assert isinstance(estate, EstateSettings)
    secrets = [estate.settings_for(spec).app_secret for spec in estate.targets]
    assert secrets[0] is not None and secrets[0].reveal() == "app-secret-value"
    assert secrets[1:] == [None, None]
    del config["app"]["client_id"]
    with pytest.raises(ConfigError, match=r"^app\.secret: .*app\.client_id"):
        loaded(tmp_path, config)


def test_the_command_line_and_the_sandbox_agree_on_an_estates_size() -> None:
    from checks import cli
    from checks.sandbox import options

    assert (cli.SMALLEST_ESTATE, cli.LARGEST_ESTATE) == (options.SMALLEST_ESTATE, options.LARGEST_ESTATE)

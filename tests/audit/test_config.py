"""Configuration: every mistake is exit 2 with one line naming the key and the fix; good input is normalized."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.cli import main
from checks.config import load, normalize_environment_url
from checks.errors import ConfigError
from checks.sandbox.pki import make_app_cert
from checks.settings import HttpOptions, RunOptions, Secret

A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"


def good() -> dict[str, Any]:
    return {
        "dynamics": {"environment_url": "https://contoso.crm4.dynamics.com", "tenant_id": A},
        "exchange": {"tenant_id": B},
        "credentials": [{"tenant_id": B, "client_id": READER, "client_secret": "file:reader.secret"}],
    }


def write(tmp_path: Path, config: dict[str, Any] | str, name: str = "xtcheck.yaml") -> Path:
    (tmp_path / "reader.secret").write_text("reader-secret-from-a-file", encoding="utf-8")
    path = tmp_path / name
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config), encoding="utf-8")
    return path


def set_key(config: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    node: Any = config
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[last] = value
    return config


BROKEN: list[tuple[str, Any, str]] = [
    ("dynamics.enviroment_url", "https://x.crm.dynamics.com",
     "unknown key 'enviroment_url'; did you mean 'environment_url'?"),
    ("colour", "red", "unknown key 'colour'"),
    ("dynamics.tenant_id", "not-a-guid", "dynamics.tenant_id: the 10-character text given is not a GUID"),
    ("dynamics.tenant_id", "{" + A + "}", f"has stray whitespace or braces; write it as {A}"),
    ("credentials.0.client_id", f" {READER} ", f"has stray whitespace or braces; write it as {READER}"),
    ("credentials.0.client_secret", "s3cr3t-value-in-the-file", "holds a literal secret"),
    ("app.secret", "Zr5~Kp2.literal", "app.secret: holds a literal secret"),
    ("credentials.0.client_secret", "env:XT_TEST_SURELY_UNSET_1234",
     "environment variable XT_TEST_SURELY_UNSET_1234 is not set"),
    ("credentials.0.client_secret", "file:does-not-exist.secret", "cannot read"),
    ("dynamics.environment_url", "http://contoso.crm.dynamics.com", "is not an https URL"),
    ("dynamics.environment_url", "https://", "is not an https URL"),
    ("exchange.tenant_id", "contoso", "is neither a tenant GUID nor a domain"),
    ("cloud", "azure", "cloud: the 5-character text given is not one of public, usgov, usgov-dod, china, custom"),
    ("cloud", "custom", "cloud: custom needs endpoints.login"),
    ("endpoints", {"login": "https://l", "graph": "https://g", "exchange_resource": "https://e"},
     "only allowed with cloud: custom"),
    ("mailboxes", ["alice@contoso.com", "bob"], "mailboxes[1]: the 3-character text given is not an email address"),
    ("mailboxes", "some", "must be 'all' or a list of email addresses"),
    ("thresholds.secret_expiry_warning_days", -1, "thresholds.secret_expiry_warning_days"),
    ("http.retries", 0, "http.retries: 0 is out of range; give a whole number from 1 to 10"),
    ("http.retries", 2.5, "http.retries: 2.5 is not a whole number from 1 to 10"),
    ("http.retry_budget", 0, "http.retry_budget: 0 is out of range; give a number more than 0 and at most 300"),
    ("http.read_timeout", "30s", "http.read_timeout: the 3-character text given is not a number more than 0 and at "
                                 "most 300"),
    ("http.read_timeout", float("inf"), "http.read_timeout: inf is out of range"),
    ("http.read_timeout", float("nan"), "http.read_timeout: NaN is not a number of seconds; give one like 30.0"),
    ("http.connect_timeout", 61, "http.connect_timeout: 61 is out of range; give a number more than 0 and at most 60"),
    ("http.dataverse_page_size", 5001, "http.dataverse_page_size: 5001 is out of range; give a whole number from 1"),
    ("http.timeout", 30, "unknown key 'timeout'"),
    ("http.request_timeout", 3601, "http.request_timeout: 3601 is out of range; give a number more than 0 and at most "
                                   "3600"),
    ("http.max_response_mb", 0, "http.max_response_mb: 0 is out of range; give a whole number from 1 to 4096"),
    ("http.max_run_mb", 1.5, "http.max_run_mb: 1.5 is not a whole number from 1 to 65536"),
    ("http.max_run_mb", "2 GB", "http.max_run_mb: the 4-character text given is not a whole number from 1 to 65536"),
    ("tls.ca_bundle", "missing-ca.pem", "cannot read the 14-character path given: there is no file there"),
    ("credentials.0.certificate", {"path": "reader.pem"}, "give either client_secret or certificate, not both"),
]


@pytest.mark.parametrize(("key", "value", "expected"), BROKEN, ids=[f"{k}={v!r}"[:60] for k, v, _ in BROKEN])
def test_a_broken_config_is_exit_2_with_one_line_naming_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: Any, expected: str) -> None:
    config = write(tmp_path, set_key(good(), key, value))
    assert main(["audit", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("xtcheck: config error: ")
    assert expected in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("text", "expected"), [
    ("dynamics: [unclosed", "is not valid YAML (line 1"),
    ("- a\n- b\n", "must hold a mapping of keys"),
])
def test_a_config_that_does_not_parse_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  text: str, expected: str) -> None:
    assert main(["audit", "--config", str(write(tmp_path, text))]) == 2
    assert expected in capsys.readouterr().err


def test_invalid_json_config_names_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--config", str(write(tmp_path, '{"dynamics": ', "x.json"))]) == 2
    assert "is not valid JSON (line 1, column 14)" in capsys.readouterr().err


def test_a_missing_config_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read the config file" in capsys.readouterr().err


@pytest.mark.parametrize(("flags", "expected"), [
    (["--format", "pdf"], "--format: unknown format pdf"),
    (["--only", "APP-999"], "--only: unknown check id APP-999"),
])
def test_bad_flags_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str],
                                    expected: str) -> None:
    assert main(["audit", "--config", str(write(tmp_path, good())), *flags]) == 2
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize("url", [
    "https://contoso.crm4.dynamics.com",
    "https://contoso.crm4.dynamics.com/",
    "https://contoso.crm4.dynamics.com/main.aspx?appid=1234&pagetype=dashboard",
    "contoso.crm4.dynamics.com",
    "  HTTPS://Contoso.CRM4.dynamics.com:443/api/data/v9.2/  ",
])
def test_a_pasted_environment_url_becomes_its_origin(url: str) -> None:
    assert normalize_environment_url(url) == "https://contoso.crm4.dynamics.com"


def test_a_port_other_than_443_is_kept() -> None:
    assert normalize_environment_url("https://127.0.0.1:8444/x") == "https://127.0.0.1:8444"


def test_secrets_resolve_from_env_and_files_relative_to_the_config_and_never_show(tmp_path: Path) -> None:
    (tmp_path / "app.secret").write_text("app-secret-value\n", encoding="utf-8")
    config = set_key(good(), "app.secret", "file:app.secret")
    config["credentials"][0]["client_secret"] = "env:XT_TEST_READER_SECRET"
    settings = load(write(tmp_path, config), RunOptions(), {"XT_TEST_READER_SECRET": "reader-secret-value"})
    assert settings.app_secret is not None and settings.app_secret.reveal() == "app-secret-value"
    assert settings.credentials[0].secret is not None
    assert settings.credentials[0].secret.reveal() == "reader-secret-value"
    assert "secret-value" not in repr(settings) and "secret-value" not in str(Secret("secret-value"))


def test_a_certificate_credential_is_read_and_checked(tmp_path: Path) -> None:
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    cert = make_app_cert("reader", now - dt.timedelta(days=1), now + dt.timedelta(days=30))
    (tmp_path / "reader.pem").write_bytes(cert.key_pem + cert.cert_pem)
    config = good()
    config["credentials"][0] = {"tenant_id": B, "client_id": READER, "certificate": {"path": "reader.pem"}}
    settings = load(write(tmp_path, config), RunOptions(), {})
    pem = settings.credentials[0].certificate
    assert pem is not None and "BEGIN CERTIFICATE" in pem.certificate
    assert "PRIVATE KEY" not in repr(settings)
    (tmp_path / "reader.pem").write_bytes(cert.cert_pem)
    with pytest.raises(ConfigError, match=r"credentials\[0\].certificate.path: .* holds no private key; put"):
        load(write(tmp_path, config), RunOptions(), {})


def test_the_http_section_is_optional_and_each_key_keeps_its_default_when_omitted(tmp_path: Path) -> None:
    assert load(write(tmp_path, good()), RunOptions(), {}).http == HttpOptions()
    config = set_key(good(), "http", {"retries": 1, "read_timeout": 5, "dataverse_page_size": 500.0,
                                      "request_timeout": 20, "max_response_mb": 8.0, "max_run_mb": 512})
    http = load(write(tmp_path, config), RunOptions(), {}).http
    assert http == HttpOptions(retries=1, read_timeout=5.0, dataverse_page_size=500, request_timeout=20.0,
                               max_response_mb=8, max_run_mb=512)
    assert isinstance(http.dataverse_page_size, int) and isinstance(http.read_timeout, float)
    assert isinstance(http.max_response_mb, int) and isinstance(http.request_timeout, float)


def test_whole_numbers_written_with_a_decimal_point_are_whole_numbers(tmp_path: Path) -> None:
    config = set_key(good(), "thresholds", {"sync_stale_hours": 24.0, "alert_lookback_days": 7})
    thresholds = load(write(tmp_path, config), RunOptions(), {}).thresholds
    assert thresholds.sync_stale_hours == 24 and isinstance(thresholds.sync_stale_hours, int)
    with pytest.raises(ConfigError, match="thresholds.sync_stale_hours"):
        load(write(tmp_path, set_key(good(), "thresholds", {"sync_stale_hours": 24.5})), RunOptions(), {})


def test_guids_are_lower_cased_and_a_domain_is_accepted_for_tenant_b(tmp_path: Path) -> None:
    config = set_key(good(), "exchange.tenant_id", "Contoso.com")
    config["dynamics"]["tenant_id"] = A.upper()
    settings = load(write(tmp_path, config), RunOptions(), {})
    assert settings.dynamics_tenant == A
    assert settings.exchange_tenant == "contoso.com"


def test_an_encrypted_certificate_key_needs_its_password(tmp_path: Path) -> None:
    import datetime as dt

    from checks.sandbox.pki import key_pem

    now = dt.datetime.now(dt.UTC)
    cert = make_app_cert("reader", now - dt.timedelta(days=1), now + dt.timedelta(days=30))
    (tmp_path / "reader.pem").write_bytes(key_pem(cert.key, "pem-pass-123") + cert.cert_pem)
    (tmp_path / "pem.pass").write_text("pem-pass-123", encoding="utf-8")
    config = good()
    config["credentials"][0] = {"tenant_id": B, "client_id": READER, "certificate": {"path": "reader.pem"}}
    with pytest.raises(ConfigError, match="is encrypted; add certificate.password"):
        load(write(tmp_path, config), RunOptions(), {})
    config["credentials"][0]["certificate"]["password"] = "file:pem.pass"
    pem = load(write(tmp_path, config), RunOptions(), {}).credentials[0].certificate
    assert pem is not None and pem.msal_credential()["passphrase"] == "pem-pass-123"
    (tmp_path / "pem.pass").write_text("wrong-pass", encoding="utf-8")
    with pytest.raises(ConfigError, match="does not open"):
        load(write(tmp_path, config), RunOptions(), {})


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("xtcheck.yaml", "dynamics:\n  tenant_id: a\n  tenant_id: b\n",
     "is not valid YAML (line 3, column 3): holds the key 'tenant_id' twice in one mapping (first on line 2); "
     "keep one"),
    ("xtcheck.json", '{"dynamics": {"tenant_id": "a", "tenant_id": "b"}}',
     "is not valid JSON: an object holds the key 'tenant_id' twice; keep one"),
    ("xtcheck.yaml", "credentials:\n  - Abc123XyzSecret9: 1\n    Abc123XyzSecret9: 2\n",
     "holds a key twice in one mapping (first on line 2); keep one"),  # not a name: not repeated
])
def test_a_key_written_twice_is_a_config_error_not_the_last_one_winning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, expected: str) -> None:
    assert main(["audit", "--config", str(write(tmp_path, text, name))]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.splitlines()) == 1 and "Abc123XyzSecret9" not in err


def test_a_merge_key_may_still_override_what_it_merges(tmp_path: Path) -> None:
    from checks.parsing import load_yaml

    assert load_yaml("base: &b {a: 1, b: 2}\nuse:\n  <<: *b\n  b: 3\n") == {"base": {"a": 1, "b": 2},
                                                                           "use": {"a": 1, "b": 3}}

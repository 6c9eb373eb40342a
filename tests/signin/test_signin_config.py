"""Credential kinds in the config: exactly one per credential, each mistake one line (exit 2) naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import schemas
from checks.cli import main
from checks.config import load
from checks.settings import ManagedIdentity, RunOptions

A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
IDENTITY = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmNvbnRvc28vY29uZmlnIn0.c2lnbmF0dXJl"


def write(tmp_path: Path, credential: dict[str, Any]) -> Path:
    (tmp_path / "reader.secret").write_text("reader-secret-value", encoding="utf-8")
    (tmp_path / "github.jwt").write_text(JWT + "\n", encoding="utf-8")
    config = {
        "dynamics": {"environment_url": "https://contoso.crm4.dynamics.com", "tenant_id": A},
        "exchange": {"tenant_id": B},
        "credentials": [{"tenant_id": B, **credential}],
    }
    path = tmp_path / "xtcheck.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


GOOD: list[tuple[dict[str, Any], str]] = [
    ({"client_id": READER, "client_secret": "file:reader.secret"}, "client_secret"),
    ({"client_id": READER, "device_code": True}, "device_code"),
    ({"managed_identity": True}, "managed_identity"),
    ({"managed_identity": {"client_id": IDENTITY}}, "managed_identity"),
    ({"client_id": IDENTITY, "managed_identity": {"client_id": IDENTITY.upper()}}, "managed_identity"),
    ({"client_id": READER, "federated_token_file": "github.jwt"}, "federated_token_file"),
]


@pytest.mark.parametrize(("credential", "kind"), GOOD, ids=[k + str(i) for i, (_, k) in enumerate(GOOD)])
def test_each_kind_loads(tmp_path: Path, credential: dict[str, Any], kind: str) -> None:
    jsonschema.Draft202012Validator(schemas.load("config")).validate(
        yaml.safe_load(write(tmp_path, credential).read_text(encoding="utf-8")))
    loaded = load(write(tmp_path, credential), RunOptions(), {}).credentials[0]
    assert loaded.kind == kind
    assert [loaded.secret is not None, loaded.device_code, loaded.managed_identity is not None,
            loaded.federated_token_file is not None].count(True) == 1


def test_a_managed_identity_is_system_assigned_unless_it_names_a_client_id(tmp_path: Path) -> None:
    system = load(write(tmp_path, {"managed_identity": True}), RunOptions(), {}).credentials[0]
    assert (system.managed_identity, system.client_id) == (ManagedIdentity(None), "")
    user = load(write(tmp_path, {"managed_identity": {"client_id": IDENTITY.upper()}}), RunOptions(), {})
    assert (user.credentials[0].managed_identity, user.credentials[0].client_id) == (ManagedIdentity(IDENTITY),
                                                                                      IDENTITY)


def test_the_federated_token_file_may_be_named_by_an_environment_variable(tmp_path: Path) -> None:
    """AKS workload identity sets AZURE_FEDERATED_TOKEN_FILE to the projected token's path."""
    path = write(tmp_path, {"client_id": READER, "federated_token_file": "env:AZURE_FEDERATED_TOKEN_FILE"})
    token = tmp_path / "projected" / "azure-identity-token"
    token.parent.mkdir()
    token.write_text(JWT, encoding="utf-8")
    loaded = load(path, RunOptions(), {"AZURE_FEDERATED_TOKEN_FILE": str(token)}).credentials[0]
    assert loaded.federated_token_file == token
    assert JWT not in repr(loaded), "the token itself is not kept: it is read at sign-in"


BROKEN: list[tuple[dict[str, Any], str, str]] = [
    ({"client_id": READER}, "credentials[0]", "needs one way to sign in: client_secret"),
    ({"client_id": READER, "client_secret": "file:reader.secret", "device_code": True}, "credentials[0]",
     "give only one way to sign in, not client_secret and device_code"),
    ({"client_id": READER, "managed_identity": True, "federated_token_file": "github.jwt"}, "credentials[0]",
     "not managed_identity and federated_token_file"),
    ({"client_id": READER, "device_code": False}, "credentials[0].device_code", "only true means something here"),
    ({"managed_identity": False}, "credentials[0].managed_identity", "only true (system-assigned) or"),
    ({"client_id": READER, "managed_identity": {"client_id": IDENTITY}}, "credentials[0].managed_identity",
     f"client_id {IDENTITY} differs from the credential's client_id {READER}"),
    ({"managed_identity": {"id": IDENTITY}}, "credentials[0].managed_identity", "missing required key 'client_id'"),
    ({"managed_identity": {"client_id": "not-a-guid"}}, "credentials[0].managed_identity.client_id",
     "is not a GUID"),
    ({"device_code": True}, "credentials[0]", "missing required key 'client_id'"),
    ({"client_id": READER, "federated_token_file": "no-such.jwt"}, "credentials[0].federated_token_file",
     "cannot read"),
    ({"client_id": READER, "federated_token_file": "reader.secret"}, "credentials[0].federated_token_file",
     "does not hold a JWT"),
    ({"client_id": READER, "federated_token_file": "env:XT_TEST_SURELY_UNSET_TOKEN_FILE"},
     "credentials[0].federated_token_file", "environment variable XT_TEST_SURELY_UNSET_TOKEN_FILE is not set"),
    ({"client_id": READER, "device_code": "yes"}, "credentials[0].device_code",
     "expected true or false, not the 3-character text given"),
]


@pytest.mark.parametrize(("credential", "key", "expected"), BROKEN, ids=[e[:40] for _, _, e in BROKEN])
def test_a_wrong_credential_is_one_line_naming_its_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       credential: dict[str, Any], key: str, expected: str) -> None:
    assert main(["audit", "--config", str(write(tmp_path, credential))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"xtcheck: config error: {key}: "), err
    assert expected in err

"""The secret canary: no client secret, reader secret, certificate password, private key or access token appears in
anything xtcheck shows (stdout, stderr, what is logged, every report format, the evidence snapshot), for every
built-in scenario, at every verbosity, and on the failure paths (a wrong reader secret, an unreachable login host,
an untrusted certificate, a secret pasted under the wrong config key)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from security_outputs import assert_no_leak, audit_args, files_in, report_of, run_cli, secrets_of

from checks.cli import main
from checks.sandbox.pki import key_pem, make_ca
from checks.sandbox.scenario import builtin_names
from checks.sandbox.server import Sandbox

StartSandbox = Callable[..., Sandbox]
PEM_PASSWORD = "canary-pem-pass-5Kq9"
WRONG_READER_SECRET = "canary-wrong-reader-secret-7Hx2"


@pytest.mark.parametrize("scenario", builtin_names())
def test_no_secret_in_any_output_of_any_scenario(start_sandbox: StartSandbox, tmp_path: Path, scenario: str,
                                                  capsys: pytest.CaptureFixture[str],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    cloud = start_sandbox(scenario)
    out = tmp_path / "out"
    code, texts = run_cli(audit_args(cloud.write_config(), out, "-v"), capsys, caplog)
    assert code in (0, 1, 3), texts["stderr"]
    assert {"xtcheck-report.json", "xtcheck-junit.xml", "xtcheck-report.html", "xtcheck-summary.md", "xtcheck.sarif",
            "evidence.json"} <= {Path(p).name for p in files_in(out)}
    secrets = secrets_of(cloud)
    assert secrets, "every scenario has secrets to look for"
    assert_no_leak({**texts, **files_in(out)}, secrets)


@pytest.mark.parametrize("loudness", [[], ["-q"], ["-q", "-q"], ["-v", "-v"]])
def test_no_secret_at_any_verbosity(start_sandbox: StartSandbox, tmp_path: Path, loudness: list[str],
                                    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    cloud = start_sandbox("demo")
    out = tmp_path / "out"
    code, texts = run_cli(audit_args(cloud.write_config(), out, *loudness), capsys, caplog)
    assert code == 1
    assert_no_leak({**texts, **files_in(out)}, secrets_of(cloud))


def certificate_reader(start_sandbox: StartSandbox, tmp_path: Path, password: str) -> tuple[Sandbox, Path, bytes]:
    """The healthy scenario with its reader signing in with a certificate whose key is encrypted; the config names
    the password by file:. Returns the sandbox, the config and the private key's PEM (unencrypted)."""
    path = tmp_path / "cert-reader.json"
    path.write_text(json.dumps({"name": "cert-reader", "summary": "reader uses a certificate", "extends": "healthy",
                                "patch": [{"op": "remove", "path": "/readers/0/secret"},
                                          {"op": "add", "path": "/readers/0/certificate", "value": "reader-cert"}]}),
                    encoding="utf-8")
    cloud = start_sandbox(str(path))
    config_path = cloud.write_config()
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    cert = cloud.certificate("reader-cert")
    for credential in config["credentials"]:
        pem = Path(credential["certificate"]["path"])
        pem.write_bytes(key_pem(cert.key, PEM_PASSWORD) + cert.cert_pem)
        (cloud.workdir / "pem.pass").write_text(password, encoding="utf-8")
        credential["certificate"]["password"] = f"file:{cloud.workdir / 'pem.pass'}"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return cloud, config_path, cert.key_pem


def key_lines(pem: bytes) -> list[str]:
    """The base64 lines of a PEM's body (what a leaked key would look like)."""
    return [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]


def test_a_certificate_reader_with_an_encrypted_key_leaks_neither_key_nor_password(
        start_sandbox: StartSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    cloud, config, private_key = certificate_reader(start_sandbox, tmp_path, PEM_PASSWORD)
    out = tmp_path / "out"
    code, texts = run_cli(audit_args(config, out, "-v"), capsys, caplog)
    assert code == 0, texts["stdout"][-2000:]
    assert {f["status"] for f in report_of(out)["findings"]} == {"pass"}
    encrypted = Path(yaml.safe_load(config.read_text(encoding="utf-8"))["credentials"][0]["certificate"]["path"])
    assert_no_leak({**texts, **files_in(out)},
                   [*secrets_of(cloud), PEM_PASSWORD, *key_lines(private_key), *key_lines(encrypted.read_bytes())])


def test_a_wrong_certificate_password_is_a_config_error_that_does_not_repeat_it(
        start_sandbox: StartSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    _, config, private_key = certificate_reader(start_sandbox, tmp_path, "canary-not-the-pem-pass-3Zt")
    code, texts = run_cli(audit_args(config, tmp_path / "out", "-v"), capsys, caplog)
    assert code == 2 and "does not open" in texts["stderr"]
    assert_no_leak(texts, [PEM_PASSWORD, "canary-not-the-pem-pass-3Zt", *key_lines(private_key)])


def test_a_wrong_reader_secret_is_not_repeated(start_sandbox: StartSandbox, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               caplog: pytest.LogCaptureFixture) -> None:
    cloud = start_sandbox("healthy")
    config = cloud.write_config()
    for secret_file in cloud.workdir.glob("auditor.secret"):
        secret_file.write_text(WRONG_READER_SECRET, encoding="utf-8")
    out = tmp_path / "out"
    code, texts = run_cli(audit_args(config, out, "-v"), capsys, caplog)
    assert code == 3
    assert any("AADSTS7000215" in f["message"] for f in report_of(out)["findings"])
    assert_no_leak({**texts, **files_in(out)}, [*secrets_of(cloud), WRONG_READER_SECRET])


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_login_host_leaks_nothing(start_sandbox: StartSandbox, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    cloud = start_sandbox("demo")
    path = cloud.write_config()
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["endpoints"]["login"] = f"https://127.0.0.1:{closed_port()}"
    config["http"] = {"retries": 1}  # a closed port stays closed: no need to wait out the default retries
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    code, texts = run_cli(audit_args(path, out, "-v"), capsys, caplog)
    assert code == 3
    assert any("cannot reach" in f["message"] for f in report_of(out)["findings"])
    assert_no_leak({**texts, **files_in(out)}, secrets_of(cloud))


def test_an_untrusted_certificate_leaks_nothing(start_sandbox: StartSandbox, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                caplog: pytest.LogCaptureFixture) -> None:
    cloud = start_sandbox("demo")
    path = cloud.write_config()
    other = tmp_path / "other-ca.pem"
    other.write_bytes(make_ca("another CA").cert_pem)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["tls"]["ca_bundle"] = str(other)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    code, texts = run_cli(audit_args(path, out, "-v"), capsys, caplog)
    assert code == 3
    assert_no_leak({**texts, **files_in(out)}, secrets_of(cloud))


# Client secrets as Entra issues them (with a "~"), and as older registrations hold them (base64 with / + =).
PASTED = ["Zr5~Kp2.valid-secret-value-2026", "Xq8Q~s1dF3GhJ5kL7zX9cV2bN4mQ6wE8rT0yU1iO",
          "k9Jd2/Lq+Vx7ZbN3wR5tY8uI0oP4aS6dF1gH3jK=", "Ab3dEf5gHi7jKl9mNo1pQr3sTu5vWx7yZa9bCd1e"]
CONFIG = {"dynamics": {"environment_url": "https://contoso.crm4.dynamics.com",
                       "tenant_id": "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"},
          "exchange": {"tenant_id": "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"},
          "app": {"client_id": "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"},
          "credentials": [{"tenant_id": "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c",
                           "client_id": "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3", "client_secret": "env:XT_SECRET"}]}


@pytest.mark.parametrize("secret", PASTED)
@pytest.mark.parametrize("key", ["exchange.tenant_id", "credentials.0.client_id", "dynamics.tenant_id",
                                 "app.client_id", "mailboxes", "credentials.0.tenant_id"])
def test_a_secret_pasted_under_the_wrong_key_is_not_repeated(tmp_path: Path, key: str, secret: str,
                                                             capsys: pytest.CaptureFixture[str],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    config = json.loads(json.dumps(CONFIG))
    *parents, last = key.split(".")
    node = config
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[last] = [secret] if last == "mailboxes" else secret
    path = tmp_path / "xtcheck.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    code, texts = run_cli(["audit", "--config", str(path)], capsys, caplog)
    assert code == 2 and texts["stderr"].startswith(f"xtcheck: config error: {key.replace('.0.', '[0].')}")
    assert_no_leak(texts, [secret])


def test_a_token_response_that_does_not_parse_leaks_no_token(start_sandbox: StartSandbox, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str],
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """msal logs the half token response with logging.exception on `msal.oauth2cli.oauth2`; a handler on `msal` (as
    run_cli attaches one, at DEBUG) sees that record, redacted, traceback included."""
    cloud = start_sandbox("healthy")
    cloud.add_fault("malformed", service="login", path=r"/oauth2/v2\.0/token", count=None)
    out = tmp_path / "out"
    code, texts = run_cli(audit_args(cloud.write_config(), out, "-v"), capsys, caplog)
    assert code == 3
    logged = texts["stderr (logging)"]
    assert "msal.oauth2cli.oauth2 Token response is not in json format: " in logged  # msal did log the body...
    assert '"access_token":"[redacted]' in logged and "Traceback" in logged  # ...and it reached the handler redacted
    assert_no_leak({**texts, **files_in(out)}, secrets_of(cloud))


@contextlib.contextmanager
def host_handler(where: str) -> Iterator[io.StringIO]:
    """What a host program does: a handler at DEBUG on one logger (the root: logging.basicConfig(level=DEBUG))."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    touched = {name: logging.getLogger(name) for name in {where, "msal", "httpx", "httpcore"}}
    saved = {name: (lg.level, lg.propagate) for name, lg in touched.items()}
    touched[where].addHandler(handler)
    touched[where].setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        touched[where].removeHandler(handler)
        for name, (level, propagate) in saved.items():
            touched[name].setLevel(level)
            touched[name].propagate = propagate


# Where the host program's handler sits -> what it must have seen (so the test is not passing on silence).
HANDLER_SEES = {
    "": ["httpx HTTP Request: POST https://", "httpcore.http11 receive_response_headers.complete"],
    "msal": ["msal.oauth2cli.oauth2 Token response is not in json format: "],
    "msal.oauth2cli.oauth2": ["msal.oauth2cli.oauth2 Token response is not in json format: "],
    "httpx": ["httpx HTTP Request: POST https://"],
    "httpcore": ["httpcore.http11 send_request_headers.started", "httpcore.http11 receive_response_body.complete"],
}


@pytest.mark.parametrize("malformed", [True, False], ids=["malformed-token-response", "healthy"])
@pytest.mark.parametrize("where", list(HANDLER_SEES), ids=[w or "root" for w in HANDLER_SEES])
def test_a_debug_handler_anywhere_sees_no_secret(start_sandbox: StartSandbox, tmp_path: Path, where: str,
                                                 malformed: bool, capsys: pytest.CaptureFixture[str]) -> None:
    """A host program's handler at DEBUG on the root logger, on msal's, on the logger msal logs the token response
    through, on httpx's or httpcore's: whatever reaches it carries no secret and no token (tokens flow on the
    healthy run: the token responses, then every read with its Authorization header)."""
    cloud = start_sandbox("healthy")
    if malformed:
        cloud.add_fault("malformed", service="login", path=r"/oauth2/v2\.0/token", count=None)
    out = tmp_path / "out"
    config = cloud.write_config()
    capsys.readouterr()
    with host_handler(where) as stream:
        code = main(audit_args(config, out, "-v", "-v"))
    captured = capsys.readouterr()
    assert code == (3 if malformed else 0), captured.out[-2000:]
    logged = stream.getvalue()
    expected = HANDLER_SEES[where] if malformed or not where.startswith("msal") else []
    assert all(line in logged for line in expected), logged[-3000:]
    assert_no_leak({"host handler": logged, "stdout": captured.out, "stderr": captured.err, **files_in(out)},
                   secrets_of(cloud))


def test_the_canary_would_notice_a_leak() -> None:
    """The detector itself: a secret, its start and a token are all caught."""
    token = "eyJhbGciOiJSUzI1NiJ9." + "e" * 120 + ".sig"
    for text in ("x Zr5~Kp2.valid-secret-value-2026 y", "prefix Zr5~Kp2.vali", f"Bearer {token}"):
        with pytest.raises(AssertionError):
            assert_no_leak({"stdout": text}, ["Zr5~Kp2.valid-secret-value-2026"])
    assert_no_leak({"stdout": "eyJhbGciOiJSUzI1NiJ9 is only a header"}, ["unrelated-secret-value"])

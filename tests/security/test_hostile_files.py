"""Hostile and unusual files, through the real command line: configs in Latin-1 or UTF-16, YAML and JSON bombs,
devices, FIFOs and oversized files wherever xtcheck reads a file (config, secrets, certificates, federated tokens,
CA bundles, waivers, snapshots, reports) or writes one (GITHUB_STEP_SUMMARY, --save-evidence, --output-dir), a
closed or broken stdout, a sandbox port out of range, secrets pasted under the wrong config key, and an
unexpected exception. Each ends with the documented exit code and one line (never a traceback), nothing raw for
the terminal on stdout or stderr, nothing left behind, and no hang: what could hang runs in a child process with a
timeout, so a regression fails instead of stopping the suite."""

from __future__ import annotations

import codecs
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.cli import main
from checks.files import CONFIG_LIMIT, DOCUMENT_LIMIT, MiB
from checks.sandbox.server import Sandbox

XTCHECK = [sys.executable, "-m", "checks.cli"]
HANG_GUARD = 60  # seconds a child may take before the test calls it hung (never an assertion on speed)
A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJl"
# C0 controls but newline, DEL and C1 controls: what may never reach a terminal raw.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")

needs_posix = pytest.mark.skipif(os.name != "posix", reason="FIFOs and device nodes are POSIX")
SH = shutil.which("sh") or "/bin/sh"


# -- helpers ---------------------------------------------------------------------------------------------------------


def clean(*texts: str) -> None:
    """No traceback and no raw control character in anything the command printed."""
    for text in texts:
        assert "Traceback" not in text, text
        assert not RAW_CONTROL.search(text), repr(text)


def one_line(err: str, *expected: str) -> str:
    """stderr is exactly one line holding every `expected` piece."""
    assert err.endswith("\n") and err.count("\n") == 1, err
    for piece in expected:
        assert piece in err, err
    return err


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`xtcheck ARGS` in-process: exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    clean(captured.out, captured.err)
    return code, captured.out, captured.err


def child(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`xtcheck ARGS` in a child process (anything that could hang); a hang fails the test after HANG_GUARD."""
    done = subprocess.run([*XTCHECK, *args], capture_output=True, text=True, timeout=HANG_GUARD, check=False,
                          env={**os.environ, **(env or {})}, cwd=cwd)
    clean(done.stdout, done.stderr)
    return done


def good() -> dict[str, Any]:
    return {"dynamics": {"environment_url": "https://contoso.crm4.dynamics.com", "tenant_id": A},
            "exchange": {"tenant_id": B},
            "credentials": [{"tenant_id": B, "client_id": READER, "client_secret": "file:reader.secret"}]}


def write_config(folder: Path, config: dict[str, Any] | str, name: str = "xtcheck.yaml") -> Path:
    (folder / "reader.secret").write_text("reader-secret-from-a-file", encoding="utf-8")
    path = folder / name
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config), encoding="utf-8")
    return path


def sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk space: the size cap must refuse it before anything is read."""
    with path.open("wb") as file:
        file.truncate(size)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


DEEP = 100_000
DEEP_YAML = "dynamics: " + "[" * DEEP + "]" * DEEP + "\n"
DEEP_JSON = "[" * DEEP + "]" * DEEP


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo scenario's evidence snapshot and JSON report (`demo --save-evidence --format json`)."""
    folder = tmp_path_factory.mktemp("demo")
    code = main(["demo", "-q", "--save-evidence", str(folder / "snapshot.json"), "--format", "json",
                 "--output-dir", str(folder)])
    assert code == 1
    return folder


# -- the config file -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-8"])
def test_a_config_with_a_byte_order_mark_is_read(sandbox: Sandbox, tmp_path: Path, encoding: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """What Windows PowerShell's `>` writes (UTF-16 with a BOM), and UTF-8 with a BOM, audit like UTF-8."""
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE, "utf-8": codecs.BOM_UTF8}[encoding]
    config = tmp_path / "xtcheck.yaml"
    config.write_bytes(bom + yaml.safe_dump(sandbox.config()).encode(encoding))
    code, out, err = run(capsys, "audit", "--config", str(config), "-q")
    assert (code, err) == (0, ""), err
    assert "PASS —" in out


@pytest.mark.parametrize(("content", "expected"), [
    ("dynamics:\n  profile: Caf\u00e9\n".encode("latin-1"),
     ["is not UTF-8 text (byte 0xe9 on line 2)", "iconv -f latin1"]),
    ("dynamics: {}\n".encode("utf-16-le"), ["holds NUL characters", "UTF-16 without a byte order mark"]),
    (codecs.BOM_UTF16_LE + b"d\x00\x00\xd8", ["starts with a UTF-16 byte order mark but is not UTF-16 text"]),
])
def test_a_config_in_another_encoding_is_one_line_saying_how_to_convert_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: list[str]) -> None:
    config = tmp_path / "xtcheck.yaml"
    config.write_bytes(content)
    code, out, err = run(capsys, "audit", "--config", str(config))
    assert (code, out) == (2, "")
    one_line(err, "xtcheck: config error: the config file ", *expected)


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("laughs.yaml", billion_laughs(), "its aliases expand to more than 1,000,000 values"),
    ("loop.yaml", "dynamics: &d [*d]\n", "an alias names the node that holds it"),
    ("deep.yaml", DEEP_YAML, "is not valid YAML (line 1, column 74): nests lists and mappings more than 64 levels"),
    ("deep.json", DEEP_JSON, "is not valid JSON: nests lists and mappings more than 64 levels deep"),
    ("aliased-deep.yaml", "a: &a [[[[[[[[[[x]]]]]]]]]]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [[[[[[[[[[*{chr(97 + i)}]]]]]]]]]]\n" for i in range(8)),
     "more than 64 levels deep, which no xtcheck file does (through its aliases)"),
    ("digits.yaml", "http:\n  retries: " + "9" * 5000 + "\n", "(line 2, column 12): holds a date or number that"),
    ("date.yaml", "waivers: 2027-02-30\n", "(line 1, column 10): holds a date or number that cannot be read"),
])
def test_a_yaml_or_json_bomb_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                                                   content: str, expected: str) -> None:
    code, out, err = run(capsys, "audit", "--config", str(write_config(tmp_path, content, name)))
    assert (code, out) == (2, "")
    one_line(err, "xtcheck: config error: ", expected)


@needs_posix
@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "a character device"), ("/dev/null", "a character device"),
                                            (".", "a folder")])
def test_a_config_that_is_no_regular_file_is_refused_before_it_is_read(
        capsys: pytest.CaptureFixture[str], path: str, kind: str) -> None:
    code, out, err = run(capsys, "audit", "--config", path)
    assert (code, out) == (2, "")
    one_line(err, f"xtcheck: config error: the config file {path} is {kind}, not a regular file")


@needs_posix
def test_a_fifo_config_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    done = child("audit", "--config", str(fifo(tmp_path / "xtcheck.yaml")))
    assert (done.returncode, done.stdout) == (2, "")
    one_line(done.stderr, "is a FIFO (named pipe), not a regular file; give the path of a file")


def test_a_200_mb_config_is_refused_by_the_size_cap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "audit", "--config", str(sparse(tmp_path / "huge.yaml", 200 * MiB)))
    assert code == 2
    one_line(err, "huge.yaml is 200.0 MB, larger than the 4.0 MB xtcheck reads for it")
    just_over = tmp_path / "over.yaml"
    just_over.write_text("#" * CONFIG_LIMIT + "\n", encoding="utf-8")
    assert run(capsys, "audit", "--config", str(just_over))[0] == 2


# -- files the config names ------------------------------------------------------------------------------------------


def config_naming(tmp_path: Path, key: str, target: str) -> Path:
    """A config whose `key` (a reader's secret, certificate or token file, the CA bundle or the organization config
    export) names `target`."""
    config = good()
    credential = config["credentials"][0]
    if key == "client_secret":
        credential["client_secret"] = f"file:{target}"
    elif key == "certificate":
        del credential["client_secret"]
        credential["certificate"] = {"path": target}
    elif key == "federated_token_file":
        del credential["client_secret"]
        credential["federated_token_file"] = target
    elif key == "org_config_export":
        config["exchange"]["org_config_export"] = target
    else:
        config["tls"] = {"ca_bundle": target}
    return write_config(tmp_path, config)


KEYS = {"client_secret": "credentials[0].client_secret: the secret file",
        "certificate": "credentials[0].certificate.path: the certificate file",
        "federated_token_file": "credentials[0].federated_token_file: the federated token file",
        "ca_bundle": "tls.ca_bundle: the CA bundle",
        "org_config_export": "exchange.org_config_export: the organization config export"}


@needs_posix
@pytest.mark.parametrize("key", KEYS)
def test_dev_zero_where_a_file_is_named_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   key: str) -> None:
    """/dev/zero as a secret, certificate, token or CA file filled 3.7 GB of memory before."""
    code, out, err = run(capsys, "audit", "--config", str(config_naming(tmp_path, key, "/dev/zero")))
    assert (code, out) == (2, "")
    one_line(err, f"xtcheck: config error: {KEYS[key]} /dev/zero is a character device, not a regular file")


@needs_posix
@pytest.mark.parametrize("key", KEYS)
def test_a_fifo_where_a_file_is_named_does_not_hang(tmp_path: Path, key: str) -> None:
    """A FIFO nobody writes to blocked the loader for ever (and --timeout does not cover loading)."""
    fifo(tmp_path / "pipe")
    done = child("audit", "--config", str(config_naming(tmp_path, key, "pipe")))
    assert (done.returncode, done.stdout) == (2, "")
    one_line(done.stderr, f"{KEYS[key]} ", "pipe is a FIFO (named pipe), not a regular file")


@pytest.mark.parametrize("key", ["client_secret", "certificate", "federated_token_file"])
def test_a_secret_file_over_its_cap_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str) -> None:
    sparse(tmp_path / "big", 2 * MiB)
    code, _, err = run(capsys, "audit", "--config", str(config_naming(tmp_path, key, "big")))
    assert code == 2
    one_line(err, f"{KEYS[key]} ", "big is 2.0 MB, larger than the 1.0 MB xtcheck reads for it")


def test_a_utf16_secret_file_signs_in(sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A secret file written by PowerShell's `>` (UTF-16 with a BOM) holds the secret, not an encoding error."""
    config = sandbox.config()
    for credential in config["credentials"]:
        original = Path(credential["client_secret"].removeprefix("file:"))
        copy = tmp_path / f"{original.name}.utf16"
        copy.write_bytes(original.read_text(encoding="utf-8").encode("utf-16"))
        credential["client_secret"] = f"file:{copy}"
    code, _, err = run(capsys, "audit", "--config", str(write_config(tmp_path, config)), "-q")
    assert (code, err) == (0, "")


def test_a_ca_bundle_without_a_certificate_is_a_config_error(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """It was a 31-line ssl.SSLError traceback at the first request."""
    (tmp_path / "ca.pem").write_text("not a certificate\n", encoding="utf-8")
    code, out, err = run(capsys, "audit", "--config", str(config_naming(tmp_path, "ca_bundle", "ca.pem")))
    assert (code, out) == (2, "")
    one_line(err, "xtcheck: config error: tls.ca_bundle: ", "ca.pem holds no certificate OpenSSL can read")


# -- waivers, snapshots and reports ----------------------------------------------------------------------------------


HOSTILE_JSON: dict[str, tuple[bytes, str]] = {
    "latin-1": ('{"x": "caf\u00e9"}'.encode("latin-1"), "is not UTF-8 text (byte 0xe9 on line 1)"),
    "deep": (DEEP_JSON.encode(), "nests lists and mappings more than 64 levels deep"),
}


@pytest.mark.parametrize("case", HOSTILE_JSON)
def test_a_hostile_snapshot_or_report_is_one_line(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  case: str) -> None:
    content, expected = HOSTILE_JSON[case]
    hostile = tmp_path / "hostile.json"
    hostile.write_bytes(content)
    for args in (["evaluate", str(hostile)], ["diff", str(hostile), str(demo / "xtcheck-report.json")],
                 ["diff", str(demo / "xtcheck-report.json"), str(hostile)]):
        code, out, err = run(capsys, *args)
        assert (code, out) == (2, ""), args
        one_line(err, "xtcheck: ", "hostile.json", expected)


def test_64_levels_are_read_and_65_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The nesting cap is exact: 64 levels parse (and are then judged as a report), 65 do not."""
    for depth, expected in ((64, "the document is not an object"), (65, "nests lists and mappings more than 64")):
        report = tmp_path / f"{depth}.json"
        report.write_text("[" * depth + "]" * depth, encoding="utf-8")
        code, _, err = run(capsys, "diff", str(report), str(report))
        assert code == 2
        one_line(err, f"{depth}.json is not an xtcheck JSON report: ", expected)


@needs_posix
@pytest.mark.parametrize("command", ["evaluate", "diff-old", "diff-new", "waivers"])
def test_devices_fifos_and_oversized_files_are_refused_for_every_input(demo: Path, tmp_path: Path,
                                                                       command: str) -> None:
    """/dev/zero, a FIFO, a folder and a sparse file over the cap, as the snapshot, either report or the waivers."""
    report, snapshot = str(demo / "xtcheck-report.json"), str(demo / "snapshot.json")
    cap = CONFIG_LIMIT if command == "waivers" else DOCUMENT_LIMIT
    cases = {"/dev/zero": "is a character device", str(fifo(tmp_path / "pipe.json")): "is a FIFO (named pipe)",
             str(tmp_path): "is a folder", str(sparse(tmp_path / "big.json", cap + 1)): "larger than the"}
    for target, expected in cases.items():
        args = {"evaluate": ["evaluate", target], "diff-old": ["diff", target, report],
                "diff-new": ["diff", report, target], "waivers": ["evaluate", snapshot, "--waivers", target]}[command]
        done = child(*args)
        assert (done.returncode, done.stdout) == (2, ""), (args, done.stderr)
        one_line(done.stderr, "xtcheck: ", expected)


@pytest.mark.parametrize("content", [billion_laughs(), DEEP_YAML, "\u00e9".encode("latin-1")])
def test_a_hostile_waiver_file_is_one_line(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           content: str | bytes) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, out, err = run(capsys, "evaluate", str(demo / "snapshot.json"), "--waivers", str(waivers))
    assert (code, out) == (2, "")
    one_line(err, "xtcheck: waiver file ", "waivers.yaml")


def test_a_utf16_snapshot_and_report_are_read(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A snapshot or report passed through PowerShell (UTF-16 with a BOM) reads the same: its seal is checked on
    the data, not the bytes."""
    for name in ("snapshot.json", "xtcheck-report.json"):
        (tmp_path / name).write_bytes((demo / name).read_text(encoding="utf-8").encode("utf-16"))
    assert run(capsys, "evaluate", str(tmp_path / "snapshot.json"), "-q")[0] == 1
    code, out, _ = run(capsys, "diff", str(tmp_path / "xtcheck-report.json"), str(demo / "xtcheck-report.json"))
    assert code == 0 and out.endswith("no changes\n")


# -- outputs ---------------------------------------------------------------------------------------------------------


@needs_posix
@pytest.mark.parametrize("target", ["/dev/zero", "/dev/full", "fifo"])
def test_a_step_summary_that_is_no_regular_file_is_a_warning_and_the_verdict_stands(demo: Path, tmp_path: Path,
                                                                                   target: str) -> None:
    """/dev/zero was a MemoryError, /dev/full grew without end, a FIFO hung."""
    path = str(fifo(tmp_path / "summary")) if target == "fifo" else target
    before = os.stat(path)
    done = child("evaluate", str(demo / "snapshot.json"), "-q", env={"GITHUB_STEP_SUMMARY": path})
    assert done.returncode == 1, done.stderr  # the demo's verdict, as without the summary
    one_line(done.stderr, f"xtcheck: cannot append to GITHUB_STEP_SUMMARY ({path}): ", "not a regular file",
             "the job summary was not written")
    after = os.stat(path)
    assert (stat.S_IFMT(after.st_mode), after.st_rdev) == (stat.S_IFMT(before.st_mode), before.st_rdev)


@needs_posix
def test_save_evidence_never_replaces_a_device_node_or_a_fifo(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    for target in ("/dev/null", str(fifo(tmp_path / "evidence.json"))):
        before = os.stat(target)
        code, out, err = run(capsys, "demo", "-q", "--save-evidence", target)
        assert (code, out) == (2, "")
        one_line(err, "xtcheck: --save-evidence: ", "not a regular file; xtcheck writes only regular files")
        after = os.stat(target)
        assert (after.st_mode, after.st_rdev, after.st_ino) == (before.st_mode, before.st_rdev, before.st_ino)


@needs_posix
def test_a_report_path_taken_by_a_fifo_is_left_alone(demo: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    fifo(out / "xtcheck-report.json")
    code, _, err = run(capsys, "evaluate", str(demo / "snapshot.json"), "-q", "--format", "json",
                       "--output-dir", str(out))
    assert code == 2
    one_line(err, "xtcheck: cannot write reports to ", "'xtcheck-report.json' is a fifo (named pipe), not a regular")
    assert stat.S_ISFIFO(os.stat(out / "xtcheck-report.json").st_mode)
    assert [p.name for p in out.iterdir()] == ["xtcheck-report.json"], "no temporary file is left"


@needs_posix
@pytest.mark.parametrize("command", [["checks"], ["evaluate", "SNAPSHOT", "-q"]])
def test_a_closed_stdout_is_no_crash(demo: Path, command: list[str]) -> None:
    """`xtcheck ... >&-`: Python's sys.stdout is None, which was an AttributeError."""
    args = [str(demo / "snapshot.json") if a == "SNAPSHOT" else a for a in command]
    done = subprocess.run([SH, "-c", 'exec "$0" "$@" >&-', *XTCHECK, *args], capture_output=True, text=True,
                          timeout=HANG_GUARD, check=False)
    assert done.returncode == (0 if command == ["checks"] else 1), done.stderr
    assert done.stderr == ""


@needs_posix
def test_a_reader_that_leaves_early_is_no_crash() -> None:
    """`xtcheck checks | head -1`."""
    done = subprocess.run([SH, "-c", '"$0" "$@" checks -v | head -1', *XTCHECK], capture_output=True, text=True,
                          timeout=HANG_GUARD, check=False)
    assert done.returncode == 0 and done.stdout.count("\n") == 1
    clean(done.stderr)
    assert done.stderr == ""


# -- the sandbox's port ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["70000", "-1", "65534"])
def test_sandbox_serve_refuses_a_port_out_of_range_and_leaves_nothing(tmp_path: Path, port: str) -> None:
    """--port 70000 was an OverflowError that left the temporary folder with the sandbox's private keys."""
    done = child("sandbox", "serve", "--port", port, env={"TMPDIR": str(tmp_path)})
    assert (done.returncode, done.stdout) == (2, "")
    one_line(done.stderr, f"xtcheck: --port {port} is out of range", "give N from 1 to 65531, or 0")
    assert list(tmp_path.iterdir()) == []


# -- secrets pasted under the wrong key ------------------------------------------------------------------------------


CANARY = "Zr5~XtCanary8Q.k2Vb_Wm3nT7yLd-4pQ"  # shaped like an Entra client secret
WORDLIKE = "Kq7vXtCanaryRw2Lm9Tz"  # letters and digits only, upper and lower case mixed


def _credential(config: dict[str, Any], **kind: Any) -> None:
    config["credentials"][0] = {"tenant_id": B, "client_id": READER, **kind}


def _custom(config: dict[str, Any], secret: str) -> None:
    config.update(cloud="custom", endpoints={"login": f"https://{secret}", "graph": "https://graph.example.com",
                                             "exchange_resource": "https://outlook.example.com"})


PASTE = {  # where a secret was pasted -> how it changes the good config
    "file: path": lambda c, s: _credential(c, client_secret=f"file:{s}"),
    "env: name": lambda c, s: _credential(c, client_secret=f"env:{s}"),
    "profile list": lambda c, s: c["dynamics"].update(profile=[s]),
    "unknown key": lambda c, s: c["dynamics"].update({s: "x"}),
    "unknown key's value": lambda c, s: c["dynamics"].update(secret=s),
    "cloud": lambda c, s: c.update(cloud=s),
    "endpoints.login": _custom,
    "environment_url": lambda c, s: c["dynamics"].update(environment_url=s),
    "environment_url with https": lambda c, s: c["dynamics"].update(environment_url=f"https://x:{s}@a.com"),
    "tenant_id": lambda c, s: c["dynamics"].update(tenant_id=s),
    "mailboxes": lambda c, s: c.update(mailboxes=[s]),
    "certificate path": lambda c, s: _credential(c, certificate={"path": s}),
    "federated_token_file": lambda c, s: _credential(c, federated_token_file=s),
    "tls.ca_bundle": lambda c, s: c.update(tls={"ca_bundle": s}),
}


def pasted(where: str, secret: str) -> dict[str, Any]:
    """The good config with `secret` pasted where `where` says."""
    config = good()
    PASTE[where](config, secret)
    return config


@pytest.mark.parametrize("secret", [CANARY, WORDLIKE])
@pytest.mark.parametrize("where", PASTE)
def test_a_config_error_never_repeats_a_pasted_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str,
                                                      secret: str) -> None:
    code, out, err = run(capsys, "audit", "--config", str(write_config(tmp_path, pasted(where, secret))))
    assert (code, out) == (2, ""), err
    one_line(err, "xtcheck: config error: ")
    for form in (secret, secret.lower(), secret[:8]):
        assert form not in err, f"the secret pasted as {where} was repeated: {err}"


def test_a_config_error_still_names_the_key_and_what_was_wrong(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Kind and length instead of the value, and did-you-mean from key names."""
    expected = {"profile list": "dynamics.profile: expected text, not a list of 1 item",
                "unknown key": "dynamics: unknown key of 20 characters (not repeated here: it may be a secret); ",
                "cloud": "cloud: the 20-character text given is not one of public, usgov, usgov-dod, china, custom",
                "environment_url": "dynamics.environment_url: the 20-character text given is not an https URL with "
                                   "a host name",
                "env: name": "the environment variable named by the 20 characters after env: (not repeated here"}
    for where, text in expected.items():
        err = run(capsys, "audit", "--config", str(write_config(tmp_path, pasted(where, WORDLIKE))))[2]
        one_line(err, text)
    config = good()
    config["dynamics"]["enviroment_url"] = "https://contoso.crm4.dynamics.com"
    one_line(run(capsys, "audit", "--config", str(write_config(tmp_path, config)))[2],
             "unknown key 'enviroment_url'; did you mean 'environment_url'?")


@pytest.mark.parametrize("url", ["https://contoso .crm4.dynamics.com", "https://user:pw@contoso.crm4.dynamics.com",
                                 "https://contoso", "https://[::1", "https://contoso.crm4.dynamics.com:99999"])
def test_an_environment_url_must_have_a_host_name(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  url: str) -> None:
    config = good()
    config["dynamics"]["environment_url"] = url
    code, _, err = run(capsys, "audit", "--config", str(write_config(tmp_path, config)))
    assert code == 2
    one_line(err, "dynamics.environment_url: ", "is not an https URL with a host name")


# -- an unexpected exception -----------------------------------------------------------------------------------------

HOSTILE_ENVIRONMENT = f"""
import os, sys
from collections.abc import Mapping

class Unreadable(Mapping):
    '''A process environment whose xtcheck variables cannot be read: an unexpected exception deep in a command.'''
    def __init__(self, real):
        self.real = dict(real)
    def __getitem__(self, key):
        if key.startswith("XT_"):
            raise RuntimeError("cannot read " + key + " \\x1b[31m Bearer {JWT}")
        return self.real[key]
    def __iter__(self):
        return iter(self.real)
    def __len__(self):
        return len(self.real)

os.environ = Unreadable(os.environ)
from checks.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_an_unexpected_exception_is_one_line_and_exit_4(tmp_path: Path, debug: list[str]) -> None:
    """Exit 1 means a check failed: a crash has its own code, says what failed in one line (redacted, escaped),
    and prints the trace only with --debug."""
    config = good()
    config["credentials"][0]["client_secret"] = "env:XT_READER_SECRET"
    args = [sys.executable, "-c", HOSTILE_ENVIRONMENT, "audit", "--config", str(write_config(tmp_path, config)),
            *debug]
    done = subprocess.run(args, capture_output=True, text=True, timeout=HANG_GUARD, check=False,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert (done.returncode, done.stdout) == (4, "")
    assert not RAW_CONTROL.search(done.stderr) and JWT not in done.stderr
    *trace, last = done.stderr.splitlines()
    assert last.startswith("xtcheck: internal error: RuntimeError: cannot read XT_READER_SECRET \\x1b[31m Bearer "
                           "[redacted] (in checks/config.py line "), last
    if debug:
        assert trace[0] == "Traceback (most recent call last):" and last.endswith("; the full trace is above")
        assert "[redacted]" in trace[-1]
    else:
        assert trace == [] and last.endswith("; run again with --debug for the full trace")


def test_the_help_lists_exit_code_4() -> None:
    help_text = child("--help").stdout
    assert "  4  xtcheck itself failed (an internal error)" in help_text
    assert "--debug" in help_text


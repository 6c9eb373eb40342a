"""Signed evidence: `--sign-key` writes a signature beside each file a run writes; `--verify-key` refuses a snapshot
or a report whose signature does not verify, including an edit made on purpose with the digest computed again,
which the snapshot's own sha256 cannot catch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from checks import snapshot
from checks.cli import main

PUBLIC = (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_key(folder: Path, name: str, key: object, password: bytes | None = None) -> tuple[Path, Path]:
    """The private key (PKCS#8 PEM, encrypted with `password`) and its public key, written into `folder`."""
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    private = folder / f"{name}.pem"
    private.write_bytes(key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    public = folder / f"{name}.pub.pem"
    public.write_bytes(key.public_key().public_bytes(*PUBLIC))  # type: ignore[attr-defined]
    return private, public


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The demo's JSON and HTML reports and snapshot, signed with an Ed25519 key: (folder, private, public)."""
    folder = tmp_path_factory.mktemp("signed")
    private, public = write_key(folder, "signer", ed25519.Ed25519PrivateKey.generate())
    code = main(["demo", "-q", "--format", "json,html", "--output-dir", str(folder / "out"), "--save-evidence",
                 str(folder / "out" / "evidence.json"), "--sign-key", str(private)])
    assert code == 1
    return folder, private, public


def test_every_file_the_run_writes_has_a_signature_beside_it(signed: tuple[Path, Path, Path]) -> None:
    out = signed[0] / "out"
    written = sorted(p.name for p in out.iterdir())
    assert written == ["evidence.json", "evidence.json.sig", "xtcheck-report.html", "xtcheck-report.html.sig",
                       "xtcheck-report.json", "xtcheck-report.json.sig"]
    signature = json.loads((out / "evidence.json.sig").read_text(encoding="utf-8"))
    assert (signature["format"], signature["file"], signature["algorithm"]) == \
        ("xtcheck-signature/1", "evidence.json", "Ed25519")


def test_a_signed_snapshot_and_reports_verify(signed: tuple[Path, Path, Path]) -> None:
    folder, _, public = signed
    out = folder / "out"
    assert main(["evaluate", str(out / "evidence.json"), "-q", "--verify-key", str(public)]) == 1  # the verdict
    report = str(out / "xtcheck-report.json")
    assert main(["diff", report, report, "--verify-key", str(public)]) == 0


def test_an_edit_with_its_digest_computed_again_passes_the_seal_but_not_the_signature(
        signed: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, _, public = signed
    edited = tmp_path / "evidence.json"
    data = json.loads((folder / "out" / "evidence.json").read_text(encoding="utf-8"))
    data["now"] = data["now"].replace("20", "19", 1)  # a year moved: dates are judged against another day
    data["sha256"] = snapshot.digest({k: v for k, v in data.items() if k != "sha256"})
    edited.write_text(json.dumps(data), encoding="utf-8")
    shutil.copy(folder / "out" / "evidence.json.sig", tmp_path / "evidence.json.sig")
    assert main(["evaluate", str(edited), "-q"]) in (0, 1, 3)  # the seal is not a signature: it passes
    capsys.readouterr()
    assert main(["evaluate", str(edited), "-q", "--verify-key", str(public)]) == 2
    assert capsys.readouterr().err == f"xtcheck: {edited} does not verify: it was changed after it was signed (or " \
                                      "its signature was)\n"


@pytest.mark.parametrize(("break_it", "says"), [
    ("missing", "has no signature beside it"),
    ("renamed", "signs another file ('evidence.json'), not"),
    ("other key", "was signed with another key than the one given to --verify-key"),
    ("not a signature", "is not an xtcheck signature (xtcheck-signature/1)"),
])
def test_what_does_not_verify_is_exit_2_and_says_why(signed: tuple[Path, Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str], break_it: str,
                                                     says: str) -> None:
    folder, _, public = signed
    target = tmp_path / ("copy.json" if break_it == "renamed" else "evidence.json")
    shutil.copy(folder / "out" / "evidence.json", target)
    if break_it != "missing":
        shutil.copy(folder / "out" / "evidence.json.sig", target.with_name(target.name + ".sig"))
    if break_it == "other key":
        _, public = write_key(tmp_path, "other", ed25519.Ed25519PrivateKey.generate())
    if break_it == "not a signature":
        target.with_name(target.name + ".sig").write_text("{}", encoding="utf-8")
    assert main(["evaluate", str(target), "-q", "--verify-key", str(public)]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.splitlines()) == 1


def test_rsa_keys_sign_and_encrypted_ones_need_their_password(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    private, public = write_key(tmp_path, "rsa", rsa.generate_private_key(65537, 3072), password=b"s3cret-pass")
    args = ["demo", "-q", "--format", "json", "--output-dir", str(tmp_path / "out"), "--sign-key", str(private)]
    assert main(args) == 2
    assert "is encrypted: give its password with --sign-key-password env:NAME" in capsys.readouterr().err
    (tmp_path / "sign.password").write_text("s3cret-pass\n", encoding="utf-8")  # as an operator keeps it
    assert main([*args, "--sign-key-password", f"file:{tmp_path / 'sign.password'}"]) == 1
    signature = json.loads((tmp_path / "out" / "xtcheck-report.json.sig").read_text(encoding="utf-8"))
    assert signature["algorithm"] == "RSA-PSS-SHA256"
    report = str(tmp_path / "out" / "xtcheck-report.json")
    assert main(["diff", report, report, "--verify-key", str(public)]) == 0
    assert "s3cret-pass" not in capsys.readouterr().err


@pytest.mark.parametrize(("key", "says"), [
    (rsa.generate_private_key(65537, 1024), "has 1024 bits; use 2048 or more"),  # noqa: S505 (the weak key refused)
    (ec.generate_private_key(ec.SECP256R1()), "holds an elliptic-curve (ECDSA) key; xtcheck signs with Ed25519 or RSA"),
])
def test_a_weak_or_unsupported_key_is_refused_before_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              key: object, says: str) -> None:
    private, _ = write_key(tmp_path, "weak", key)
    assert main(["demo", "-q", "--output-dir", str(tmp_path / "out"), "--sign-key", str(private)]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_report_on_stdout_cannot_be_signed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private, _ = write_key(tmp_path, "signer", ed25519.Ed25519PrivateKey.generate())
    assert main(["demo", "-q", "--format", "json", "--output", "-", "--sign-key", str(private)]) == 2
    assert "--sign-key: signs files, and with --output - the report goes to stdout" in capsys.readouterr().err

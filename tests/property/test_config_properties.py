"""The config loader, property-based: any generated config (valid shapes with random ids, URLs and addresses, and
the same configs broken one way: an unknown key, a wrong type, a literal secret, a GUID with braces or blanks, a
missing key, an unreadable value) gives either Settings or a ConfigError whose message starts with the key path of
what is wrong; never another exception. A valid config round-trips its ids (lower-cased) and its http: values."""

from __future__ import annotations

import copy
import json
import string
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

import schemas
from checks.config import load
from checks.errors import ConfigError
from checks.sandbox.pki import make_ca
from checks.schemacheck import decide
from checks.settings import HttpOptions, RunOptions, Settings

# Hypothesis keeps a cache of the constants it finds in the code: in the temp folder, not in the project.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "xtcheck-hypothesis")
EXAMPLES = settings(max_examples=30, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
SECRET_FILE = "reader.secret"
CA_FILE = "ca.pem"
ENV = {"XT_PROP_SECRET": "a-reader-secret-from-the-environment"}
CA_PEM = make_ca().cert_pem

# -- valid configs ---------------------------------------------------------------------------------------------------

LABEL = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)


@st.composite
def guids(draw: st.DrawFn) -> str:
    text = str(draw(st.uuids()))
    return "".join(c.upper() if draw(st.booleans()) else c for c in text) if draw(st.booleans()) else text


@st.composite
def environment_urls(draw: st.DrawFn) -> str:
    host = f"{draw(LABEL)}.crm{draw(st.sampled_from(['', '4', '11']))}.dynamics.com"
    scheme = draw(st.sampled_from(["https://", "HTTPS://", ""]))
    port = draw(st.sampled_from(["", ":443", ":8443"]))
    tail = draw(st.sampled_from(["", "/", "/main.aspx?appid=1&pagetype=dashboard", "/api/data/v9.2/"]))
    return f"{scheme}{host}{port}{tail}"


EMAILS = st.builds(lambda local, domain, tld: f"{local}@{domain}.{tld}", LABEL, LABEL,
                   st.sampled_from(["com", "org", "co.uk"]))
SECRET_REFS = st.sampled_from([f"file:{SECRET_FILE}", "env:XT_PROP_SECRET"])
DOMAINS = st.builds(lambda a, b: f"{a}.{b}", LABEL, st.sampled_from(["com", "onmicrosoft.com", "de"]))


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    dynamics: dict[str, Any] = {"environment_url": draw(environment_urls()), "tenant_id": draw(guids())}
    if draw(st.booleans()):
        dynamics["profile"] = draw(st.text(min_size=1, max_size=20).filter(str.strip))
    exchange: dict[str, Any] = {"tenant_id": draw(guids() | DOMAINS)}
    if draw(st.booleans()):
        exchange["admin_api"] = draw(st.booleans())
    credentials = [{"tenant_id": draw(guids()), "client_id": draw(guids()), "client_secret": draw(SECRET_REFS)}
                   for _ in range(draw(st.integers(1, 3)))]
    config: dict[str, Any] = {"dynamics": dynamics, "exchange": exchange, "credentials": credentials}
    app: dict[str, Any] = {}
    if draw(st.booleans()):
        app["client_id"] = draw(guids())
    if draw(st.booleans()):
        app["secret"] = draw(SECRET_REFS)
    if app or draw(st.booleans()):
        config["app"] = app
    config["mailboxes"] = draw(st.just("all") | st.lists(EMAILS, min_size=1, max_size=4, unique=True))
    cloud = draw(st.sampled_from([None, "public", "usgov", "usgov-dod", "china", "custom"]))
    if cloud is not None:
        config["cloud"] = cloud
    if cloud == "custom":
        config["endpoints"] = {key: f"https://{draw(LABEL)}.example{draw(st.sampled_from(['', '/', ':8443']))}"
                               for key in ("login", "graph", "exchange_resource")}
    if draw(st.booleans()):
        config["tls"] = {"ca_bundle": CA_FILE}
    if draw(st.booleans()):
        config["thresholds"] = draw(st.fixed_dictionaries({}, optional={
            "secret_expiry_warning_days": st.integers(0, 3650), "sync_stale_hours": st.integers(1, 8760),
            "alert_lookback_days": st.integers(1, 365)}))
    if draw(st.booleans()):
        seconds = st.floats(0.001, 60.0)
        config["http"] = draw(st.fixed_dictionaries({}, optional={
            "retries": st.integers(1, 10), "retry_budget": seconds, "connect_timeout": seconds,
            "read_timeout": seconds, "dataverse_page_size": st.integers(1, 5000), "request_timeout": seconds,
            "max_response_mb": st.integers(1, 4096), "max_run_mb": st.integers(1, 65536)}))
    return config


# -- mutations -------------------------------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


def leaves(node: Any, at: Path_ = ()) -> list[Path_]:
    """Every key path in the config (objects, lists and scalars)."""
    found: list[Path_] = [at] if at else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(leaves(value, (*at, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(leaves(value, (*at, index)))
    return found


def objects(node: Any, at: Path_ = ()) -> list[Path_]:
    return [p for p in [(), *leaves(node)] if isinstance(get(node, p), dict)]


def get(node: Any, at: Path_) -> Any:
    for part in at:
        node = node[part]
    return node


def put(node: Any, at: Path_, value: Any) -> None:
    get(node, at[:-1])[at[-1]] = value


def key_path(at: Path_) -> str:
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


GUID_KEYS = {"tenant_id", "client_id"}
SECRET_KEYS = {"client_secret", "secret"}
REQUIRED = {(): ["dynamics", "exchange", "credentials"], ("dynamics",): ["environment_url", "tenant_id"],
            ("exchange",): ["tenant_id"], ("endpoints",): ["login", "graph", "exchange_resource"]}
# Any text, with the characters that mean something to URLs, paths and YAML drawn often.
HOSTILE_TEXT = st.text(alphabet=st.sampled_from("[]{}:/\\@.%#?~ \x00\t\n'\"-_aZ9") | st.characters(
    blacklist_categories=("Cs",)), max_size=30)


URL_KEYS = {"environment_url", "login", "graph", "exchange_resource"}
FILE_KEYS = {"client_secret", "secret", "ca_bundle", "org_config_export"}
TEXT_TARGETS: dict[str, Any] = {  # which string values a "text" mutation replaces
    "text-url": lambda at: at[-1] in URL_KEYS,
    "text-file": lambda at: at[-1] in FILE_KEYS,
    "text-other": lambda at: at[-1] not in URL_KEYS | FILE_KEYS,
}
KINDS = ["unknown", "type", "literal", "braces", "missing", *TEXT_TARGETS]


@st.composite
def mutations(draw: st.DrawFn, config: dict[str, Any], kind: str) -> Path_:
    """Break `config` in place the `kind` way; return where (the key path the error must name)."""
    if kind == "unknown":
        where = draw(st.sampled_from(objects(config)))
        name = draw(st.text(min_size=1, max_size=12) | st.integers(-5, 5) | st.booleans() | st.none())
        assume(name not in get(config, where))
        get(config, where)[name] = draw(st.integers() | st.text(max_size=5))
        return where
    if kind == "type":
        where = draw(st.sampled_from(leaves(config)))
        current = get(config, where)
        wrong = draw(st.sampled_from([1, 2.5, None, [], {}, True, [1], {"x": 1}]))
        assume(type(wrong) is not type(current) and not (isinstance(current, dict) and wrong == {}))
        assume(not (where[-1] == "admin_api" and isinstance(wrong, bool)))
        assume(not (where[:1] == ("http",) and len(where) == 2 and type(wrong) in (int, float)))  # 1 is in range
        put(config, where, wrong)
        return where
    if kind == "literal":
        candidates = [p for p in leaves(config) if p and p[-1] in SECRET_KEYS]
        assume(candidates)
        where = draw(st.sampled_from(candidates))
        put(config, where, draw(st.text(min_size=1, max_size=20).filter(
            lambda s: not s.startswith(("env:", "file:")))))
        return where
    if kind == "braces":
        candidates = [p for p in leaves(config) if p and p[-1] in GUID_KEYS and isinstance(get(config, p), str)
                      and len(get(config, p)) == 36]
        where = draw(st.sampled_from(candidates))
        left, right = draw(st.sampled_from([("{", "}"), (" ", ""), ("", " "), ("{ ", " }"), ("\t", "\n")]))
        put(config, where, f"{left}{get(config, where)}{right}")
        return where
    if kind == "missing":
        parent = draw(st.sampled_from([p for p in REQUIRED if _has(config, p)]))
        name = draw(st.sampled_from(REQUIRED[parent]))
        del get(config, parent)[name]
        return parent
    # an arbitrary string where a string goes (URLs, paths, file: references, domains, addresses)
    candidates = [p for p in leaves(config) if isinstance(get(config, p), str) and TEXT_TARGETS[kind](p)]
    assume(candidates)
    where = draw(st.sampled_from(candidates))
    prefixes = {"environment_url": ["https://", ""], "login": ["https://"], "graph": ["https://"],
                "exchange_resource": ["https://"], "client_secret": ["file:", "env:"], "secret": ["file:", "env:"]}
    value = draw(st.sampled_from([*prefixes.get(str(where[-1]), []), ""])) + draw(HOSTILE_TEXT)
    put(config, where, value)
    return where


def _has(config: dict[str, Any], at: Path_) -> bool:
    try:
        return isinstance(get(config, at), dict)
    except (KeyError, IndexError, TypeError):
        return False


# -- the properties --------------------------------------------------------------------------------------------------


def write(folder: Path, config: dict[str, Any], as_json: bool) -> Path:
    (folder / SECRET_FILE).write_text("a-reader-secret-in-a-file\n", encoding="utf-8")
    (folder / CA_FILE).write_bytes(CA_PEM)  # the loader proves it holds a certificate
    path = folder / ("xtcheck.json" if as_json else "xtcheck.yaml")
    path.write_text(json.dumps(config) if as_json else yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def normalized_guid(value: str) -> str:
    return str(uuid.UUID(value))


@settings(EXAMPLES, max_examples=50)
@given(config=configs(), as_json=st.booleans())
def test_a_valid_config_loads_and_round_trips_its_ids(tmp_path: Path, config: dict[str, Any], as_json: bool) -> None:
    settings_ = load(write(tmp_path, config, as_json), RunOptions(), ENV)
    assert isinstance(settings_, Settings)
    assert settings_.dynamics_tenant == normalized_guid(config["dynamics"]["tenant_id"])
    assert settings_.exchange_tenant == config["exchange"]["tenant_id"].lower()
    assert [(c.tenant_id, c.client_id) for c in settings_.credentials] == [
        (normalized_guid(c["tenant_id"]), normalized_guid(c["client_id"])) for c in config["credentials"]]
    assert settings_.client_id == (normalized_guid(config["app"]["client_id"])
                                   if "client_id" in config.get("app", {}) else None)
    assert settings_.environment_url.startswith("https://") and settings_.environment_url.count("/") == 2
    assert settings_.environment_url == settings_.environment_url.lower()
    if config["mailboxes"] != "all":
        assert list(settings_.mailboxes) == config["mailboxes"]
    assert all(c.secret is not None and "secret" in c.secret.reveal() for c in settings_.credentials)
    assert settings_.http == HttpOptions(**config.get("http", {}))


@pytest.mark.parametrize("kind", KINDS)
@EXAMPLES
@given(data=st.data(), config=configs(), as_json=st.booleans())
def test_a_broken_config_is_a_config_error_naming_its_key(tmp_path: Path, kind: str, data: st.DataObject,
                                                          config: dict[str, Any], as_json: bool) -> None:
    broken = copy.deepcopy(config)
    where = data.draw(mutations(broken, kind), label="mutation")
    try:
        load(write(tmp_path, broken, as_json), RunOptions(), ENV)
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and "\x1b" not in message, message  # one line, nothing for the terminal
        assert "Traceback" not in message
        if exc.key:
            assert message.startswith(f"{exc.key}: "), message
            # the key named is where the mutation happened, or the object holding it
            named = key_path(where)
            assert named == exc.key or named.startswith(exc.key) or exc.key.startswith(named), (named, message)
        else:  # the top level: the message names the key (there is no path above it)
            assert where == () or len(where) == 1, (where, message)
            assert message.startswith(("missing required key '", "unknown key ", f"{key_path(where)} ")) \
                or key_path(where) in message, message
    else:
        assert kind.startswith("text"), f"a {kind} mutation at {key_path(where)} was accepted"


@pytest.mark.parametrize("kind", [None, *KINDS])
@settings(EXAMPLES, max_examples=60)
@given(data=st.data(), config=configs())
def test_the_quick_schema_check_says_what_jsonschema_says(kind: str | None, data: st.DataObject,
                                                          config: dict[str, Any]) -> None:
    """config.load takes a True from checks.schemacheck without asking jsonschema: it must never be wrong, and
    every valid config must get it (or jsonschema would load before the first request after all)."""
    document = copy.deepcopy(config)
    if kind is not None:
        data.draw(mutations(document, kind), label="mutation")
    document = yaml.safe_load(yaml.safe_dump(document, allow_unicode=True))  # as the loader sees a YAML file
    schema = schemas.load("config")
    answer = decide(schema, document)
    assert answer is None or answer == jsonschema.Draft202012Validator(schema).is_valid(document)
    if kind is None:
        assert answer is True


@pytest.mark.parametrize(("content", "reference", "expected"), [
    ("caf\u00e9".encode("latin-1"), "file:reader.txt", "is not UTF-8 text"),
    (b"", "file:a\x00b", "is not a usable file path"),
    (b"", "file:~no-such-user-xtcheck/secret", "its home directory is unknown"),
    (b"", "file:escape\x1b[31m", "cannot read"),
])
def test_an_unreadable_secret_reference_is_a_config_error(tmp_path: Path, content: bytes, reference: str,
                                                         expected: str) -> None:
    """Through the command line, with the config named relative to the working folder, as people type it (its
    folder is then "."): exit 2 and one line, whatever the reference holds."""
    (tmp_path / "reader.txt").write_bytes(content)
    config = {"dynamics": {"environment_url": "https://contoso.crm4.dynamics.com",
                           "tenant_id": "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"},
              "exchange": {"tenant_id": "contoso.com"},
              "credentials": [{"tenant_id": "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f",
                               "client_id": "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3", "client_secret": reference}]}
    path = write(tmp_path, config, as_json=True)
    done = subprocess.run([sys.executable, "-m", "checks.cli", "audit", "--config", path.name], cwd=tmp_path,
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    message = done.stderr.removesuffix("\n")
    assert message.startswith("xtcheck: config error: credentials[0].client_secret: ") and expected in message
    assert "\n" not in message and "\x1b" not in message

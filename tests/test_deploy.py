"""The deployment files in deploy/ agree with the app they deploy.

No container is started (no docker compose here): the checks are what can go wrong without
anyone noticing — a renamed setting, an upload limit below the app's, a static-file rule
that no longer matches the names portal/assets.py makes, a forwarded header the client can
set, a secret typed into a committed file — plus `nginx -t` and `systemd-analyze verify`
when those programs are installed.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from portal.assets import FINGERPRINTED, StaticFiles
from portal.config import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX_CONF = DEPLOY / "nginx" / "portal.conf"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|_AUTH$")
INTERPOLATION = re.compile(r"\$\{[A-Z0-9_]+(:[?-][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def nginx_conf() -> str:
    return NGINX_CONF.read_text(encoding="utf-8")


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_compose_has_the_services_with_health_checks(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "app1", "app2", "nginx",
                             "elasticsearch"}
    for name in ("postgres", "redis", "app1", "app2", "elasticsearch"):
        assert services[name]["healthcheck"]["test"], name
    assert services["elasticsearch"]["profiles"] == ["elasticsearch"]
    assert "db upgrade" in " ".join(services["migrate"]["command"])
    for node in ("app1", "app2"):
        assert services[node]["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully"
        # each node its own folder: nothing in a node is shared with the other
        assert services[node]["volumes"] == [f"{node}-instance:/app/instance"]


def test_only_nginx_is_reachable_from_outside(compose):
    services = compose["services"]
    assert [name for name, s in services.items() if s.get("ports")] == ["nginx"]
    assert compose["networks"]["backend"]["internal"] is True
    for name in ("postgres", "redis", "elasticsearch", "migrate"):
        assert services[name]["networks"] == ["backend"], name
    assert services["nginx"]["networks"] == ["frontend"]


def test_no_secret_is_written_into_a_committed_file(compose):
    for name, service in compose["services"].items():
        for key, value in _environment(service).items():
            literal = INTERPOLATION.sub("", value)
            if SECRET_NAME.search(key):
                assert literal == "", f"{name}: {key} must come from deploy/.env"
            userinfo = re.search(r"://[^/@:]*:([^@]*)@", literal)
            assert userinfo is None or userinfo.group(1) == "", f"{name}: password in {key}"
    for example in (DEPLOY / ".env.example", DEPLOY / "portal.env.example"):
        for key, value in _env_file(example).items():
            if SECRET_NAME.search(key) or key.endswith("_URL") and "@" in value:
                assert value == "", f"{example.name}: {key} has a value"
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    assert {".env", "portal.env", "certs/"} <= set(ignored)


def test_every_portal_setting_named_in_deploy_exists():
    """A setting renamed in the app breaks this test rather than a deployment."""
    known = set()
    for source in (ROOT / "portal").rglob("*.py"):
        known |= set(re.findall(r"[\"'](PORTAL_[A-Z0-9_]+)[\"']", source.read_text("utf-8")))
    assert "PORTAL_PROXY_COUNT" in known
    used = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            used |= set(re.findall(r"\bPORTAL_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    assert used, "no PORTAL_ setting found in deploy/"
    assert used - known == set()


def test_upload_limit_is_above_the_apps(nginx_conf):
    size, unit = re.search(r"client_max_body_size\s+(\d+)([kKmMgG]?);", nginx_conf).groups()
    factor = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[unit.lower()]
    assert int(size) * factor > DEFAULTS["MAX_CONTENT_LENGTH"]


def test_nginx_is_the_one_proxy_and_sets_every_header_the_app_believes(nginx_conf, compose):
    """ProxyFix with PORTAL_PROXY_COUNT=1 believes the last X-Forwarded-For/-Proto/-Host
    value, so nginx must overwrite each one (not append to the client's)."""
    settings = _env_file(DEPLOY / "portal.env.example")
    assert settings["PORTAL_PROXY_COUNT"] == "1"
    assert settings["PORTAL_HTTPS"] == "on"
    for service in compose["services"].values():
        assert "PORTAL_PROXY_COUNT" not in _environment(service)
    headers = dict(re.findall(r"^\s*proxy_set_header\s+(\S+)\s+(\S+);", nginx_conf, re.M))
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-Host"] == "$host"
    assert "$proxy_add_x_forwarded_for" not in nginx_conf


def test_no_location_replaces_the_forwarded_headers(nginx_conf):
    """A proxy_set_header inside a location drops every one set on the server, and the
    client's own X-Forwarded-For would then reach the app."""
    depth_of_location = None
    depth = 0
    for line in nginx_conf.splitlines():
        code = line.split("#", 1)[0]
        if re.match(r"\s*location\b", code):
            depth_of_location = depth
        if depth_of_location is not None and "proxy_set_header" in code:
            pytest.fail(f"proxy_set_header inside a location: {line.strip()}")
        depth += code.count("{") - code.count("}")
        if depth_of_location is not None and depth <= depth_of_location:
            depth_of_location = None


def test_the_immutable_location_matches_the_names_the_app_makes(nginx_conf):
    pattern = re.search(r'location ~ "([^"]+)"', nginx_conf).group(1)
    immutable = re.compile(pattern)
    static = StaticFiles(str(ROOT / "static"))
    names = [p.relative_to(static.root).as_posix() for p in static.root.rglob("*")
             if p.is_file() and p.suffix]
    assert len(names) > 10
    for name in names:
        hashed = static.fingerprinted(name)
        assert FINGERPRINTED.fullmatch(hashed), hashed
        assert static.find(hashed)[1] is True, hashed  # the app sends it immutable
        assert immutable.search("/static/" + hashed), hashed
        assert not immutable.search("/static/" + name), name
    stale = re.sub(r"\.[0-9a-f]{10}\.", ".0000000000.", static.fingerprinted("css/portal.css"))
    assert static.find(stale)[1] is False  # so nginx must not add immutable on its own
    assert "add_header Cache-Control" not in nginx_conf
    assert not re.search(r"^\s*expires\b", nginx_conf, re.M)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_configuration(tmp_path):
    """The same file, with the certificate, cache and log paths moved into tmp_path and the
    upstream pointed at local ports (what a systemd host uses)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=invest.example.gov.cn",
                    "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")],
                   check=True, capture_output=True)
    (tmp_path / "cache").mkdir()
    conf = NGINX_CONF.read_text(encoding="utf-8")
    for old, new in {"/etc/nginx/certs/": f"{tmp_path}/", "/var/cache/nginx/": f"{tmp_path}/cache/",
                     "/var/log/nginx/": f"{tmp_path}/", "app1:8000": "127.0.0.1:8001",
                     "app2:8000": "127.0.0.1:8002"}.items():
        assert old in conf
        conf = conf.replace(old, new)
    (tmp_path / "portal.conf").write_text(conf, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    include {tmp_path}/portal.conf;\n}}\n", encoding="utf-8")
    result = subprocess.run(["nginx", "-t", "-e", str(tmp_path / "error.log"), "-p",
                             str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    # nginx >= 1.25.1 prefers `http2 on`, which 1.22 (Debian 12) does not know.
    warnings = [line for line in result.stderr.splitlines()
                if "[warn]" in line and '"listen ... http2" directive is deprecated' not in line]
    assert warnings == []


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    """With /opt/portal replaced by this checkout, whose .venv has gunicorn and flask."""
    for unit in (DEPLOY / "systemd").iterdir():
        text = unit.read_text(encoding="utf-8").replace("/opt/portal", str(ROOT))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    (tmp_path / "portal@8001.service").write_text(
        (tmp_path / "portal@.service").read_text(encoding="utf-8"), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", "--man=no",
                             str(tmp_path / "portal@8001.service"),
                             str(tmp_path / "portal-tick.service"),
                             str(tmp_path / "portal-tick.timer")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_the_image_runs_gunicorn_as_an_unprivileged_user():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}
    assert dockerfile.index("USER") < dockerfile.index("CMD")
    assert '"wsgi:app"' in dockerfile and '"gthread"' in dockerfile

from portal import config, create_app


def test_config_from_environment_names_every_setting():
    settings = config.from_env({
        "PORTAL_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "PORTAL_ELASTICSEARCH_URL": "http://es:9200",
        "PORTAL_SECRET_KEY": "s3cret",
        "PORTAL_REDIS_URL": "redis://127.0.0.1:6379/0",
        "PORTAL_RATELIMIT": "off",
    })
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert settings["SEARCH_URL"] == "http://es:9200"
    assert settings["SECRET_KEY"] == "s3cret"
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert settings["LIMITS_ON"] is False


def test_defaults_are_embedded():
    settings = config.from_env({})
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert settings["SQLALCHEMY_DATABASE_URI"].endswith("instance/portal.db")
    assert settings["SEARCH_URL"] == ""
    assert settings["RATELIMIT_STORAGE_URI"] == "database://"  # shared by every worker
    assert settings["LIMITS_ON"] is True


def test_factory_touches_no_database(tmp_path):
    # An unreachable database must not stop the app from being built.
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none",
                      "SECRET_KEY": "x", "TESTING": True})
    assert app.config["TESTING"] is True
    assert {"showcase", "policies", "sites", "opportunities", "intake", "tracking", "admin",
            "api", "meta", "services_chain"} <= set(app.blueprints)


def test_passed_config_wins_over_environment(monkeypatch):
    monkeypatch.setenv("PORTAL_DATABASE_URL", "sqlite:///from-env.db")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///passed.db", "SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///passed.db"


def test_secret_key_generated_once_per_instance(tmp_path):
    from portal.security import instance_secret_key

    first = instance_secret_key(str(tmp_path))
    assert len(first) == 64
    assert instance_secret_key(str(tmp_path)) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_cli_groups_registered(app):
    commands = app.cli.list_commands(None)
    for name in ("seed", "search", "users", "translate", "bootstrap"):
        assert name in commands


def _node_env(monkeypatch, folder, **env):
    for name in ("PORTAL_SECRET_KEY", "PORTAL_DATABASE_URL", "PORTAL_SEARCH_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_INSTANCE_DIR", str(folder))
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_the_instance_folder_is_the_nodes_own(tmp_path, monkeypatch):
    """PORTAL_INSTANCE_DIR holds the generated key, the default SQLite file and the
    embedded index; the default stays ROOT/instance."""
    assert config.instance_dir({}) == config.ROOT / "instance"
    _node_env(monkeypatch, tmp_path / "node1")
    app = create_app({"TESTING": True})
    assert app.instance_path == str(tmp_path / "node1")
    assert app.config["SECRET_KEY"] == (tmp_path / "node1" / "secret_key").read_text().strip()
    assert app.config["SEARCH_INDEX_DIR"] == str(tmp_path / "node1" / "search")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'node1' / 'portal.db'}"
    other = create_app({"TESTING": True, "SECRET_KEY": None,
                        "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert other.config["SECRET_KEY"] == app.config["SECRET_KEY"]  # same folder, same key


def test_a_server_database_without_a_shared_key_is_warned_about(tmp_path, monkeypatch, caplog):
    server = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    _node_env(monkeypatch, tmp_path / "node", PORTAL_DATABASE_URL=server)
    with caplog.at_level("WARNING", logger="portal"):
        create_app({"TESTING": True})
    warned = [r.getMessage() for r in caplog.records if "PORTAL_SECRET_KEY" in r.getMessage()]
    assert len(warned) == 1 and "single node" in warned[0]
    assert str(tmp_path / "node") in warned[0]
    caplog.clear()
    monkeypatch.setenv("PORTAL_SECRET_KEY", "shared-by-every-node")
    with caplog.at_level("WARNING", logger="portal"):
        app = create_app({"TESTING": True})
        monkeypatch.delenv("PORTAL_SECRET_KEY")
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})  # one node
    assert app.config["SECRET_KEY"] == "shared-by-every-node"
    assert not [r for r in caplog.records if "PORTAL_SECRET_KEY" in r.getMessage()]

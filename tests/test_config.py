"""Configuration: provider choice, physical names from the environment, endpoints, loader errors."""

from __future__ import annotations

import boto3
import pytest

import strato
from strato.core.config import Config, env_token
from strato.loader import load_app


def test_provider_defaults_to_local_and_to_aws_inside_lambda(monkeypatch):
    monkeypatch.delenv("STRATO_PROVIDER", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    assert Config.from_env("a").provider == "local"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    assert Config.from_env("a").provider == "aws"
    monkeypatch.setenv("STRATO_PROVIDER", "nope")
    with pytest.raises(strato.ConfigurationError, match="STRATO_PROVIDER"):
        Config.from_env("a")


def test_per_resource_provider_override(monkeypatch):
    config = Config.from_env("a", provider="local")
    monkeypatch.setenv("STRATO_KV_USER_SESSIONS_PROVIDER", "redis")
    assert env_token("user-sessions") == "USER_SESSIONS"
    assert config.provider_for("kv", "user-sessions") == "redis"
    with pytest.raises(strato.ConfigurationError, match="not available"):
        config.provider_for("table", "user-sessions", "redis", ("local", "aws"))


def test_physical_name_comes_from_the_environment(make_app, monkeypatch, moto_server):
    monkeypatch.setenv("STRATO_TABLE_DOCS", "prod-docs-1a2b")
    app = make_app("aws")
    docs = app.table("docs", key="id")
    docs.put({"id": "x", "v": 1})
    client = boto3.client("dynamodb", endpoint_url=moto_server)
    assert client.get_item(TableName="prod-docs-1a2b", Key={"id": {"S": "x"}})["Item"]["v"] == {"N": "1"}
    other = app.table("other", key="id")
    other.put({"id": "y"})
    assert f"{app.name}-dev-other" in client.list_tables()["TableNames"]


def test_missing_aws_table_without_auto_create_is_a_clear_error(make_app):
    app = make_app("aws")
    app.config.auto_create = False
    with pytest.raises(strato.NotFound, match="does not exist"):
        app.table("never", key="id").get("x")


def test_bad_declarations(make_app):
    app = make_app()
    with pytest.raises(strato.ConfigurationError):
        strato.App("bad name!")
    app.table("t", key="id")
    with pytest.raises(strato.ConfigurationError, match="twice"):
        app.table("t", key="id")
    with pytest.raises(strato.ValidationError):
        app.table("u", key="id:uuid")
    api = app.http()
    with pytest.raises(strato.ConfigurationError, match="greedy"):
        api.get("/a/{rest+}/b")(lambda req: None)
    with pytest.raises(strato.ConfigurationError, match="start with"):
        api.get("nope")(lambda req: None)
    api.get("/x")(lambda req: None)
    with pytest.raises(strato.ConfigurationError, match="twice"):
        api.get("/x")(lambda req: None)


def test_loader_errors(tmp_path):
    (tmp_path / "two.py").write_text("import strato\na = strato.App('a')\nb = strato.App('b')\n")
    with pytest.raises(strato.ConfigurationError, match="found 2"):
        load_app(str(tmp_path / "two.py"))
    assert load_app(f"{tmp_path / 'two.py'}:b").name == "b"
    with pytest.raises(strato.ConfigurationError, match=r"not a strato\.App"):
        load_app(f"{tmp_path / 'two.py'}:nothing")
    with pytest.raises(strato.ConfigurationError, match="cannot import"):
        load_app("no_such_module_here:app")

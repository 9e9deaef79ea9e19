"""/strato-config.json names the browser client of each meetings resource, so one front-end build
joins calls with strato's signalling client under `strato dev` and amazon-chime-sdk-js once deployed."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

import strato
from strato.local.server import build_asgi
from strato.site.publish import runtime_settings


@pytest.fixture()
def call_app(tmp_path):
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<!doctype html>")
    app = strato.App("calls", data_dir=tmp_path / "data")
    app.meetings("calls", media_region="eu-west-1")
    app.meetings("rooms")
    site = app.site("web", directory=str(tmp_path / "dist"))
    return app, site


def test_local_config_names_strato_client_per_meetings_resource(call_app):
    app, _ = call_app
    config = TestClient(build_asgi(app)).get("/strato-config.json").json()
    assert config["meetings"]["calls"] == {"client": "strato", "mediaRegion": "eu-west-1"}
    assert config["meetings"]["rooms"]["client"] == "strato" and config["meetings"]["rooms"]["mediaRegion"]


def test_deployed_config_names_chime(call_app):
    app, site = call_app
    config = runtime_settings(app, site, {}, "us-east-1")
    assert {m["client"] for m in config["meetings"].values()} == {"chime"}
    assert config["meetings"]["calls"]["mediaRegion"] == "eu-west-1"


def test_an_app_without_meetings_has_an_empty_map(tmp_path):
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<!doctype html>")
    app = strato.App("plain", data_dir=tmp_path / "data")
    site = app.site("web", directory=str(tmp_path / "dist"))
    assert runtime_settings(app, site, {}, "us-east-1")["meetings"] == {}

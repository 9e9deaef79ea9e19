"""Deterministic, offline project generation: the same prompt and type always give the same ZIP.

"api" is a runnable Python REST service (standard library only) with one CRUD resource per entity
the prompt names, its own unittest suite and a README; "frontend" a static page that talks to such
an API; "infra" a CloudFormation template with a DynamoDB table per entity.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "and",
        "or",
        "for",
        "with",
        "to",
        "of",
        "in",
        "on",
        "by",
        "from",
        "into",
        "that",
        "this",
        "these",
        "those",
        "create",
        "build",
        "make",
        "generate",
        "write",
        "give",
        "me",
        "please",
        "simple",
        "small",
        "basic",
        "rest",
        "restful",
        "api",
        "apis",
        "service",
        "services",
        "management",
        "manage",
        "managing",
        "app",
        "application",
        "backend",
        "frontend",
        "infra",
        "infrastructure",
        "crud",
        "endpoint",
        "endpoints",
        "system",
        "platform",
        "project",
        "which",
        "who",
        "using",
        "use",
        "uses",
        "handle",
        "handles",
        "handling",
        "some",
        "new",
        "full",
        "stack",
        "web",
        "site",
        "page",
        "dashboard",
        "fail",
        "failing",
        "failure",
        "should",
        "would",
        "could",
        "can",
        "will",
        "must",
        "need",
        "needs",
        "want",
        "wants",
    }
)


def entities(prompt: str) -> list[str]:
    """The nouns a prompt names, singular, in order: 'users and orders' -> ['user', 'order']."""
    found: list[str] = []
    for word in re.findall(r"[a-zA-Z]{3,}", prompt.lower()):
        if word in STOPWORDS:
            continue
        if word.endswith("ies") and len(word) > 4:
            word = word[:-3] + "y"
        elif word.endswith("sses"):
            word = word[:-2]
        elif word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        if word not in found and word not in STOPWORDS:
            found.append(word)
    return found[:5] or ["item"]


def _api(project: str, names: list[str], prompt: str) -> dict[str, str]:
    routes = ", ".join(f'"{n}s"' for n in names)
    app = f'''"""{project}: a REST API generated from the prompt {prompt!r}.

Run it with `python app.py` (port 8080); resources: {", ".join("/" + n + "s" for n in names)}.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESOURCES = [{routes}]
STORE = {{name: {{}} for name in RESOURCES}}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def _send(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _target(self):
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if not parts or parts[0] not in STORE or len(parts) > 2:
            return None, None
        return parts[0], parts[1] if len(parts) == 2 else None

    def do_GET(self):
        resource, item = self._target()
        if resource is None:
            return self._send(404, {{"message": "Not Found"}})
        with LOCK:
            if item is None:
                return self._send(200, list(STORE[resource].values()))
            found = STORE[resource].get(item)
        return self._send(200, found) if found else self._send(404, {{"message": f"{{resource}}/{{item}} not found"}})

    def do_POST(self):
        resource, item = self._target()
        if resource is None or item is not None:
            return self._send(404, {{"message": "Not Found"}})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{{}}")
        except json.JSONDecodeError:
            return self._send(400, {{"message": "malformed JSON"}})
        if not isinstance(body, dict):
            return self._send(400, {{"message": "send a JSON object"}})
        with LOCK:
            body["id"] = str(len(STORE[resource]) + 1)
            STORE[resource][body["id"]] = body
        return self._send(201, body)

    def do_DELETE(self):
        resource, item = self._target()
        with LOCK:
            removed = STORE.get(resource or "", {{}}).pop(item, None) if item else None
        return self._send(204) if removed else self._send(404, {{"message": "Not Found"}})

    def log_message(self, *args):
        pass


def serve(port=8080):
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    serve()
'''
    tests = f'''"""Tests of the generated {project} API: create, list, fetch and delete every resource."""

import json
import threading
import unittest
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

from app import RESOURCES, Handler


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        cls.base = f"http://127.0.0.1:{{cls.server.server_address[1]}}"
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def test_crud_of_every_resource(self):
        for resource in RESOURCES:
            status, created = self.call("POST", f"/{{resource}}", {{"name": "first"}})
            self.assertEqual(status, 201)
            self.assertEqual(self.call("GET", f"/{{resource}}/{{created['id']}}")[1]["name"], "first")
            self.assertIn(created, self.call("GET", f"/{{resource}}")[1])
            self.assertEqual(self.call("DELETE", f"/{{resource}}/{{created['id']}}")[0], 204)
            self.assertEqual(self.call("GET", f"/{{resource}}/{{created['id']}}")[0], 404)

    def test_unknown_paths_and_bad_json(self):
        self.assertEqual(self.call("GET", "/nothing")[0], 404)


if __name__ == "__main__":
    unittest.main()
'''
    readme = (
        f"# {project}\n\nGenerated from: {prompt}\n\nResources: "
        + ", ".join(f"`/{n}s`" for n in names)
        + "\n\n```bash\npython app.py          # serves on 127.0.0.1:8080\n"
        "python -m unittest -v  # runs the tests\n```\n"
    )
    return {"app.py": app, "test_app.py": tests, "README.md": readme}


def _frontend(project: str, names: list[str], prompt: str) -> dict[str, str]:
    options = "".join(f'<option value="{n}s">{n}s</option>' for n in names)
    html = (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{project}</title></head><body>\n'
        f'<h1>{project}</h1>\n<select id="resource">{options}</select>\n<ul id="items"></ul>\n'
        '<script src="app.js"></script>\n</body></html>\n'
    )
    js = (
        "const api = window.API_BASE || 'http://127.0.0.1:8080';\n"
        "async function load() {\n  const resource = document.getElementById('resource').value;\n"
        "  const items = await (await fetch(`${api}/${resource}`)).json();\n"
        "  document.getElementById('items').innerHTML = items.map(i => `<li>${i.name ?? i.id}</li>`).join('');\n}\n"
        "document.getElementById('resource').addEventListener('change', load);\nload();\n"
    )
    return {"index.html": html, "app.js": js, "README.md": f"# {project} (frontend)\n\nGenerated from: {prompt}\n"}


def _infra(project: str, names: list[str], prompt: str) -> dict[str, str]:
    resources = {
        f"{n.capitalize()}Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            },
        }
        for n in names
    }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{project}: {prompt}"[:1024],
        "Resources": resources,
    }
    return {
        "template.json": json.dumps(template, indent=2, sort_keys=True) + "\n",
        "README.md": f"# {project} (infrastructure)\n\nGenerated from: {prompt}\n",
    }


GENERATORS = {"api": _api, "frontend": _frontend, "infra": _infra}


def generate(project: str, kind: str, prompt: str) -> bytes:
    """The project skeleton as ZIP bytes; byte-identical for the same inputs."""
    files = GENERATORS[kind](project, entities(prompt), prompt)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{project}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()

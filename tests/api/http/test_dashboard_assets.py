"""The dashboard's static files on the HTTP listener: ``/`` is the page, ``/dashboard/{name}``
its script and style, each with a CSP that allows this origin only; nothing else is a file, and
the files ship as package data (an installed package has them)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from router.api.http.assets import FOLDER
from tests.api.http.conftest import Served


def test_the_page_its_script_and_style_are_served_with_a_same_origin_policy(served: Served):
    page = served.http.get("/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert '/dashboard/app.js' in page.text and "http" not in page.text.replace(
        "http://www.w3.org", "")  # no asset from elsewhere
    script = served.http.get("/dashboard/app.js")
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert "fetch(" in script.text and "https://" not in script.text
    style = served.http.get("/dashboard/style.css")
    assert style.status == 200 and style.headers["Content-Type"].startswith("text/css")


def test_other_paths_are_not_files_and_the_page_is_read_only(served: Served):
    for path in ("/dashboard/", "/dashboard/../edge.py", "/dashboard/nope.js", "/index.html"):
        assert served.http.get(path).status == 404, path
    refused = served.http.request("POST", "/", "")
    assert refused.status == 405 and refused.headers["Allow"] == "GET"


def test_the_files_are_package_data():
    root = Path(__file__).resolve().parents[3]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert data["package-data"]["router.api.http"] == ["dashboard/*"]
    assert {p.name for p in FOLDER.iterdir()} >= {"index.html", "app.js", "style.css"}

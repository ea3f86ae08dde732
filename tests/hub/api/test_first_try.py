"""An API a developer can use on the first try: problems that name the field and the rule, titles in words,
and /docs + /redoc served from packaged assets (no CDN)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hub.api.problems import hub_status
from hub.errors import UnknownTaskError
from hub.redact import redact
from tests.hub.api.conftest import auth, bc_case, signup_login

URL = "/v1/models/breast_cancer/predict"


def test_problem_names_the_field_and_rule_without_the_value(client):
    h = signup_login(client)
    case = dict(bc_case(), **{"worst radius": 912.5})
    r = client.post(URL, json={"inputs": case}, headers=auth(h))
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "worst radius" in detail and "valid range" in detail and "912" not in detail, detail
    assert "input schema" not in detail
    unknown = client.post(URL, json={"inputs": {**bc_case(), "...": 1}}, headers=auth(h)).json()["detail"]
    assert "unexpected" in unknown and "[value]" in unknown, unknown


def test_redact_keeps_ranges_and_hides_values():
    msg = "row 1: 'mean area' is outside the valid range 0..10000 px; saw 123.456 in 'note Smith'"
    out = redact(msg, {"mean area": 123.456, "note": "Smith"}, known=["mean area", "note"])
    assert "0..10000" in out and "123.456" not in out and "Smith" not in out and "mean area" in out


def test_titles_in_words(client):
    h = signup_login(client)
    r = client.post("/v1/models/no_such_task/predict", json={"inputs": {}}, headers=auth(h))
    assert r.status_code == 404 and r.json()["title"] == "Unknown task"
    assert hub_status(UnknownTaskError("x")) == (404, "Unknown task")


def test_docs_and_redoc_from_packaged_assets(seeded_home, medhive_home):
    import shutil

    from medhive.server import create_app
    from medhive.settings import get_settings

    shutil.copytree(seeded_home, medhive_home, dirs_exist_ok=True)
    settings = get_settings()
    c = TestClient(create_app(settings, registry=settings.open_registry()))
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = c.get(page).text
        assert "cdn." not in html and "unpkg" not in html and asset in html, html[:400]
        src = next(part.split('"')[0] for part in html.split('src="')[1:] if asset in part.split('"')[0])
        js = c.get(src)
        assert js.status_code == 200 and len(js.content) > 100_000


def test_batch_explain_explains_every_case_or_the_listed_ones(client):
    h = signup_login(client)
    cases = [bc_case(), dict(bc_case(), **{"worst radius": 30.0}), bc_case()]
    every = client.post(URL, json={"inputs": cases, "explain": True}, headers=auth(h)).json()
    assert [e["index"] for e in every["explanations"]] == [0, 1, 2] and every["explanation"]["index"] == 0
    assert every["explanations"][0] != every["explanations"][1]  # each case its own factors
    some = client.post(URL, json={"inputs": cases, "explain": [2, 1]}, headers=auth(h)).json()
    assert [e["index"] for e in some["explanations"]] == [1, 2]
    bad = client.post(URL, json={"inputs": cases, "explain": [3]}, headers=auth(h))
    assert bad.status_code == 422 and "out of range" in bad.json()["detail"]
    assert client.get("/v1/usage", headers=auth(h)).json()["limits"]["used"] == 6  # the refused one is not billed


def test_ecg_as_wfdb_files_and_as_the_documented_inline_example(client, app):
    import base64

    from hub.models import get_task

    h = signup_login(client)
    folder = next(p for p in get_task("ecg").example_inputs() if p.suffix == ".hea").parent
    files = [{"filename": f"mitbih_223_excerpt{ext}",
              "content_base64": base64.b64encode((folder / f"mitbih_223_excerpt{ext}").read_bytes()).decode()}
             for ext in (".hea", ".dat")]
    r = client.post("/v1/models/ecg/predict", json={"files": files}, headers=auth(h))
    assert r.status_code == 200, r.text
    assert len(r.json()["predictions"]) > 10 and r.json()["usage"]["units"] == 1  # one record, many beats
    alone = client.post("/v1/models/ecg/predict", json={"files": files[:1] * 2}, headers=auth(h))
    assert alone.status_code == 422
    renamed = [files[0], {**files[1], "filename": "other.dat"}]
    assert "named after it" in client.post("/v1/models/ecg/predict", json={"files": renamed},
                                           headers=auth(h)).json()["detail"]
    # the inline example the OpenAPI document shows works as it is
    spec = client.get("/openapi.json").json()
    examples = spec["paths"]["/v1/models/{task}/predict"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    inline = examples["ecg_inline"]["value"]
    assert len(inline["inputs"]) == 3600
    ok = client.post("/v1/models/ecg/predict", json=inline, headers=auth(h))
    assert ok.status_code == 200 and ok.json()["predictions"], ok.text

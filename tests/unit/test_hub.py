"""Hub addressing rules, each rejection naming the problem."""

import pytest

from pyodide_pkg.errors import HubError
from pyodide_pkg.hub import ModelHub, check_allowed, check_hub_root, is_allowed

MOZ = "{model}/{revision}"
HF = "{model}/resolve/{revision}"


@pytest.mark.parametrize("template,expected", [
    (MOZ, "https://model-hub.mozilla.org/org/model/v1/onnx/model.onnx"),
    (HF, "https://model-hub.mozilla.org/org/model/resolve/v1/onnx/model.onnx"),
])
def test_url_building_and_parsing_round_trip(template, expected):
    hub = ModelHub("https://model-hub.mozilla.org/", template)
    url = hub.file_url("org/model", "v1", "onnx/model.onnx")
    assert url == expected
    ref = hub.parse_url(url)
    assert (ref.model, ref.revision, ref.file) == ("org/model", "v1", "onnx/model.onnx")


def test_root_with_path_and_nested_file():
    hub = ModelHub("http://127.0.0.1:8000/hub", HF)
    url = hub.file_url("my-org/Model_v2.1", "main", "1_Pooling/config.json")
    assert url == "http://127.0.0.1:8000/hub/my-org/Model_v2.1/resolve/main/1_Pooling/config.json"
    assert hub.parse_url(url).file == "1_Pooling/config.json"


@pytest.mark.parametrize("url,problem", [
    ("http://127.0.0.1:8000/other/org/m/v1/f.json", "not under the hub root"),
    ("http://127.0.0.1:8000/hub/org/m/v1/f.json?x=1", "query or fragment"),
    ("http://127.0.0.1:8000/hub/org/m", "too short"),
    ("http://127.0.0.1:8000/hub/org/m/v1/../secret", "'..'"),
])
def test_parse_rejects(url, problem):
    with pytest.raises(HubError, match=problem):
        ModelHub("http://127.0.0.1:8000/hub", MOZ).parse_url(url)


def test_parse_checks_template_literal():
    hub = ModelHub("http://localhost/hub", HF)
    with pytest.raises(HubError, match="expected 'resolve'"):
        hub.parse_url("http://localhost/hub/org/m/blob/v1/f.json")


@pytest.mark.parametrize("model,problem", [
    ("-org/m", "organization"), ("org-/m", "organization"), ("o--rg/m", "organization"),
    ("1234/m", "organization"), ("org/", "model name"), ("org/m!", "model name"),
    ("org/.hidden", "model name"), ("org", "organization/name"), ("a/b/c", "organization/name"),
    ("or g/m", "organization"),
])
def test_bad_model_ids(model, problem):
    with pytest.raises(HubError, match=problem):
        ModelHub("http://localhost", MOZ).file_url(model, "v1", "config.json")


@pytest.mark.parametrize("revision", ["", "v 1", "v1/x", "v1^", "$v", "..", ".x", "v1_2"])
def test_bad_revisions(revision):
    with pytest.raises(HubError, match="invalid revision"):
        ModelHub("http://localhost", MOZ).file_url("org/m", revision, "config.json")


@pytest.mark.parametrize("path,problem", [
    ("", "empty"), ("/abs/config.json", "relative"), ("a/../b.json", "'..'"), ("a//b.json", "empty path segment"),
    (".hidden", "starts with a dot"), ("a/.git/config", "starts with a dot"), ("f.json?x=1", "query or fragment"),
    ("f.json#frag", "query or fragment"), ("a\\b.json", "characters other than"), ("onnx/", "empty path segment"),
])
def test_bad_file_paths(path, problem):
    with pytest.raises(HubError, match=problem):
        ModelHub("http://localhost", MOZ).file_url("org/m", "v1", path)


@pytest.mark.parametrize("template,problem", [
    ("{model}/{revision}/../x", "neither a placeholder"), ("{model}", "needs {model} and {revision}"),
    ("{model}/{rev}", "unknown placeholder"), ("https://evil/{model}/{revision}", "neither a placeholder"),
    ("{model}/{revision}?q=1", "neither a placeholder"), ("{model}/{revision}/{revision}", "exactly once"),
    ("", "empty"), ("/{model}/{revision}", "neither a placeholder"),
])
def test_bad_templates(template, problem):
    with pytest.raises(HubError, match=problem):
        ModelHub("http://localhost", template)


@pytest.mark.parametrize("root,problem", [
    ("https://model-hub.mozilla.org.evil.com", "is not localhost or a hub named"),
    ("https://sub.localhost/x", "is not localhost or a hub named"),
    ("https://localhost.", "is not localhost or a hub named"),
    ("ftp://localhost/hub", "scheme 'ftp'"),
    ("httpsz://model-hub.mozilla.org", "scheme 'httpsz'"),
    ("https://user:pw@model-hub.mozilla.org", "user info"),
    ("https://user@localhost", "user info"),
    ("https://evil.com/model-hub.mozilla.org", "is not localhost or a hub named"),
    ("http://model-hub.mozilla.org", "is not localhost or a hub named"),
    ("http://localhost:99999/", "not a URL"),
    ("https://localhost/hub?x=1", "no query"),
])
def test_rejected_hub_roots(root, problem):
    with pytest.raises(HubError, match=problem):
        check_hub_root(root)


@pytest.mark.parametrize("root", [
    "http://localhost", "https://localhost:8443/hub", "http://127.0.0.1:8000/hub/", "http://[::1]:9000",
    "https://model-hub.mozilla.org", "https://huggingface.co/",
])
def test_accepted_hub_roots(root):
    assert check_hub_root(root) == root.rstrip("/")


def test_hubs_named_in_settings_are_accepted_exactly():
    assert check_hub_root("https://models.example.org/hub", ("https://models.example.org",))
    with pytest.raises(HubError):
        check_hub_root("https://models.example.org.evil.com/hub", ("https://models.example.org",))


ALLOW_DENY = [
    {"filter": "ALLOW", "urlPrefix": "https://model-hub.mozilla.org/"},
    {"filter": "ALLOW", "urlPrefix": "http://127.0.0.1:8000/hub/"},
    {"filter": "DENY", "urlPrefix": "https://model-hub.mozilla.org/evil-org/"},
]


@pytest.mark.parametrize("url,allowed", [
    ("https://model-hub.mozilla.org/org/m/v1/config.json", True),
    ("https://model-hub.mozilla.org/evil-org/m/v1/config.json", False),
    ("http://127.0.0.1:8000/hub/org/m/v1/x.onnx", True),
    ("http://127.0.0.1:8001/hub/org/m/v1/x.onnx", False),
    ("https://huggingface.co/org/m/resolve/main/config.json", False),
])
def test_allow_deny_decisions(url, allowed):
    assert is_allowed(url, ALLOW_DENY) is allowed


def test_empty_list_allows_nothing_and_error_names_url():
    url = "http://localhost/org/m/v1/config.json"
    with pytest.raises(HubError, match="not allowed by ml-model-allow-deny-list") as info:
        check_allowed(url, [])
    assert url in str(info.value)

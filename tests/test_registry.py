"""The team registry: entries published on push, read with no git, downloads from S3 alone."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest
from conftest import BIN, S3, git, run, scaffold, teammate, write_model

from cpv_hooks import Registry
from cpv_hooks.manifest import parse_manifest
from cpv_hooks.registry import LocalEntries, encode, entries_of, publish_tags
from cpv_hooks.repo import Git
from cpv_hooks.storage import open_remote


def _model_repo(tmp_path: Path, s3: S3 | None, team: str, model: str) -> Path:
    """A scaffolded model repo with its own bare git remote (origin)."""
    remote = tmp_path / "git" / f"{team}-{model}.git"
    run("git", "init", "-q", "--bare", remote)
    extra = {"s3_bucket": s3.bucket, "s3_endpoint_url": s3.endpoint} if s3 else {}
    scaffold(tmp_path / team, team=team, model=model, git_remote_url=str(remote), **extra)
    return tmp_path / team / model


def _version(repo: Path, seed: int, acc: float, data: bool = False) -> None:
    write_model(repo / "model.bin", seed=seed)
    (repo / "metrics.log").write_text(f"accuracy: {acc}\n")
    if data:
        (repo / "data" / f"part{seed}.csv").write_text(f"x\n{seed}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"train {seed}")


def _entry(s3: S3, prefix: str, tag: str) -> dict:  # type: ignore[type-arg]
    body = s3.server.client().get_object(Bucket=s3.bucket, Key=f"{prefix}/cpv/versions/{tag}.json")
    return json.loads(body["Body"].read())  # type: ignore[no-any-return]


def test_push_publishes_write_once_entries_marks_deleted_and_reconciles(
    s3: S3, tmp_path: Path
) -> None:
    repo = _model_repo(tmp_path, s3, "vision", "resnet50")
    _version(repo, 1, 0.8, data=True)
    git(repo, "push", "-q", "-u", "origin", "main")
    prefix = "vision/resnet50"
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    v1 = _entry(s3, prefix, "v0.1")
    assert v1["commit"] == head and not v1["deleted"] and v1["metrics"] == {"accuracy": 0.8}
    assert _entry(s3, prefix, "data-v0.1")["kind"] == "data"

    # a teammate's v0.2 is listed; mine, made on another commit, never overwrites it
    mate = teammate(tmp_path / "git" / "vision-resnet50.git", tmp_path / "mate")
    _version(mate, 2, 0.85)
    git(mate, "push", "-q")
    theirs = git(mate, "rev-parse", "HEAD").stdout.strip()
    _version(repo, 3, 0.9)
    entries = entries_of(open_remote(repo))
    assert publish_tags(Git(repo), entries, ["v0.2"]) == []
    assert _entry(s3, prefix, "v0.2")["commit"] == theirs

    # a stale entry (its tag never reached git) is marked deleted by the next push
    stale = {**v1, "tag": "v0.9", "version": "v0.9", "commit": "0" * 39 + "1"}
    entries.put("v0.9.json", encode(stale))
    git(mate, "tag", "-d", "v0.2")
    git(mate, "push", "-q", "origin", ":refs/tags/v0.2")
    assert _entry(s3, prefix, "v0.2")["deleted"]
    assert _entry(s3, prefix, "v0.9")["deleted"]
    assert not _entry(s3, prefix, "v0.1")["deleted"]

    # rebuild re-derives the entries from the git tags
    s3.server.client().delete_object(Bucket=s3.bucket, Key=f"{prefix}/cpv/versions/v0.1.json")
    run(BIN / "cpv", "registry", "rebuild", cwd=mate)
    assert _entry(s3, prefix, "v0.1")["commit"] == head


def test_local_remote_entries_are_created_once(tmp_path: Path) -> None:
    entries = LocalEntries(tmp_path / "cpv" / "versions")
    assert entries.create("v0.1.json", b"{}")
    assert not entries.create("v0.1.json", b'{"x": 1}')
    assert entries.get("v0.1.json") == b"{}"
    assert entries.names() == ["v0.1.json"]
    assert entries.get("v0.2.json") is None


def test_team_registry_lists_and_downloads_with_no_git(s3: S3, tmp_path: Path) -> None:
    """Two models of one team and one of another, read and downloaded from the bucket alone."""
    resnet = _model_repo(tmp_path, s3, "vision", "resnet50")
    _version(resnet, 1, 0.8, data=True)
    git(resnet, "push", "-q", "-u", "origin", "main")
    _version(resnet, 2, 0.9)
    model = (resnet / "model.bin").read_bytes()
    git(resnet, "push", "-q")
    for team, name in (("vision", "yolo"), ("nlp", "bert")):
        repo = _model_repo(tmp_path, s3, team, name)
        _version(repo, 7, 0.5)
        git(repo, "push", "-q", "-u", "origin", "main")

    cpv = BIN / "cpv"
    run(cpv, "model", "stage", "v0.1", "prod", cwd=resnet)
    run(cpv, "model", "stage", "v0.1", "staging", cwd=resnet)
    run(cpv, "model", "stage", "v0.2", "prod", cwd=resnet)  # prod moves on: a new tag
    run(cpv, "model", "stage", "v0.1", "staging", "--remove", cwd=resnet)
    wrong = run(cpv, "model", "stage", "v0.1", "prod", "--remove", cwd=resnet, check=False)
    assert wrong.returncode == 2 and "v0.1 is not in prod" in wrong.stderr
    bare = tmp_path / "git" / "vision-resnet50.git"
    pushed = git(bare, "tag", "-l", "stage/*").stdout.split()
    assert pushed == ["stage/prod/1", "stage/prod/2", "stage/staging/1", "stage/staging/2"]
    git(resnet, "tag", "stage/prod/9", "v0.1")  # by hand: no stage event in it
    refused = git(resnet, "push", "origin", "stage/prod/9", check=False)
    assert refused.returncode != 0 and "no valid stage event" in refused.stderr
    git(resnet, "tag", "-d", "stage/prod/9")
    assert "v0.2 " in run(cpv, "model", "list-tags", cwd=resnet).stdout.split("[prod]")[0]
    assert "stage:   prod" in run(cpv, "model", "info", "--tag", "v0.2", cwd=resnet).stdout
    run(cpv, "model", "download", "--stage", "prod", "-o", tmp_path / "here", cwd=resnet)
    assert (tmp_path / "here" / "model.bin").read_bytes() == model

    outside = tmp_path / "laptop"
    outside.mkdir()
    run(
        BIN / "cpv", "aws-config", "--bucket", s3.bucket, "--endpoint-url", s3.endpoint, cwd=outside
    )
    # a model pushed before summaries existed is read from its entries
    s3.server.client().delete_object(Bucket=s3.bucket, Key="nlp/bert/cpv/summary.json")
    assert "vision/yolo/cpv/summary.json" in s3.list_keys("vision/yolo/cpv/")
    rows = json.loads(run(BIN / "cpv", "registry", "list", "--json", cwd=outside).stdout)
    assert [(r["team"], r["model"]) for r in rows] == [
        ("nlp", "bert"),
        ("vision", "resnet50"),
        ("vision", "yolo"),
    ]
    top = rows[1]
    assert (top["model_version"], top["data_version"]) == ("v0.2", "data-v0.1")
    assert top["metric"] == {"accuracy": 0.9} and top["author"].startswith("Test User")
    assert top["stages"] == {"prod": "v0.2"}
    vision = run(BIN / "cpv", "registry", "list", "--team", "vision", cwd=outside).stdout
    assert "vision/yolo" in vision and "nlp/bert" not in vision

    listed = json.loads(
        run(BIN / "cpv", "registry", "versions", "vision/resnet50", "--json", cwd=outside).stdout
    )
    assert [e["tag"] for e in listed] == ["data-v0.1", "v0.1", "v0.2"]
    assert [e["metrics"]["accuracy"] for e in listed if e["kind"] == "model"] == [0.8, 0.9]
    assert [e["data"]["tag"] for e in listed if e["kind"] == "model"] == ["data-v0.1"] * 2
    assert [e["stages"] for e in listed] == [[], [], ["prod"]]

    # lineage: the model version names the data version of its commit, and the other way
    info = run(BIN / "cpv", "model", "info", "--tag", "v0.2", cwd=resnet).stdout
    assert "trained on data-v0.1" in info
    data_info = run(BIN / "cpv", "data", "info", "--tag", "data-v0.1", cwd=resnet).stdout
    assert "trained on it: v0.1, v0.2" in data_info
    old = {k: v for k, v in listed[1].items() if k not in ("data", "deleted")}
    assert parse_manifest("v0.1", json.dumps(old)).data is None  # manifests before lineage

    def download(*args: str | Path) -> subprocess.CompletedProcess[str]:
        where = ("model", "download", "--registry", "vision/resnet50")
        return run(cpv, *where, *args, cwd=outside, check=False)

    out = download("--tag", "latest", "-o", outside / "latest")
    assert "v0.2" in out.stdout and "verified" in out.stdout
    assert (outside / "latest" / "model.bin").read_bytes() == model
    assert download("--stage", "prod", "-o", outside / "prod").returncode == 0
    assert (outside / "prod" / "model.bin").read_bytes() == model
    entry, written = Registry().download("vision/resnet50", "data-v0.1", outside / "d", "data")
    assert entry["tag"] == "data-v0.1" and [p.name for p, _ in written] == ["data"]
    assert (outside / "d" / "data" / "part1.csv").read_text() == "x\n1\n"
    assert len(list((outside / "d" / "data").iterdir())) > 1
    # partial download: only the matching files of a directory version, from S3 or the repo
    Registry().download("vision/resnet50", "data-v0.1", outside / "p", "data", paths=("part*",))
    assert [p.name for p in (outside / "p" / "data").iterdir()] == ["part1.csv"]
    here = ("data", "download", "--tag", "data-v0.1", "--no-cache", "-o")
    run(cpv, *here, tmp_path / "part", "--path", "part1.*", cwd=resnet)
    assert [p.name for p in (tmp_path / "part" / "data").iterdir()] == ["part1.csv"]
    none = run(cpv, *here, tmp_path / "none", "--path", "x/*", cwd=resnet, check=False)
    assert none.returncode == 2 and "no file of data matches x/*" in none.stderr
    assert not (tmp_path / "none" / "data").exists()
    missing = download("--tag", "v0.7")
    assert missing.returncode == 7 and "cpv registry versions vision/resnet50" in missing.stderr

    run(cpv, "registry", "html", "-o", outside / "site", cwd=outside)
    _check_dashboard(outside / "site" / "index.html", tmp_path / "dashboard.png")


def _browser() -> tuple[str, str]:
    """The system chromium and its driver (Debian: apt-get install chromium chromium-driver)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("CI") and sys.platform.startswith("linux"):
            pytest.fail("chromium and chromedriver are needed: .ci/run installs them")
        pytest.skip("no chromium here (apt-get install chromium chromium-driver) for the browser")
    return chromium, driver


def _check_dashboard(index: Path, screenshot: Path) -> None:
    """Open the page from file:// in headless chromium: rows, a chart point per version."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    chromium, driver_path = _browser()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1400,1800")
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        driver.get(index.as_uri())
        models = driver.find_elements(By.CSS_SELECTOR, "section.model")
        names = [m.get_attribute("data-model") for m in models]
        assert names == ["nlp/bert", "vision/resnet50", "vision/yolo"]
        resnet = models[1]
        rows = resnet.find_elements(By.CSS_SELECTOR, "tr.version")
        assert [r.text.split()[0] for r in rows] == ["v0.2", "v0.1", "data-v0.1"]
        assert "prod" in rows[0].text and "data-v0.1" in rows[0].text
        assert "cpv model download --registry vision/resnet50 --tag v0.2" in rows[0].text
        points = resnet.find_elements(
            By.CSS_SELECTOR, 'g[id="vision-resnet50-metric-accuracy"] use'
        )
        assert len(points) == 2 and all(p.is_displayed() for p in points)
        driver.save_screenshot(str(screenshot))
    finally:
        driver.quit()
    assert screenshot.stat().st_size > 10_000


class _Hook(http.server.BaseHTTPRequestHandler):
    """Records each POSTed JSON body; answers with the server's ``status``."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_webhook_gets_one_message_per_published_version_and_never_fails_a_push(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []  # type: ignore[attr-defined]
    server.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        run(BIN / "cpv", "config", "notify", "--webhook", url)
        repo = _model_repo(tmp_path, None, "nlp", "bert")  # the local remote: entries too
        _version(repo, 1, 0.7, data=True)
        git(repo, "push", "-q", "-u", "origin", "main")
        texts = sorted(m["text"] for m in server.received)  # type: ignore[attr-defined]
        assert len(texts) == 2 and "*nlp/bert* data version *data-v0.1*" in texts[0]
        assert "model version *v0.1*" in texts[1] and "accuracy=0.7" in texts[1]
        assert "cpv model download --registry nlp/bert --tag v0.1" in texts[1]

        server.status = 500  # type: ignore[attr-defined]
        monkeypatch.setenv("CPV_NOTIFY_WEBHOOK", url.replace("/hook", "/env"))
        _version(repo, 2, 0.75)
        git(repo, "tag", "-d", "v0.2")  # a version without its tag: pre-push heals it
        assert git(repo, "push", "-q", check=False).returncode == 1  # the same push again
        assert len(server.received) == 2  # type: ignore[attr-defined]
        push = git(repo, "push", "-q")
        warnings = [line for line in push.stderr.splitlines() if "notification" in line]
        assert len(warnings) == 1 and "127.0.0.1 failed" in warnings[0], push.stderr
        assert len(server.received) == 3  # type: ignore[attr-defined]
        server.status = 200  # type: ignore[attr-defined]
        entries = Registry().versions("nlp/bert")
        assert [e["tag"] for e in entries] == ["data-v0.1", "v0.1", "v0.2"]  # v0.2 healed

        # a retention gc deletes v0.2's data: the registry stops listing it
        _version(repo, 3, 0.8)
        git(repo, "push", "-q")
        run(BIN / "cpv", "gc", "--keep-last", "1", "--grace", "0", "--yes", cwd=repo)
        listed = [e["tag"] for e in Registry().versions("nlp/bert")]
        assert listed == ["data-v0.1", "v0.1", "v0.3"]  # v0.1 shares data-v0.1's commit
        shown = run(BIN / "cpv", "registry", "versions", "nlp/bert", "--deleted").stdout
        assert "v0.2" in shown and "(data pruned " in shown

        # --no-notify keeps a version quiet; --notify with no webhook says so, never fails
        before = len(server.received)  # type: ignore[attr-defined]
        write_model(tmp_path / "w.bin", seed=4)
        run(BIN / "cpv", "model", "upload", tmp_path / "w.bin", "--no-notify", cwd=repo)
        assert len(server.received) == before  # type: ignore[attr-defined]
        monkeypatch.delenv("CPV_NOTIFY_WEBHOOK")
        run(BIN / "cpv", "config", "notify", "--off")
        write_model(tmp_path / "w.bin", seed=5)
        up = run(BIN / "cpv", "model", "upload", tmp_path / "w.bin", "--notify", cwd=repo)
        assert "no webhook is set" in up.stderr and "versioned v0.5" in up.stdout
    finally:
        server.shutdown()
        server.server_close()
    bad = run(BIN / "cpv", "config", "notify", "--webhook", "ftp://x", check=False)
    assert bad.returncode == 2 and "not an http(s) URL" in bad.stderr


def test_print_policy_is_least_privilege_for_the_team_prefix(s3: S3) -> None:
    proc = run(
        BIN / "cpv", "aws-config", "--print-policy", "--team", "vision", "--bucket", s3.bucket
    )
    policy = json.loads(proc.stdout)
    arn = f"arn:aws:s3:::{s3.bucket}"
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["ReadWriteTeamPrefix"]["Resource"] == f"{arn}/vision/*"
    assert statements["ListBucket"]["Resource"] == arn
    for s in policy["Statement"]:
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        assert all(r.startswith(arn) for r in resources) and "*" not in str(s["Action"])
        if "s3:PutObject" in s["Action"] or "s3:DeleteObject" in s["Action"]:
            assert all(r.startswith(f"{arn}/vision/") for r in resources)
    iam = boto3.client("iam", endpoint_url=s3.endpoint, region_name="us-east-1")
    # moto's IAM checks the document's grammar (AWS IAM itself cannot be reached here)
    iam.create_policy(PolicyName="cpv-vision", PolicyDocument=proc.stdout)
    assert not (Path.cwd() / "home" / ".cpv" / "config.json").exists()  # nothing stored
    bad = run(BIN / "cpv", "aws-config", "--print-policy", "--team", "Bad Team", check=False)
    assert bad.returncode == 2 and "invalid team name" in bad.stderr


def test_registry_versions_index_never_hides_a_change(s3: S3) -> None:
    """`registry versions` keeps an index of the entries; a new, rewritten or forged entry is
    still read as the bucket has it (each index entry is checked against the listing's ETag)."""
    client = s3.server.client()

    def put(name: str, data: bytes) -> None:
        client.put_object(Bucket=s3.bucket, Key=f"team/model/cpv/{name}", Body=data)

    def entry(minor: int, **more: object) -> bytes:
        tag = f"v0.{minor}"
        return encode({"schema": 1, "kind": "model", "tag": tag, "version": tag,
                       "commit": "c" * 40, "author": "A <a@x>", "message": "m",
                       "date": "2026-01-01T00:00:00+00:00", "artifacts": {}, "metrics": {},
                       "deleted": False, **more})  # fmt: skip

    for minor in (1, 2, 3):
        put(f"versions/v0.{minor}.json", entry(minor))
    registry = Registry(s3.bucket, s3.endpoint, region="us-east-1")

    def listed() -> list[str]:
        return [e["tag"] for e in registry.versions("team/model")]

    assert listed() == ["v0.1", "v0.2", "v0.3"]
    index = json.loads(client.get_object(Bucket=s3.bucket, Key="team/model/cpv/index.json")
                       ["Body"].read())  # fmt: skip
    assert sorted(index) == ["v0.1.json", "v0.2.json", "v0.3.json"]
    put("versions/v0.2.json", entry(2, deleted=True))  # a tag deleted on the remote
    put("versions/v0.4.json", entry(4))  # a new push
    client.delete_object(Bucket=s3.bucket, Key="team/model/cpv/versions/v0.3.json")
    assert listed() == ["v0.1", "v0.4"]
    index["v0.1.json"] = index["v0.1.json"].replace('"m"', '"forged"')  # a lying index
    put("index.json", json.dumps(index).encode())
    assert [e["message"] for e in registry.versions("team/model")] == ["m", "m"]

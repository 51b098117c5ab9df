"""Trust in versions: every version tagged exactly once, its data always on the remote.

Each test drives real git (hooks installed by the template), a real bare remote and the
session's S3 server, and asserts the tags afterwards (docs/RELIABILITY.md, "Versions").
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import BIN, S3, clone, git, run, teammate, write_model
from hypothesis import given
from hypothesis import strategies as st

from cpv_hooks.install import install_hooks
from cpv_hooks.repo import load_repo_config
from cpv_hooks.versions import name_problem, parse_tag


def _tags(repo: Path) -> list[str]:
    return git(repo, "tag", "-l", "--sort=v:refname").stdout.split()


def _upload(repo: Path, src: Path, seed: int, *args: str) -> bytes:
    data = write_model(src, seed=seed)
    run(BIN / "cpv", "model", "upload", src, *args, cwd=repo)
    return data


def test_push_uploads_the_data_of_every_version_it_sends(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    """Case 0: versions made with --no-push reach S3 with the next push, whoever pushes."""
    repo = make_repo(s3)
    models = [_upload(repo, tmp_path / "m.bin", seed, "--no-push") for seed in (1, 2, 3)]
    assert s3.list_keys() == set()
    models.append(_upload(repo, tmp_path / "m.bin", 4))  # this one pushes
    assert _tags(bare_remote) == ["v0.1", "v0.2", "v0.3", "v0.4"]
    assert "Everything up-to-date" in git(repo, "push").stderr
    mate = teammate(bare_remote, tmp_path / "mate")
    for number, data in enumerate(models, 1):
        git(mate, "checkout", "-q", f"v0.{number}")
        assert (mate / "model.bin").read_bytes() == data


def _commit(repo: Path, seed: int, *args: str) -> subprocess.CompletedProcess[str]:
    write_model(repo / "model.bin", seed=seed)
    (repo / "metrics.log").write_text(f"acc: 0.{seed}\n")
    return git(repo, *args, "commit", "-qam", f"model {seed}")


def _tag_of(repo: Path, commit: str) -> list[str]:
    return git(repo, "tag", "--points-at", commit).stdout.split()


def test_untagged_versions_are_healed_in_commit_order(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    """Case 1 (a commit whose post-commit never ran) and 6 (a commit on a detached HEAD)."""
    repo = make_repo(s3)
    _commit(repo, 1)
    git(repo, "tag", "-d", "v0.1")  # as if the commit was killed before post-commit
    proc = git(repo, "push", "--dry-run")
    assert "would get version v0.1" in proc.stderr and _tags(repo) == []
    assert not s3.list_keys()  # git sends nothing under --dry-run: neither does cpv
    proc = git(repo, "push", check=False)  # git cannot take the new tag: stopped, data sent
    assert proc.returncode != 0 and "tagged model version v0.1 on" in proc.stderr
    assert "run the same git push again to send v0.1" in proc.stderr
    assert _tags(bare_remote) == [] and not git(bare_remote, "branch").stdout
    git(repo, "push")
    assert _tags(bare_remote) == ["v0.1"]
    first = git(repo, "rev-parse", "HEAD").stdout.strip()
    _commit(repo, 2)
    git(repo, "tag", "-d", "v0.2")
    proc = _commit(repo, 3)  # the next commit: the killed one takes its number first
    assert "tagged model version v0.2 on" in proc.stderr
    assert _tag_of(repo, "HEAD~1") == ["v0.2"] and _tag_of(repo, "HEAD") == ["v0.3"]
    git(repo, "checkout", "-q", "--detach")
    proc = _commit(repo, 4)
    assert "tagged" not in proc.stderr and _tag_of(repo, "HEAD") == []
    detached = git(repo, "rev-parse", "HEAD").stdout.strip()
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", detached)  # reaches the branch: no hook runs
    proc = git(repo, "push", check=False)
    assert proc.returncode != 0 and "tagged model version v0.4 on" in proc.stderr
    git(repo, "push")
    assert _tags(bare_remote) == ["v0.1", "v0.2", "v0.3", "v0.4"]
    assert _tag_of(repo, first) == ["v0.1"] and _tag_of(repo, detached) == ["v0.4"]
    mate = teammate(bare_remote, tmp_path / "mate")
    git(mate, "checkout", "-q", "v0.4")
    assert (mate / "model.bin").read_bytes() == (repo / "model.bin").read_bytes()
    # a history whose version tag went missing: `cpv heal` versions it, without pushing
    git(mate, "checkout", "-q", "main")
    _upload(mate, tmp_path / "m.bin", 5, "--no-push")
    git(mate, "tag", "-d", "v0.5")
    assert run(BIN / "cpv", "--dry-run", "heal", cwd=mate).stdout.startswith("would tag v0.5 on ")
    assert "v0.5" not in _tags(mate)
    assert run(BIN / "cpv", "heal", cwd=mate).stdout.startswith("tagged v0.5 on ")
    assert run(BIN / "cpv", "heal", cwd=mate).stdout.startswith("every version is tagged")
    assert _tags(bare_remote) == ["v0.1", "v0.2", "v0.3", "v0.4"]


def _manifest_commit(repo: Path, tag: str) -> str:
    body = git(repo, "tag", "-l", "--format=%(contents:body)", tag).stdout
    return str(json.loads(body)["commit"])


def test_rewrites_move_unpushed_versions_and_keep_pushed_ones(
    make_repo, bare_remote: Path, tmp_path: Path
) -> None:
    """Case 2 (amend, rebase) and case 8 (a rebase-pull re-syncs the workspace)."""
    repo = make_repo()
    _commit(repo, 1)
    git(repo, "push")
    mate = teammate(bare_remote, tmp_path / "mate")
    _commit(repo, 2)
    (repo / "metrics.log").write_text("acc: 0.25\n")
    proc = git(repo, "commit", "--amend", "-qam", "model 2, metrics fixed")
    assert "version v0.2 moved to the rewritten" in proc.stderr
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    assert _tags(repo) == ["v0.1", "v0.2"] and _tag_of(repo, head) == ["v0.2"]
    assert _manifest_commit(repo, "v0.2") == head
    (mate / "data" / "new.csv").write_text("from the teammate\n")
    (mate / "train.py").write_text("# more data\n")  # a change for git; the hook adds data/
    git(mate, "commit", "-qam", "more data")
    git(mate, "push")
    proc = git(repo, "-c", "pull.rebase=true", "pull", "-q")
    rebased = git(repo, "rev-parse", "HEAD").stdout.strip()
    assert rebased != head and _tag_of(repo, rebased) == ["v0.2"]
    assert _manifest_commit(repo, "v0.2") == rebased
    assert _tags(repo) == ["data-v0.1", "v0.1", "v0.2"]
    assert (repo / "data" / "new.csv").read_text() == "from the teammate\n"  # re-synced
    git(repo, "push")
    proc = git(repo, "commit", "--amend", "-qm", "reworded after the push")
    assert "v0.2 is already pushed, so it stays on the old commit" in proc.stderr
    assert _tag_of(repo, rebased) == ["v0.2"] and _tag_of(repo, "HEAD") == []
    assert _tags(repo) == ["data-v0.1", "v0.1", "v0.2"]


def test_commit_msg_refuses_a_bad_directive_before_the_commit(make_repo) -> None:
    """Case 5: nothing is committed, and the message names the next free version."""
    repo = make_repo()
    _commit(repo, 1)
    _commit(repo, 2)
    head = git(repo, "rev-parse", "HEAD").stdout
    write_model(repo / "model.bin", seed=3)
    (repo / "metrics.log").write_text("acc: 0.3\n")
    for directive in ("[cpv v0.1]", "[cpv v0.2]", "[cpv v1]", "[cpv bigger]"):
        proc = git(repo, "commit", "-qam", f"retrained {directive}", check=False)
        assert proc.returncode != 0
        assert "cpv: commit refused:" in proc.stderr and "next free version is v0.3" in proc.stderr
        assert git(repo, "rev-parse", "HEAD").stdout == head
    git(repo, "commit", "-qam", "retrained [cpv v1.0]")
    assert _tags(repo) == ["v0.1", "v0.2", "v1.0"]


def test_version_looking_tags_are_refused_with_a_hint(make_repo, bare_remote: Path) -> None:
    """Case 3: `1.0` is a user who meant v1.0; unrelated tags still pass."""
    repo = make_repo()
    _commit(repo, 1)
    git(repo, "push")
    refused = {
        "1.0": "did you mean v1.0?",
        "V1.0": "did you mean v1.0?",
        "v0.0": "did you mean v0.1?",
        "data-v1": "did you mean data-v1.0?",
        "2026": "did you mean v2026.0?",
    }
    for name, hint in refused.items():
        git(repo, "tag", name)
        proc = git(repo, "push", "origin", name, check=False)
        assert proc.returncode != 0 and hint in proc.stderr, (name, proc.stderr)
    for name in ("release-2026", "paper"):
        git(repo, "tag", name)
        git(repo, "push", "origin", name)
    assert _tags(bare_remote) == ["paper", "release-2026", "v0.1"]


versions = st.from_regex(r"(data-)?v(0|[1-9][0-9]{0,4})\.(0|[1-9][0-9]{0,4})", fullmatch=True)


@given(versions)
def test_every_cpv_version_but_v0_0_passes_the_name_check(name: str) -> None:
    assert (name_problem(name) is None) == (not name.endswith("v0.0"))


@given(st.from_regex(r"(data-)?([vV]-?)?[0-9]{1,6}(\.[0-9]{1,6}){0,3}", fullmatch=True))
def test_version_looking_names_get_a_valid_suggestion(name: str) -> None:
    if parse_tag(name) and not name.endswith("v0.0"):
        return  # a real version
    problem = name_problem(name)
    assert problem is not None and "did you mean" in problem
    meant = problem.split("did you mean ", 1)[1].split("?")[0]
    assert name_problem(meant) is None and parse_tag(meant) is not None


@given(st.from_regex(r"[abce-uw-zA-UW-Z][a-zA-Z0-9_-]{0,20}", fullmatch=True))
def test_unrelated_tags_pass(name: str) -> None:
    assert name_problem(name) is None


def test_a_newly_declared_artifact_is_committed_with_its_declaration(make_repo) -> None:
    """Case 4: files and directories, in the same commit; is_dir follows the file system."""
    repo = make_repo()
    config = repo / ".cpv.yaml"
    config.write_text(
        config.read_text().replace(
            "artifacts:\n",
            "artifacts:\n  - {path: hf_model/, kind: model}\n  - {path: vocab.txt, kind: data}\n",
        )
    )
    arts = {a.path: a for a in load_repo_config(repo).artifacts}
    assert arts["hf_model"].is_dir(repo) and not arts["vocab.txt"].is_dir(repo)  # as declared
    (repo / "hf_model").mkdir()
    write_model(repo / "hf_model" / "weights.bin", seed=1)
    (repo / "hf_model" / "config.json").write_text("{}\n")
    (repo / "vocab.txt").write_text("a\nb\n")
    git(repo, "add", ".cpv.yaml")
    git(repo, "commit", "-qam", "declare the HF model and the vocabulary")
    committed = git(repo, "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert {"hf_model.dvc", "vocab.txt.dvc", ".cpv.yaml"} <= set(committed)
    assert git(repo, "status", "--porcelain").stdout == ""
    assert _tags(repo) == ["data-v0.1", "v0.1"]
    manifest = json.loads(git(repo, "tag", "-l", "--format=%(contents:body)", "v0.1").stdout)
    assert manifest["artifacts"]["hf_model"]["nfiles"] == 2
    (repo / "vocab.txt").unlink()
    (repo / "vocab.txt").mkdir()  # the file system decides, not the spelling
    assert arts["vocab.txt"].is_dir(repo) and arts["hf_model"].is_dir(repo)


def test_retag_says_what_it_does_and_never_goes_below_the_newest(make_repo) -> None:
    """Case 6: a hand-made tag keeps its name when it can; a renumbering says why."""
    repo = make_repo()
    for seed in (1, 2, 3):
        _commit(repo, seed)
    git(repo, "tag", "v0.9")  # lightweight, above the newest v0.3
    said = run(BIN / "cpv", "retag", "v0.9", cwd=repo).stdout.strip()
    assert said.startswith("v0.9 -> v0.9 (the name is free and above every other version")
    assert git(repo, "cat-file", "-t", "v0.9").stdout.strip() == "tag"
    git(repo, "tag", "v0.0", "HEAD~1")
    proc = run(BIN / "cpv", "retag", "v0.0", "--to", "v0.5", cwd=repo, check=False)
    assert proc.returncode == 2 and "v0.5 is not above the newest v0.9" in proc.stderr
    dry = run(BIN / "cpv", "--dry-run", "retag", "v0.0", cwd=repo).stdout
    assert dry.startswith("dry run, nothing changed: v0.0 -> v0.10 (v0.0 is not above the newest")
    assert "v0.0" in _tags(repo) and "v0.10" not in _tags(repo)
    run(BIN / "cpv", "retag", "v0.0", cwd=repo)
    assert _tags(repo) == ["v0.1", "v0.2", "v0.3", "v0.9", "v0.10"]


def test_stale_workspace_is_said_and_never_versioned(
    make_repo, bare_remote: Path, tmp_path: Path
) -> None:
    """Cases 6 and 8: a clone that pulled without hooks, and a `git reset --hard`."""
    repo = make_repo()
    old = _commit(repo, 1) and (repo / "model.bin").read_bytes()
    git(repo, "push")
    mate = clone(bare_remote, tmp_path / "mate")  # no `cpv install`
    run(BIN / "cpv", "model", "download", "--tag", "v0.1", "-o", mate, cwd=mate)
    _commit(repo, 2)
    git(repo, "push")
    git(mate, "pull", "-q")  # no hooks: the pointer says v0.2, model.bin holds v0.1
    install_hooks(mate)  # hooks come later, the work tree is left as it is
    (mate / "train.py").write_text("# tweak\n")
    proc = git(mate, "commit", "-qam", "tweak", check=False)
    assert proc.returncode != 0
    assert "model.bin holds the bytes of v0.1, older than what HEAD points to" in proc.stderr
    assert "`cpv install` brings it up to date" in proc.stderr
    assert git(mate, "status", "--porcelain").stdout.split() == ["M", "train.py"]
    run(BIN / "cpv", "install", cwd=mate)
    git(mate, "commit", "-qam", "tweak")
    assert _tags(mate) == ["v0.1", "v0.2"]
    assert (mate / "model.bin").read_bytes() == (repo / "model.bin").read_bytes()
    git(repo, "reset", "-q", "--hard", "v0.1")  # no hook runs
    warned = run(BIN / "cpv", "model", "list-tags", cwd=repo).stderr
    assert "model.bin still hold(s) the bytes of an earlier pointer" in warned
    assert "`cpv install`" in warned
    (repo / "train.py").write_text("# after the reset\n")
    git(repo, "commit", "-qam", "code on v0.1")  # the stale bytes are not versioned
    assert _tags(repo) == ["v0.1", "v0.2"] and (repo / "model.bin").read_bytes() == old
    assert run(BIN / "cpv", "model", "list-tags", cwd=repo).stderr == ""


def test_signed_versions_list_verify_and_say_so(make_repo, tmp_path: Path) -> None:
    """Case 7: with tag.gpgSign (an ssh key here) cpv's tags are signed and still read."""
    repo = make_repo()
    _commit(repo, 1)  # made before signing was turned on
    key = tmp_path / "signing_key"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cpv test", "-f", key)
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"test@example.com {key.with_suffix('.pub').read_text()}")
    for name, value in {
        "gpg.format": "ssh",
        "user.signingkey": str(key),
        "tag.gpgSign": "true",
        "gpg.ssh.allowedSignersFile": str(signers),
    }.items():
        git(repo, "config", name, value)
    _commit(repo, 2)
    assert "SSH SIGNATURE" in git(repo, "cat-file", "-p", "v0.2").stdout
    git(repo, "tag", "-v", "v0.2")
    listing = run(BIN / "cpv", "model", "list-tags", "--json", cwd=repo).stdout
    assert [v["tag"] for v in json.loads(listing)] == ["v0.1", "v0.2"]
    info = run(BIN / "cpv", "model", "info", "--tag", "v0.2", cwd=repo).stdout
    assert "signature: valid" in info and "model 2" in info
    assert (
        "signature: unsigned" in run(BIN / "cpv", "model", "info", "--tag", "v0.1", cwd=repo).stdout
    )
    signers.write_text("")  # nobody trusted any more
    assert "signature: NOT verified" in run(BIN / "cpv", "model", "info", cwd=repo).stdout

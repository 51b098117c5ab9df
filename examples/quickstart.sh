#!/usr/bin/env bash
# cpv's main job on the embedded default (a local DVC remote under ~/.cpv, no cloud account):
# create a model repo, commit two trained models, push, clone elsewhere, check out v0.1.
# The demo always uses that local remote (--storage local), whatever S3 is configured.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/cpv-quickstart.XXXXXX")
cd "$work"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
# a fresh machine may have no git identity yet: use a throwaway one for this demo only
if ! git config user.email >/dev/null; then
    export GIT_AUTHOR_NAME="cpv quickstart" GIT_AUTHOR_EMAIL="quickstart@example.com"
    export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
fi
git init -q --bare --initial-branch=main bitbucket/resnet50.git   # stands in for the team's Bitbucket repo

say cpv init --team-name vision --model-name resnet50 --storage local --git-remote-url "$work/bitbucket/resnet50.git"
cpv init --team-name vision --model-name resnet50 --storage local --git-remote-url "$work/bitbucket/resnet50.git"
cd resnet50

say python train.py '&&' git commit -am '"baseline"'
python train.py
git commit -qam "baseline"
say git tag -n1
git tag -n1

say 'head -c 2000000 /dev/urandom > model.bin; echo "accuracy: 0.95" > metrics.log; git commit -am "longer training"'
head -c 2000000 /dev/urandom > model.bin
echo "accuracy: 0.95" > metrics.log
git commit -qam "longer training"
git tag -n1

say git push
git push -q

say git clone ... teammate '&&' cd teammate '&&' cpv install '&&' git checkout v0.1
cd "$work"
git clone -q bitbucket/resnet50.git teammate
cd teammate
cpv install
git checkout -q v0.1
want=$(git show v0.1:model.bin.dvc | sed -n 's/.*md5: //p')
got=$(python -c 'import hashlib, sys; print(hashlib.md5(open(sys.argv[1], "rb").read()).hexdigest())' model.bin)
[ "$want" = "$got" ] || { echo "quickstart FAILED: model.bin is not v0.1's" >&2; exit 1; }
echo "model.bin at v0.1 in the teammate's clone is byte-identical to the committed v0.1: OK"
echo "(everything is in $work; the data is in ${CPV_CONFIG_DIR:-$HOME/.cpv}/remotes/vision/resnet50)"

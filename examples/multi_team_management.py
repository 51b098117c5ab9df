"""Several teams, several models: one repo per model, data under s3://<bucket>/<team>/<model>/.

python examples/multi_team_management.py
"""

from __future__ import annotations

from _common import fake_weights, storage, workdir

from cpv_hooks import DataCheckpointsManage, ModelsCheckpointsManage

TEAMS = {"vision": ["resnet50", "vit-base"], "nlp": ["bert-small"]}


def main() -> None:
    work = workdir("teams")
    for team, names in TEAMS.items():
        for i, name in enumerate(names):
            home = work / team
            models = ModelsCheckpointsManage(team, name, working_dir=home)
            models.import_model_init(**storage())
            data = DataCheckpointsManage(team, name, working_dir=home)
            dataset = home / "incoming" / name
            dataset.mkdir(parents=True, exist_ok=True)
            (dataset / "train.csv").write_text(f"text,label\n{team} {name},{i}\n")
            data_tag = data.upload_data_checkpoint(dataset)
            weights = fake_weights(home / "runs" / name / "model.bin", seed=len(name) + i)
            tag = models.upload_model_checkpoint(weights, metrics={"f1": 0.7 + i / 10})
            print(f"{team}/{name}: model {tag}, data {data_tag}")

    print("\nall versions:")
    for team, names in TEAMS.items():
        for name in names:
            models = ModelsCheckpointsManage(team, name, working_dir=work / team)
            for manifest in models.versions():
                print(f"  {team}/{name} {manifest.tag:<10} {manifest.message}")


if __name__ == "__main__":
    main()

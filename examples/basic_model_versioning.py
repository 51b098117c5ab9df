"""Version a model from a training script: upload, list, load, download, revert.

python examples/basic_model_versioning.py
"""

from __future__ import annotations

from _common import fake_weights, storage, workdir

from cpv_hooks import ModelsCheckpointsManage


def main() -> None:
    work = workdir("basic")
    models = ModelsCheckpointsManage("vision", "resnet50", working_dir=work)
    models.import_model_init(**storage())

    # two training runs, each versioned with its metrics
    for run, acc in ((1, 0.88), (2, 0.91)):
        weights = fake_weights(work / "runs" / str(run) / "model.bin", seed=run)
        tag = models.upload_model_checkpoint(weights, metrics={"accuracy": acc, "epoch": 10 * run})
        print(f"run {run}: versioned as {tag}")

    print("versions:", models.read_checkpoint_tag())
    first = models.load_model("v0.1")
    print(f"v0.1 is at {first.path} (md5 {first.md5} verified), metrics {first.metrics}")
    copy = models.download_model_checkpoint("v0.2", output_dir=work / "exported")
    print(f"v0.2 exported to {copy.path}")
    print("reverted to v0.1 as", models.revert_model_checkpoint("v0.1"))
    latest = models.get_model_metadata()
    assert latest["artifacts"]["model.bin"]["md5"] == first.md5
    print(f"latest is {latest['tag']}: {latest['message']}")


if __name__ == "__main__":
    main()

"""Experiment tracking: version every run with its hyper-parameters and metrics, then pick
the best from the tags alone (no checkout, no download) and load it.

    python examples/experiment_tracking.py
"""

from __future__ import annotations

from _common import fake_weights, storage, workdir

from cpv_hooks import ModelsCheckpointsManage
from cpv_hooks.checkpoints import diff


def train(lr: float, epochs: int) -> dict[str, float]:
    """A stand-in for training: a made-up validation loss."""
    return {"lr": lr, "epochs": epochs, "val_loss": round(abs(lr - 3e-4) * 1000 + 1 / epochs, 4)}


def main() -> None:
    work = workdir("experiments")
    models = ModelsCheckpointsManage("research", "sweep", working_dir=work)
    models.import_model_init(**storage())
    for n, (lr, epochs) in enumerate([(1e-3, 10), (3e-4, 10), (3e-4, 30), (1e-4, 30)]):
        metrics = train(lr, epochs)
        weights = fake_weights(work / "runs" / f"{n}.bin", seed=n)
        tag = models.upload_model_checkpoint(
            weights, metrics=metrics, message=f"sweep lr={lr} epochs={epochs}"
        )
        print(f"{tag}: {metrics}")

    runs = models.versions("model")
    best = min(runs, key=lambda m: m.metrics["val_loss"])
    print(f"\nbest run: {best.tag} ({best.message}), val_loss {best.metrics['val_loss']}")
    changes = diff(models.repo_path, best.tag, runs[-1].tag)
    for key, change in changes["metrics"].items():
        print(f"  {key}: {change['from']} -> {change['to']}")
    loaded = models.load_model(best.tag)
    print(f"loaded {best.tag} from {loaded.path}")


if __name__ == "__main__":
    main()

"""Placeholder training script for {{ cookiecutter.model_name }} ({{ cookiecutter.team_name }}).

Write the weights to model.bin and one `name: value` metric per line to metrics.log, then
`git commit -am "what changed"`: cpv versions the model (and data/, if it changed).
"""

from pathlib import Path


def main() -> None:
    weights = bytes(range(256)) * 512  # replace with your model's weights
    Path("model.bin").write_bytes(weights)
    Path("metrics.log").write_text("loss: 0.42\naccuracy: 0.91\n")


if __name__ == "__main__":
    main()

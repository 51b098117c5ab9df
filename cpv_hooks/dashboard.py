"""``cpv registry html``: the registry as one static page (no server, works from file://).

Teams, then models, then versions; per model a chart of each metric over its versions,
drawn by matplotlib as inline SVG. Every string from the bucket is HTML-escaped.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

from cpv_hooks.errors import ConfigError
from cpv_hooks.fsutil import atomic_write
from cpv_hooks.registry import Registry

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;margin-top:1.5em}
table{border-collapse:collapse;width:100%;font-size:14px;margin:.5em 0 1.5em}
th,td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6} .stage{background:#2a7;color:#fff;border-radius:4px;padding:0 5px}
code{background:#f3f3f3;padding:2px 4px} .chart svg{max-width:640px;height:auto}
button{font-size:12px;margin-left:4px}
"""
COPY = (
    "function cpvCopy(b){navigator.clipboard&&navigator.clipboard.writeText("
    "b.previousElementSibling.textContent);b.textContent='copied'}"
)


def chart(name: str, versions: list[dict[str, Any]]) -> str:
    """Inline SVG: each metric of the model versions over the versions, one point each."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ConfigError(
            "the dashboard needs matplotlib", "pip install 'cpv-hooks[dashboard]'"
        ) from exc

    models = [v for v in versions if v.get("kind") == "model"]
    metrics = sorted({k for v in models for k in (v.get("metrics") or {})})
    if not metrics:
        return ""
    # no pyplot: no global backend or figure state; ids stay unique across the page's charts
    with matplotlib.rc_context({"svg.hashsalt": name, "svg.fonttype": "none"}):
        fig = Figure(figsize=(6.4, 2.8))
        ax = fig.subplots()
        labels = [str(v["tag"]) for v in models]
        for metric in metrics:
            points = [
                (i, float(v["metrics"][metric]))
                for i, v in enumerate(models)
                if metric in (v.get("metrics") or {})
            ]
            (line,) = ax.plot(*zip(*points, strict=True), marker="o", label=metric)
            line.set_gid(f"{name.replace('/', '-')}-metric-{metric}")
        ax.set_xticks(range(len(labels)), labels)
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg")
    svg = out.getvalue()
    return svg[svg.index("<svg") :]


def _row(name: str, v: dict[str, Any], trained: dict[str, list[str]]) -> str:
    esc = html.escape
    kind = str(v.get("kind"))
    tag = str(v.get("tag"))
    anchor = f"{name}@{tag}"
    size = sum(int(a.get("size", 0)) for a in (v.get("artifacts") or {}).values())
    if kind == "model":
        data = (v.get("data") or {}).get("tag")
        lineage = f'<a href="#{esc(name)}@{esc(data)}">{esc(data)}</a>' if data else "-"
    else:
        lineage = ", ".join(
            f'<a href="#{esc(name)}@{esc(m)}">{esc(m)}</a>' for m in trained.get(tag, [])
        )
        lineage = f"models: {lineage}" if lineage else "-"
    stages = "".join(f'<span class="stage">{esc(s)}</span> ' for s in v.get("stages", []))
    metrics = " ".join(f"{esc(k)}={float(x):g}" for k, x in (v.get("metrics") or {}).items())
    command = f"cpv {kind} download --registry {name} --tag {tag} -o {name.split('/')[1]}-{tag}"
    return (
        f'<tr id="{esc(anchor)}" class="version"><td>{esc(tag)} {stages}</td>'
        f"<td>{lineage}</td><td>{size / 1e6:.2f} MB</td>"
        f"<td>{esc(str(v.get('date', ''))[:19])}</td><td>{esc(str(v.get('author', '')))}</td>"
        f"<td>{esc(str(v.get('message', '')))}</td><td>{metrics}</td>"
        f'<td><code>{esc(command)}</code><button onclick="cpvCopy(this)">copy</button></td></tr>'
    )


def page(registry: Registry, team: str | None = None) -> str:
    """The whole dashboard as one HTML document."""
    esc = html.escape
    body = []
    current_team = None
    for team_name, model in registry.models(team):
        name = f"{team_name}/{model}"
        versions = registry.versions(name)
        if not versions:
            continue
        if team_name != current_team:
            body.append(f"<h2>{esc(team_name)}</h2>")
            current_team = team_name
        trained: dict[str, list[str]] = {}
        for v in versions:
            data = (v.get("data") or {}).get("tag")
            if v.get("kind") == "model" and data:
                trained.setdefault(str(data), []).append(str(v["tag"]))
        rows = "".join(_row(name, v, trained) for v in reversed(versions))
        body.append(
            f'<section class="model" data-model="{esc(name)}"><h3>{esc(name)}</h3>'
            f'<div class="chart" data-model="{esc(name)}">{chart(name, versions)}</div>'
            "<table><tr><th>version</th><th>data / lineage</th><th>size</th><th>date</th>"
            "<th>author</th><th>message</th><th>metrics</th><th>download</th></tr>"
            f"{rows}</table></section>"
        )
    if not body:
        body.append("<p>No model has published a version yet.</p>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>cpv registry</title><style>{STYLE}</style><script>{COPY}</script></head>"
        f"<body><h1>cpv team registry</h1><p>{esc(registry.where)}</p>{''.join(body)}"
        "</body></html>"
    )


def write_site(registry: Registry, out_dir: Path, team: str | None = None) -> Path:
    """Write ``index.html`` into ``out_dir``; returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    atomic_write(index, page(registry, team))
    return index

"""``cpv init`` in a terminal without its required options: ask for each, checked at once."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from cpv_hooks.errors import CPVError, ValidationError
from cpv_hooks.repo import validate_name

QUESTIONS = {  # option -> (question, what validate_name calls it)
    "team_name": ("AI team name (lowercase slug, e.g. vision)", "team name"),
    "model_name": ("Model name (lowercase slug, e.g. resnet50)", "model name"),
}


def interactive() -> bool:
    """True when a person can answer: both stdin and stdout are terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _checked(what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            return validate_name(value.strip(), what)
        except CPVError as exc:
            raise click.BadParameter(f"{exc.message}: {exc.hint}") from exc

    return check


def ask_missing(given: dict[str, str | None]) -> dict[str, str]:
    """The values of ``given`` with each missing one asked for (again until it is valid);
    with no terminal, one error naming every missing option."""
    missing = [name for name, value in given.items() if value is None]  # "" is checked
    if missing and not interactive():
        options = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise ValidationError(
            f"missing {options}", "give them, or run `cpv init` in a terminal to be asked"
        )
    out = {name: value for name, value in given.items() if value is not None}
    for name in missing:
        question, what = QUESTIONS[name]
        out[name] = click.prompt(question, value_proc=_checked(what))
    return out


def confirm(question: str) -> None:
    """Ask ``question``; a no ends the command (exit 1) with nothing changed."""
    if not click.confirm(question, default=True):
        click.echo("cpv: nothing changed", err=True)
        raise click.exceptions.Exit(1)

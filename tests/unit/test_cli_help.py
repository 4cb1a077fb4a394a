"""Every subcommand and every option of ``waterbudget`` says what it is, with its default.

Before issue 15 ``waterbudget simulate --help`` listed ``--sites SITES`` and the like
without meaning or default.
"""

from __future__ import annotations

import argparse

import pytest

from waterbudget.cli import build_parser, parsers

ALL = list(parsers(build_parser()))


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions
            if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)]


def test_the_walk_reaches_every_subcommand() -> None:
    commands = {prog for prog, _ in ALL}
    assert {"waterbudget demo", "waterbudget simulate", "waterbudget monitor status",
            "waterbudget registry replace-meter", "waterbudget report export"} <= commands
    assert len(commands) > 20


@pytest.mark.parametrize(("prog", "parser"), ALL, ids=[prog for prog, _ in ALL])
def test_every_option_has_help(prog: str, parser: argparse.ArgumentParser) -> None:
    missing = [a.option_strings or [a.dest] for a in _options(parser)
               if not a.help or a.help == argparse.SUPPRESS]
    assert missing == [], f"{prog}: options without help"


@pytest.mark.parametrize(("prog", "parser"), ALL, ids=[prog for prog, _ in ALL])
def test_every_subcommand_has_help(prog: str, parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest: choice.help for choice in action._choices_actions}
            assert set(listed) == set(action.choices), f"{prog}: subcommands without help"
            assert all(listed.values()), f"{prog}: subcommands without help"


@pytest.mark.parametrize(("prog", "parser"), ALL, ids=[prog for prog, _ in ALL])
def test_help_shows_every_default(prog: str, parser: argparse.ArgumentParser) -> None:
    text = " ".join(parser.format_help().split())
    for action in _options(parser):
        if action.default not in (None, False) and action.option_strings:
            shown = f"(default: {action.default})"
            assert shown in text or "default" in (action.help or ""), (
                f"{prog} {action.option_strings[-1]}: default {action.default!r} not shown")

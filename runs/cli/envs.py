"""``workbench envs``: the 26 Atari 100k games and the protocol in force."""
from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    envs_cmd = commands.add_parser("envs", help="the 26 Atari 100k games, their scores and the protocol in force")
    envs_cmd.set_defaults(handler=_envs)


def _envs(args: argparse.Namespace) -> int:
    import dataclasses

    from envs import PROTOCOL_VERSION, AtariConfig, atari100k_games

    print(f"{'game':<16}{'ALE ROM':<18}{'random':>10}{'human':>10}")
    for g in atari100k_games():
        print(f"{g.name:<16}{g.rom:<18}{g.random:>10.1f}{g.human:>10.1f}")
    print(f"\nprotocol {PROTOCOL_VERSION} (AtariConfig defaults; override with env.<field>=...):")
    for f in dataclasses.fields(AtariConfig):
        if f.name != "game":
            print(f"  {f.name:<20}{getattr(AtariConfig(), f.name)!r}")
    print("  ALE frameskip       1 (the skip above is ours, with max-pool)\n"
          "  life-loss terminal  train mode only\n  reward clipping     train mode only\n"
          "  info                raw_reward, score, lives, life_lost, game_over")
    return 0

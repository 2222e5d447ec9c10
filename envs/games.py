"""The 26 Atari 100k games, their ALE ROM ids and the random/human scores used for normalisation.

The scores ship in ``envs/data/atari100k_games.csv`` (the standard values of rliable, Dopamine,
IRIS and DreamerV3). Any other ROM that ale-py ships can still be played; it has no reference scores.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from envs.validate import closest


@dataclass(frozen=True)
class Game:
    """An Atari game: display name (``MsPacman``), ALE ROM id (``ms_pacman``) and reference scores."""

    name: str
    rom: str
    random: float | None = None
    human: float | None = None

    @property
    def in_atari100k(self) -> bool:
        return self.random is not None

    def human_normalized(self, score: float) -> float:
        """HNS = (score - random) / (human - random)."""
        if self.random is None or self.human is None:
            raise ValueError(f"{self.name} is not an Atari 100k game and has no random/human reference scores")
        return (score - self.random) / (self.human - self.random)


@lru_cache(maxsize=1)
def atari100k_games() -> tuple[Game, ...]:
    """The 26 Atari 100k games in alphabetical order."""
    text = resources.files("envs").joinpath("data/atari100k_games.csv").read_text()
    rows = csv.DictReader(text.splitlines())
    return tuple(Game(r["game"], r["rom"], float(r["random"]), float(r["human"])) for r in rows)


@lru_cache(maxsize=1)
def _all_roms() -> tuple[str, ...]:
    import ale_py.roms

    return tuple(ale_py.roms.get_all_rom_ids())


def _rom_id(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def atari_game_name(env_id: str) -> str | None:
    """The bare game name in an ALE-style id (``ALE/Pong-v5``, ``PongNoFrameskip-v4``), else None."""
    m = re.fullmatch(r"ALE/(\w+)-v5|(\w+?)(?:NoFrameskip)?-v[04]", env_id)
    return (m.group(1) or m.group(2)) if m else None


def find_game(name: str) -> Game:
    """Resolve ``Pong``, ``pong``, ``ms_pacman``, ``ALE/MsPacman-v5`` or ``MsPacmanNoFrameskip-v4``.

    Raises:
        ValueError: unknown game; the message lists the closest valid names.
    """
    bare = atari_game_name(name) or name
    by_key = {g.name.lower(): g for g in atari100k_games()} | {g.rom: g for g in atari100k_games()}
    key = bare.lower() if bare.lower() in by_key else _rom_id(bare)
    if key in by_key:
        return by_key[key]
    if key in _all_roms():
        return Game(bare, key)
    ours = {g.rom for g in atari100k_games()}
    names = [r for r in _all_roms() if r not in ours] + [g.name for g in atari100k_games()]
    raise ValueError(f"unknown Atari game {name!r}; closest valid names: {closest(bare, names)}")

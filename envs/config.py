"""The Atari 100k protocol as one explicit, versioned config block."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envs.validate import require_choice, require_range

# Bump when any default below changes meaning, so results can say which protocol produced them.
PROTOCOL_VERSION = "atari100k-v1"

ObsFormat = Literal["gray84", "rgb105x80", "rgb64"]
# (height, width, rgb) of one frame for each observation format.
OBS_FORMATS: dict[str, tuple[int, int, bool]] = {
    "gray84": (84, 84, False),  # model-free agents (DQN lineage)
    "rgb105x80": (105, 80, True),  # SimPLe
    "rgb64": (64, 64, True),  # IRIS, DIAMOND, DreamerV3
}


@dataclass(frozen=True)
class AtariConfig:
    """How one Atari game is played: the Atari 100k protocol (Dopamine / rliable / BBF lineage).

    Attributes:
        game: game name (``Pong``), ROM id (``ms_pacman``) or ALE id (``ALE/Pong-v5``).
        mode: ``train`` makes a life loss terminal and clips rewards to {-1, 0, 1};
            ``eval`` plays to game over and returns raw game score. ``info`` always has both.
        obs: observation format; frames are stacked on axis 0, RGB channels last.
        frame_skip: emulator frames per agent step (ALE itself always runs at frameskip 1).
        max_pool: max over the last two emulator frames of each agent step.
        sticky_actions: ALE ``repeat_action_probability``: 0.0 (protocol) or 0.25 (Machado et al.).
        noop_max: each game starts with a uniform draw of 0..noop_max no-op frames.
        frame_stack: frames per observation; the stack is zero-padded after a reset.
        max_episode_frames: episode cap in emulator frames (108,000 = 27,000 agent steps).
        fire_on_reset: press FIRE after reset in games that have it (off in the protocol).
        full_action_space: all 18 actions instead of the game's minimal set.
    """

    game: str = "Pong"
    mode: Literal["train", "eval"] = "train"
    obs: ObsFormat = "gray84"
    frame_skip: int = 4
    max_pool: bool = True
    sticky_actions: float = 0.0
    noop_max: int = 30
    frame_stack: int = 4
    max_episode_frames: int = 108_000
    fire_on_reset: bool = False
    full_action_space: bool = False

    def __post_init__(self) -> None:
        require_choice("mode", self.mode, ["train", "eval"])
        require_choice("obs", self.obs, list(OBS_FORMATS))
        require_choice("sticky_actions", self.sticky_actions, [0.0, 0.25])
        require_range("frame_skip", self.frame_skip, 1)
        require_range("noop_max", self.noop_max, 0)
        require_range("frame_stack", self.frame_stack, 1)
        require_range("max_episode_frames", self.max_episode_frames, self.frame_skip)

    @property
    def life_loss_terminal(self) -> bool:
        return self.mode == "train"

    @property
    def clip_rewards(self) -> bool:
        return self.mode == "train"

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """Shape of one preprocessed frame: (H, W) gray or (H, W, 3) RGB."""
        height, width, rgb = OBS_FORMATS[self.obs]
        return (height, width, 3) if rgb else (height, width)

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (self.frame_stack, *self.frame_shape)

"""The 3-body gravitational physics world of C-SWM's last experiment (Kipf et al., ICLR 2020).

As the reference (after Jaques et al., 2020): three balls of radius 3 in a 50x50 box, placed about the centre
at roughly 120 degrees from each other and set spinning, attract each other by gravity (g 9.8, unit masses),
integrated with semi-implicit Euler (``ode_steps`` sub-steps per frame, ``dt`` time units per frame). A
sequence in which a ball touches a wall, or two balls come closer than ``min_separation``, is drawn again, so
kept sequences are pure gravity. Ball j is drawn into colour channel 2 - j, at 10x resolution, then
area-averaged to the frame size.

One difference from the reference, on purpose: it redraws only when two centres come within ``radius + 1``
(so its balls may overlap); here the default ``min_separation`` is ``2 * radius``: balls never overlap.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from envs.validate import require_range


@dataclass(frozen=True)
class ThreeBodyConfig:
    """The world's constants, in pixels and the reference's time units.

    Attributes:
        size: frame height and width in pixels.
        radius: ball radius in pixels.
        dt, ode_steps: time between frames and Euler sub-steps within it.
        gravity, mass: force ``gravity * mass^2 / distance^2`` between each pair.
        speed: initial tangential speed (plus a uniform [-0.5, 0.5) drift shared by the three balls).
        min_separation: closest allowed distance between two centres (2 * radius: no overlap).
        render_scale: supersampling factor of the renderer.
    """

    size: int = 50
    radius: float = 3.0
    dt: float = 2.0
    ode_steps: int = 10
    gravity: float = 9.8
    mass: float = 1.0
    speed: float = 0.5
    min_separation: float = 6.0
    render_scale: int = 10

    def __post_init__(self) -> None:
        for name in ("size", "ode_steps", "render_scale"):
            require_range(name, getattr(self, name), 1)
        require_range("radius", self.radius, 0.5, self.size / 8)
        require_range("min_separation", self.min_separation, 0.0)


def simulate(episodes: int, frames: int, rng: np.random.Generator, config: ThreeBodyConfig = ThreeBodyConfig(),
             batch: int = 256) -> np.ndarray:
    """Ball centres of ``episodes`` kept sequences of ``frames`` frames, (E, T, 3, 2) float64 as (x, y) pixels.

    Candidates are drawn ``batch`` at a time and kept in order, so a seed fixes the result.
    """
    kept: list[np.ndarray] = []
    count = 0
    while count < episodes:
        positions, ok = _candidates(batch, frames, rng, config)
        kept.append(positions[ok])
        count += int(ok.sum())
    return np.concatenate(kept)[:episodes]


def collides(positions: np.ndarray, config: ThreeBodyConfig) -> np.ndarray:
    """Whether any ball touches a wall or two centres are within ``min_separation``: (..., 3, 2) -> (...,)."""
    wall = ((positions - config.radius <= 0) | (positions + config.radius >= config.size)).any(axis=(-2, -1))
    gaps = np.linalg.norm(positions[..., [0, 1, 2], :] - positions[..., [1, 2, 0], :], axis=-1)
    return wall | (gaps <= config.min_separation).any(axis=-1)


def render(positions: np.ndarray, config: ThreeBodyConfig = ThreeBodyConfig()) -> np.ndarray:
    """Frames of ball centres (..., 3, 2): (..., 3, size, size) uint8, ball j in channel 2 - j."""
    flat = positions.reshape(-1, 3, 2)
    out = np.zeros((len(flat), 3, config.size, config.size), np.uint8)
    scale, big = config.render_scale, config.size * config.render_scale
    canvas = np.zeros((big, big), np.uint8)
    for i, balls in enumerate(flat):
        for j, (x, y) in enumerate(balls):
            canvas[:] = 0
            cv2.circle(canvas, (int(x * scale), int(y * scale)), int(config.radius * scale), 255, -1)
            out[i, 2 - j] = cv2.resize(canvas, (config.size, config.size), interpolation=cv2.INTER_AREA)
    return out.reshape(*positions.shape[:-2], 3, config.size, config.size)


def _candidates(n: int, frames: int, rng: np.random.Generator,
                config: ThreeBodyConfig) -> tuple[np.ndarray, np.ndarray]:
    """``n`` simulated sequences (n, frames, 3, 2) and whether each stayed free of collisions."""
    first = rng.random(n) * 2 * np.pi
    angles = np.stack([first, first + 2 * np.pi / 3 + (rng.random(n) - 0.5) / 2,
                       first + 4 * np.pi / 3 + (rng.random(n) - 0.5) / 2], axis=1)
    distance = (rng.random(n) / 2 + 0.75) * config.size / 4
    position = config.size / 2 + distance[:, None, None] * np.stack([np.cos(angles), np.sin(angles)], -1)
    spin = (rng.integers(0, 2, n) * 2 - 1)[:, None] * np.pi / 2
    drift = rng.random((n, 2)) - 0.5
    velocity = config.speed * np.stack([np.cos(angles + spin), np.sin(angles + spin)], -1) + drift[:, None, :]
    out = np.empty((n, frames, 3, 2))
    ok = ~collides(position, config)
    h = config.dt / config.ode_steps
    for t in range(frames):
        out[:, t] = position
        for _ in range(config.ode_steps if t < frames - 1 else 0):
            velocity = velocity + h * _acceleration(position, config)
            position = position + h * velocity
            ok &= ~collides(position, config)
    return out, ok


def _acceleration(position: np.ndarray, config: ThreeBodyConfig) -> np.ndarray:
    """Gravity on each ball, (n, 3, 2): ``-g m sum_j (x_i - x_j) / |x_i - x_j|^3``."""
    difference = position[:, :, None, :] - position[:, None, :, :]  # (n, i, j, 2)
    distance = np.linalg.norm(difference, axis=-1)
    distance[:, [0, 1, 2], [0, 1, 2]] = np.inf
    return -config.gravity * config.mass * (difference / distance[..., None] ** 3).sum(axis=2)

"""The block-pushing worlds of C-SWM (Kipf et al., ICLR 2020): 2D Shapes and 3D Cubes.

Five objects on a 5x5 grid; action ``a`` pushes object ``a // 4`` one cell in direction ``a % 4``
(up, right, down, left). A push into another object or off the grid does nothing. Observations are
(3, 50, 50) uint8 renders, channels first.
"""
from __future__ import annotations

from typing import Any, Literal

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces

DIRECTIONS = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])  # (row, col): up, right, down, left
# The reference's colours (tkipf/c-swm ``utils.get_colors``: matplotlib's Set1 at 9 colours, as 0..255) for
# Shapes, and its named cube colours.
SHAPE_COLORS = [(228, 26, 28), (55, 126, 184), (77, 175, 74), (152, 78, 163), (255, 127, 0),
                (255, 255, 51), (166, 86, 40), (247, 129, 191), (153, 153, 153)]
CUBE_COLORS = [(128, 0, 128), (0, 128, 0), (255, 165, 0), (0, 0, 255), (165, 42, 42)]


class BlockPushingEnv(gym.Env):
    """2D Shapes (``render_type="shapes"``: circle, triangle, square in turn) or 3D Cubes (``"cubes"``:
    an isometric view drawn with OpenCV, no plotting window). ``info["positions"]`` is the (K, 2) grid state.
    The reward is always 0: the worlds exist to learn models, not tasks."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, render_type: Literal["shapes", "cubes"] = "shapes", num_objects: int = 5,
                 grid_size: int = 5) -> None:
        if render_type not in ("shapes", "cubes"):
            raise ValueError(f"render_type={render_type!r}; allowed: 'shapes', 'cubes'")
        if not 1 <= num_objects <= min(grid_size * grid_size, len(CUBE_COLORS if render_type == "cubes"
                                                                  else SHAPE_COLORS)):
            raise ValueError(f"num_objects={num_objects} does not fit a {grid_size}x{grid_size} {render_type} world")
        self.render_type, self.num_objects, self.grid_size = render_type, num_objects, grid_size
        self.render_mode = "rgb_array"
        self.action_space = spaces.Discrete(4 * num_objects)
        self.observation_space = spaces.Box(0, 255, (3, 10 * grid_size, 10 * grid_size), np.uint8)
        self.positions = np.zeros((num_objects, 2), int)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        cells = self.np_random.choice(self.grid_size ** 2, self.num_objects, replace=False)
        self.positions = np.stack(np.divmod(cells, self.grid_size), axis=1)
        return self._observation(), {"positions": self.positions.copy()}

    def step(self, action: int):
        obj, direction = divmod(int(action), 4)
        target = self.positions[obj] + DIRECTIONS[direction]
        on_grid = bool(((target >= 0) & (target < self.grid_size)).all())
        if on_grid and not (self.positions == target).all(axis=1).any():
            self.positions[obj] = target
        return self._observation(), 0.0, False, False, {"positions": self.positions.copy()}

    def render(self) -> np.ndarray:
        """(H, W, 3) uint8."""
        return self._observation().transpose(1, 2, 0)

    def _observation(self) -> np.ndarray:
        draw = render_shapes if self.render_type == "shapes" else render_cubes
        return np.ascontiguousarray(draw(self.positions, self.grid_size).transpose(2, 0, 1))


def render_shapes(positions: np.ndarray, grid_size: int) -> np.ndarray:
    """(10 G, 10 G, 3) uint8: object i is a circle, triangle or square (i % 3) in its own colour, drawn with the
    pixel rules of the reference's scikit-image 0.15 calls: ``circle(r0 + 5, c0 + 5, 5)`` (centre distance < 5)
    and ``polygon`` (PNPOLY: half-open edges) for a triangle of width 10 and a 10x10 square."""
    size = 10 * grid_size
    rows, cols = np.mgrid[0:size, 0:size]
    image = np.zeros((size, size, 3), np.uint8)
    for i, (row, col) in enumerate(positions):
        r0, c0 = 10 * int(row), 10 * int(col)
        if i % 3 == 0:
            mask = (rows - r0 - 5) ** 2 + (cols - c0 - 5) ** 2 < 25
        elif i % 3 == 1:
            mask = inside_polygon(rows, cols, [r0, r0 + 10, r0 + 10], [c0 + 5, c0, c0 + 10])
        else:
            mask = inside_polygon(rows, cols, [r0, r0 + 10, r0 + 10, r0], [c0, c0, c0 + 10, c0 + 10])
        image[mask] = SHAPE_COLORS[i]
    return image


def inside_polygon(rows: np.ndarray, cols: np.ndarray, vertex_rows: list[int], vertex_cols: list[int]) -> np.ndarray:
    """Pixels (integer ``rows``, ``cols`` grids) inside the polygon by the crossing rule scikit-image's
    ``draw.polygon`` uses (a row counts on ``[min, max)`` of each edge; a pixel left of an odd number of edges)."""
    inside = np.zeros(rows.shape, bool)
    for i in range(len(vertex_rows)):
        (ri, ci), (rj, cj) = (vertex_rows[i], vertex_cols[i]), (vertex_rows[i - 1], vertex_cols[i - 1])
        if ri == rj:
            continue
        spans = ((ri <= rows) & (rows < rj)) | ((rj <= rows) & (rows < ri))
        inside ^= spans & (cols < (cj - ci) * (rows - ri) / (rj - ri) + ci)
    return inside


def render_cubes(positions: np.ndarray, grid_size: int, size: int = 50, supersample: int = 4) -> np.ndarray:
    """(size, size, 3) uint8: unit cubes on a grey floor seen from above at an angle (isometric view),
    drawn back to front at ``supersample`` x the size and shrunk with area averaging."""
    scale = size * supersample
    unit = scale / (grid_size * 1.9)

    def project(x: float, y: float, z: float) -> tuple[int, int]:  # x: column, y: row, z: up
        return (int(scale / 2 + (x - y) * unit * 0.866), int(scale * 0.22 + (x + y) * unit * 0.5 - z * unit))

    image = np.full((scale, scale, 3), 255, np.uint8)
    floor = [project(0, 0, 0), project(grid_size, 0, 0), project(grid_size, grid_size, 0), project(0, grid_size, 0)]
    cv2.fillPoly(image, [np.array(floor)], (128, 128, 128))
    for i in sorted(range(len(positions)), key=lambda k: positions[k].sum()):
        row, col = (int(v) for v in positions[i])
        color = np.array(CUBE_COLORS[i], float)
        faces = (  # top, front-left (row side), front-right (column side), each with its shade
            ([(col, row, 1), (col + 1, row, 1), (col + 1, row + 1, 1), (col, row + 1, 1)], 1.0),
            ([(col, row + 1, 0), (col + 1, row + 1, 0), (col + 1, row + 1, 1), (col, row + 1, 1)], 0.75),
            ([(col + 1, row, 0), (col + 1, row + 1, 0), (col + 1, row + 1, 1), (col + 1, row, 1)], 0.55),
        )
        for corners, shade in faces:
            polygon = np.array([project(*c) for c in corners])
            cv2.fillPoly(image, [polygon], tuple(int(v) for v in color * shade))
            cv2.polylines(image, [polygon], True, (0, 0, 0), max(1, supersample // 2))
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


gym.register("workbench/Shapes-v0", entry_point=BlockPushingEnv, max_episode_steps=100,
             kwargs={"render_type": "shapes"})
gym.register("workbench/Cubes-v0", entry_point=BlockPushingEnv, max_episode_steps=100,
             kwargs={"render_type": "cubes"})

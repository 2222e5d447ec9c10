"""Training sequences drawn on the model's device from a device-resident copy of the experience store.

A world model's training step would otherwise gather ``batch x (K+T)`` frames on the host and copy them over
every step. Here the store's frames, links, actions and rewards are copied to the device once (per
:class:`DeviceSequences`, i.e. once per training phase; 100k frames of 105x80x3 are 2.5 GB), and each batch is
a few index gathers on the device. On the CPU the "copy" is the store's own memory, shared.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from envs import ExperienceStore

_BATCH_COLUMNS = ("action", "reward")


def fits_on_device(nbytes: int, device: torch.device, share: float = 0.5) -> bool:
    """Whether ``nbytes`` take at most ``share`` of the device's free memory (always true for the CPU, whose
    copy is the store itself)."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= share * free


class DeviceSequences:
    """Runs of consecutive frames of one episode, as ``ExperienceStore.sequences`` draws them (frames, actions
    and rewards only), sampled on ``device`` from a copy of ``store``'s first ``store.size`` rows made when this
    object is built.

    ``where``: optional bool mask over rows ``[:size]``; only runs ending at those rows are drawn.
    """

    def __init__(self, store: ExperienceStore, k_context: int, t_target: int, device: str | torch.device,
                 where: np.ndarray | None = None) -> None:
        self.device, self.length = torch.device(device), k_context + t_target
        size = store.size
        self.last_rows = self._to_device(store.run_ends(self.length, where))
        self.frames = self._to_device(store.frames[:size])
        self.prev = self._to_device(store.prev[:size].astype(np.int64))
        self.columns = {name: self._to_device(getattr(store, name)[:size]) for name in _BATCH_COLUMNS}

    def sample(self, batch: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """``frames`` (B, K+T, H, W, C) and ``action``, ``reward`` (B, K+T-1), all on the device."""
        pick = torch.randint(len(self.last_rows), (batch,), device=self.device, generator=generator)
        rows = [self.last_rows[pick]]
        for _ in range(self.length - 1):  # follow the links back from the last frame of each run
            rows.append(self.prev[rows[-1]])
        rows = torch.stack(rows[::-1], dim=1)
        arrived = rows[:, 1:]
        return {"frames": self.frames[rows], **{name: column[arrived] for name, column in self.columns.items()}}

    @staticmethod
    def nbytes(store: ExperienceStore) -> int:
        """Device memory the copy of ``store`` takes."""
        return store.frames[: store.size].nbytes + store.size * (8 + 4 + 4)  # + int64 links, action, reward

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        return tensor if self.device.type == "cpu" else tensor.to(self.device)


def sequence_batch(store: ExperienceStore, k: int, t: int, batch: int, rng: np.random.Generator,
                   where: np.ndarray | None = None) -> dict[str, torch.Tensor]:
    """A ``store.sequences`` batch as tensors on the host (frames stay uint8)."""
    return {key: torch.from_numpy(value) for key, value in store.sequences(k, t, batch, rng, where).items()}


def sequence_source(store: ExperienceStore, k_context: int, t_target: int, batch: int, device: torch.device,
                    rng: np.random.Generator, where: np.ndarray | None = None) -> Callable[[], dict[str, torch.Tensor]]:
    """A function giving one training batch on ``device`` per call: drawn on the device from a copy of the
    store when it fits there (:func:`fits_on_device`), else gathered on the host and copied over per batch.
    Both draw from ``rng``, so a seed fixes the batches on a given machine and device."""
    if fits_on_device(DeviceSequences.nbytes(store), device):
        sequences = DeviceSequences(store, k_context, t_target, device, where)
        generator = torch.Generator(device=device)
        generator.manual_seed(int(rng.integers(2**62)))
        return lambda: sequences.sample(batch, generator)

    def from_host() -> dict[str, torch.Tensor]:
        batch_on_host = sequence_batch(store, k_context, t_target, batch, rng, where)
        return {key: batch_on_host[key].to(device) for key in ("frames", *_BATCH_COLUMNS)}

    return from_host

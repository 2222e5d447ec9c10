"""The no-op draw of ale-py's native vector env, reproduced so single and vector envs start alike.

ale-py seeds a C++ ``std::mt19937`` with the reset seed and draws from
``std::uniform_int_distribution`` (libstdc++ uses Lemire's multiply-shift for a 32-bit engine).
"""
from __future__ import annotations

import numpy as np

_MASK32 = 0xFFFFFFFF


class NoopSampler:
    """Uniform integers in [0, n) drawn exactly as ale-py's native env draws its no-op counts."""

    def __init__(self, seed: int) -> None:
        key = [seed & _MASK32]
        for i in range(1, 624):  # std::mt19937's seed(unsigned) routine, which numpy's seeding differs from
            key.append((1812433253 * (key[-1] ^ (key[-1] >> 30)) + i) & _MASK32)
        self._engine = np.random.MT19937()
        self._engine.state = {"bit_generator": "MT19937", "state": {"key": np.array(key, np.uint32), "pos": 624}}

    def draw(self, n: int) -> int:
        product = int(self._engine.random_raw()) * n
        if product & _MASK32 < n:
            threshold = ((1 << 32) - n) % n
            while product & _MASK32 < threshold:
                product = int(self._engine.random_raw()) * n
        return product >> 32

"""Agent steps per second of Atari 100k env pipelines, all measured in this one run.

    python benchmarks/env_throughput.py [--game Breakout] [--envs 8] [--steps 20000]

Prints one table with ratios to bare ale-py ``AtariVectorEnv`` (b). Targets: ours >= 0.9x (b), >= 3x (c).
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np


def ours(game: str, n: int):
    from envs import AtariConfig, make_vector_env

    return make_vector_env(game, n, AtariConfig(game))


def bare_ale(game: str, n: int):
    from ale_py.vector_env import AtariVectorEnv

    from envs import find_game

    return AtariVectorEnv(find_game(game).rom, n, noop_max=31, use_fire_reset=False, life_loss_info=True,
                          reward_clipping=False, autoreset_mode="SameStep")


def _noframeskip_env(game: str, **kwargs) -> gym.Env:
    import ale_py  # registers the ALE ids, also inside SubprocVecEnv workers

    gym.register_envs(ale_py)
    return gym.make(f"{game}NoFrameskip-v4", **kwargs)


def sb3(game: str, n: int, vec_cls_name: str):
    from functools import partial

    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecFrameStack

    vec_cls = {"dummy": DummyVecEnv, "subproc": SubprocVecEnv}[vec_cls_name]
    return VecFrameStack(make_atari_env(partial(_noframeskip_env, game), n, seed=0, vec_env_cls=vec_cls), 4)


def gymnasium_wrappers(game: str, n: int):
    import ale_py
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    gym.register_envs(ale_py)

    def make():
        env = gym.make(f"ALE/{game}-v5", frameskip=1, repeat_action_probability=0.0)
        return FrameStackObservation(AtariPreprocessing(env, terminal_on_life_loss=True), 4)

    return gym.vector.SyncVectorEnv([make] * n)


def measure(make: Callable[[], object], steps: int, n: int, sb3_api: bool = False) -> float:
    env = make()
    actions = np.random.default_rng(0).integers(0, 4, size=(steps // n + 100, n))
    env.reset() if sb3_api else env.reset(seed=0)  # SB3 VecEnvs seed at construction
    for a in actions[:100]:  # warm-up
        env.step(a)
    start = time.perf_counter()
    for a in actions[100:]:
        env.step(a)
    elapsed = time.perf_counter() - start
    env.close()
    return (len(actions) - 100) * n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", default="Breakout")
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20_000)
    args = parser.parse_args()
    g, n, s = args.game, args.envs, args.steps
    rows = [
        ("(a) ours: envs.make_vector_env (native)", lambda: ours(g, n), False),
        ("(b) bare ale-py AtariVectorEnv", lambda: bare_ale(g, n), False),
        ("(c) SB3 make_atari_env + DummyVecEnv", lambda: sb3(g, n, "dummy"), True),
        ("(c) SB3 make_atari_env + SubprocVecEnv", lambda: sb3(g, n, "subproc"), True),
        ("(d) gymnasium AtariPreprocessing, Sync", lambda: gymnasium_wrappers(g, n), False),
    ]
    results = {}
    for name, make, sb3_api in rows:
        results[name] = measure(make, s, n, sb3_api)
        print(f"  measured {name}: {results[name]:,.0f} steps/s", flush=True)
    base = results["(b) bare ale-py AtariVectorEnv"]
    print(f"\n{g}, {n} envs, {s:,} agent steps each (frame skip 4), random actions\n")
    print(f"| {'pipeline':<42} | {'agent steps/s':>13} | {'vs (b)':>7} |")
    print(f"|{'-' * 44}|{'-' * 15}|{'-' * 9}|")
    for name, sps in results.items():
        print(f"| {name:<42} | {sps:>13,.0f} | {sps / base:>6.2f}x |")
    ours_sps = results["(a) ours: envs.make_vector_env (native)"]
    best_c = max(v for k, v in results.items() if k.startswith("(c)"))
    print(f"\nours / bare = {ours_sps / base:.2f} (target >= 0.9); "
          f"ours / best SB3 = {ours_sps / best_c:.1f} (target >= 3)")
    print("Emulation dominates: bare ale-py's ceiling over (c) is about the number of cores it can use.")


if __name__ == "__main__":
    main()

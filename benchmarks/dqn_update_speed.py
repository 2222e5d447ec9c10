"""Milliseconds per agent step of DrQ(epsilon) learners, all measured in this one run (after the warm-up, so
every step includes its gradient update).

    python benchmarks/dqn_update_speed.py [--game Krull] [--steps 200] [--rllib-steps 50] [--threads 1]

Rows: (a) our PyTorch learner as Dopamine configures it (``drq-eps-atari100k``: "SAME" Nature CNN, float32),
(b) the 2-core reproduction variant (``drq-eps-cpu``: "VALID", bfloat16 autocast), (c) RLlib's DQN with the same
settings (``rllib-drq-eps``), (d) (c) without the augmentation connector, to show where RLlib's time goes.
Ratios are against (a). The issue's rule: RLlib is used if it is at most 1.5x slower than (a).
Then where (a)'s own time goes: acting + env step, replay sampling, augmentation, the gradient update.
"""
from __future__ import annotations

import argparse
import time
from typing import Any

import torch

WARMUP = 100  # learning_starts in every row, so timing starts once updates do


def spec(presets: list[str], overrides: list[str]) -> Any:
    from runs.configs import build
    from runs.train.composed import ComposedTrainConfig

    return build(ComposedTrainConfig, presets, overrides)


def learner(config: Any) -> Any:
    from agents.learners import RealWorld, build_learner

    return build_learner(config, RealWorld(config.env, 1), seed=0, device="cpu")


def ms_per_step(config: Any, steps: int) -> float:
    agent = learner(config)
    try:
        agent.learn(WARMUP + 10)
        started = time.perf_counter()
        agent.learn(steps)
        return 1000 * (time.perf_counter() - started) / steps
    finally:
        agent.close()


def breakdown(config: Any, steps: int) -> dict[str, float]:
    """Where one step of our learner goes (ms): its own pieces timed one by one."""
    from agents.learners.dqn.augment import drq_augment

    agent = learner(config)
    agent.learn(WARMUP + 10)
    dqn, timings = agent.config, {}

    def timed(name: str, work: Any) -> None:
        started = time.perf_counter()
        for _ in range(steps):
            work()
        timings[name] = 1000 * (time.perf_counter() - started) / steps

    timed("act + env step + store", agent._act_and_store)
    timed("replay sample (32 x 10-step)", lambda: agent.replay.sample(dqn.batch_size, dqn.gamma, dqn.n_step, agent.rng))
    x = torch.rand(dqn.batch_size, *agent.env.single_observation_space.shape)
    timed("augment obs + next_obs", lambda: (drq_augment(x, agent.generator), drq_augment(x, agent.generator)))
    timed("whole update (incl. the two above)", agent._update)
    agent.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="Krull")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rllib-steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    common = [f"env.game={args.game}", f"dqn.learning_starts={WARMUP}", f"dqn.threads={args.threads}"]
    rllib = [f"env.game={args.game}", f"rllib.learning_starts={WARMUP}",
             f"rllib.epsilon=[[0,1.0],[{WARMUP},1.0],[{WARMUP + 5000},0.01]]"]
    rows = [("(a) ours, Dopamine's network (drq-eps-atari100k)", spec(["drq-eps-atari100k"], common), args.steps),
            ("(b) ours, 2-core variant (drq-eps-cpu)", spec(["drq-eps-cpu"], common), args.steps),
            ("(c) RLlib DQN (rllib-drq-eps)", spec(["rllib-drq-eps"], rllib), args.rllib_steps),
            ("(d) RLlib DQN, no augmentation", spec(["rllib-drq-eps"], rllib + ["rllib.drq_augment=false"]),
             args.rllib_steps)]
    results = [(name, ms_per_step(config, steps)) for name, config, steps in rows]
    base = results[0][1]
    print(f"\n{'learner':52s} {'ms/step':>9s} {'vs (a)':>8s} {'100k steps':>11s}")
    for name, ms in results:
        print(f"{name:52s} {ms:9.1f} {ms / base:7.2f}x {ms * 100_000 / 3.6e6:9.2f} h")
    print(f"\nwhere (a)'s time goes ({args.threads} thread(s)):")
    for name, ms in breakdown(rows[0][1], max(20, args.steps // 4)).items():
        print(f"  {name:40s} {ms:8.1f} ms")
    print(f"\nrule: RLlib / ours = {results[2][1] / base:.2f}x "
          f"({'>' if results[2][1] / base > 1.5 else '<='} 1.5x: "
          f"{'our PyTorch learner' if results[2][1] / base > 1.5 else 'the RLlib preset'} runs the reproduction)")


if __name__ == "__main__":
    main()

"""SimPLe world-model speed per size, precision and layout, against a same-precision matmul in the same run, and the
paper schedule's wall time per game projected from the figures measured here.

    python benchmarks/world_model_speed.py [--sizes paper quick tiny] [--precisions float32 bfloat16]
        [--layouts channels_last contiguous] [--compile] [--batch 16] [--train-batch 16] [--device cpu]
        [--seconds 10] [--matmul-size 2048] [--game Pong] [--glibc-malloc] [--json OUT]

Imagination: ``model.step`` on a batch (the imagined envs); training: ``train_world_model``'s updates on batches
of ``target_frames``-frame sequences from a random store. FLOPs are counted by ``torch.utils.flop_counter``
(convolutions, transposed convolutions, matmuls); for training, the frame head's second forward pass of the fused
pixel loss is not counted (it is recomputation, not the model's work), nor is the ones column that carries the
head's bias through its matmuls. "vs matmul" divides the achieved FLOP/s by a large matmul's FLOP/s in the same
dtype (``--matmul-size`` squared, 2048 by default), the mean of two measurements, just before and just after the
row (float32 weights under bfloat16/float16 autocast run their matmuls in that dtype).

Targets on CPU (float32): paper size at batch 16, imagination >= 0.6 of the matmul rate and training >= 0.5;
quick size, imagination at batch 128 >= 0.5.

The projection: the paper's schedule (``LoopConfig`` and ``SimPLeModelConfig`` defaults: 255,000 updates of 4 x 6
predicted frames, 15.2M imagined steps, 102,400 real steps) at the measured rates: world-model training =
predicted frames / trained frames per second (at ``--train-batch``), imagination = imagined steps / imagined
frames per second (at ``--batch``), policy = PPO in imagination (stable-baselines3, acting and 3 epochs of updates,
measured on still frames) per imagined step, real play = env step + acting per real step.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector.utils import batch_space
from torch.utils.flop_counter import FlopCounterMode

from agents.learners.sb3_ppo import PPOConfig, PPOLearner
from agents.spec import LoopConfig
from envs import AtariConfig, ExperienceStore, make_vector_env
from envs.config import OBS_FORMATS
from envs.host_memory import keep_freed_memory
from envs.precision import PRECISIONS, dtype
from runs.configs import load_preset
from world_models import SimPLeModelConfig, SimPLeWorldModel, train_world_model

from common import SIMPLE_PRESETS, simple_model_config

NUM_ACTIONS = 6


def paper_schedule() -> dict[str, int]:
    """The paper's per-game work, from the loop's and the model's defaults."""
    loop, model = LoopConfig(), SimPLeModelConfig()
    updates = loop.model_steps_first + (loop.iterations - 1) * loop.model_steps
    imagined = sum(loop.ppo_updates(i) for i in range(loop.iterations)) * loop.sim_envs * loop.rollout_length
    return {"model_updates": updates, "predicted_frames": updates * model.batch_size * model.target_frames,
            "imagined_steps": imagined, "real_steps": loop.total_real_steps}


def rate(fn: Callable[[], object], device: torch.device, seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (at least one call, after one warm-up call)."""
    def call() -> None:
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    call()
    calls, start = 0, time.perf_counter()
    while calls == 0 or time.perf_counter() - start < seconds:
        call()
        calls += 1
    return calls / (time.perf_counter() - start)


def matmul_flops_per_second(device: torch.device, precision: str, seconds: float, n: int = 2048) -> float:
    a, b = (torch.randn(n, n, device=device, dtype=dtype(precision)) for _ in range(2))
    return 2 * n**3 * rate(lambda: a @ b, device, seconds)


def model_config(size: str, precision: str, layout: str, compiled: bool, train_batch: int) -> SimPLeModelConfig:
    return dataclasses.replace(simple_model_config(size), precision=precision, channels_last=layout == "channels_last",
                               compile=compiled, batch_size=train_batch)


def counted_flops(fn: Callable[[], object]) -> float:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def bias_column_flops(c: SimPLeModelConfig) -> float:
    """FLOPs per frame of one frame-head matmul's ones column (the bias riding in the matmul): bookkeeping, not
    the model's work, so it is not counted."""
    return 2 * c.frame_height * c.frame_width * c.channels * 256


def imagination(model: SimPLeWorldModel, batch: int) -> Callable[[], object]:
    """One imagined step of ``batch`` envs from random frames."""
    c = model.config
    context = torch.randint(0, 256, (batch, c.context_frames, *model.frame_shape), dtype=torch.uint8,
                            device=model.device)
    actions = torch.randint(0, NUM_ACTIONS, (batch,), device=model.device)
    state = model.initial_state(context)
    return lambda: model.step(state, actions)


def random_store(frame_shape: tuple[int, int, int], rows: int, seed: int = 0) -> ExperienceStore:
    """An experience store of ``rows`` random frames in one episode, for timing the real training loop."""
    rng = np.random.default_rng(seed)
    store = ExperienceStore((4, *frame_shape), 4, rows + 1)
    store.begin(rng.integers(0, 256, (1, 4, *frame_shape), dtype=np.uint8))
    for _ in range(rows):
        store.add([rng.integers(NUM_ACTIONS)], rng.integers(0, 256, (1, 4, *frame_shape), dtype=np.uint8),
                  [0.0], [False], [False])
    return store


def training(model: SimPLeWorldModel) -> Callable[[int], object]:
    """``train_world_model`` itself (batches drawn on the device, warm-up, clipping) for a number of updates, on a
    random store."""
    c = model.config
    store = random_store(model.frame_shape, 2 * (c.context_frames + c.target_frames))
    optimizer = torch.optim.Adam(model.parameters(), lr=c.learning_rate)
    rng = np.random.default_rng(0)
    return lambda steps: train_world_model(model, optimizer, store, steps, rng)


def updates_per_second(train: Callable[[int], object], device: torch.device, seconds: float) -> float:
    """``train``'s updates per second, timed as one call of about ``seconds`` after two one-update calls (the
    first compiles, when the model is compiled; the second sizes the timed call)."""
    train(1)
    start = time.perf_counter()
    train(1)
    steps = max(1, int(seconds / (time.perf_counter() - start)))
    return steps * rate(lambda: train(steps), device, 0.0)


def measure(size: str, precision: str, layout: str, compiled: bool, args: argparse.Namespace) -> dict:
    config = model_config(size, precision, layout, compiled, args.train_batch)
    torch.manual_seed(0)
    model = SimPLeWorldModel(config, NUM_ACTIONS, device=args.device)
    c, step, train = model.config, imagination(model, args.batch), training(model)
    frames = c.batch_size * c.target_frames
    imagined = rate(step, model.device, args.seconds) * args.batch
    updates = updates_per_second(train, model.device, args.seconds)
    # FLOPs are counted after the timing: a compiled model called under FlopCounterMode recompiles, and ran a
    # third slower afterwards.
    recomputed = 2 * c.frame_height * c.frame_width * (c.hidden + 1) * c.channels * 256  # fused loss's backward
    return {"size": size, "precision": precision, "layout": layout, "compiled": compiled,
            "params": sum(p.numel() for p in model.parameters()), "batch": args.batch,
            "imagined_frames_per_s": imagined,
            "imagine_flops_per_frame": counted_flops(step) / args.batch - bias_column_flops(c),
            "train_updates_per_s": updates, "trained_frames_per_s": updates * frames,
            "train_flops_per_frame": counted_flops(lambda: train(1)) / frames - recomputed
            - 2 * bias_column_flops(c),  # the head's forward and weight-gradient matmuls
            "train_batch": c.batch_size, "target_frames": c.target_frames}


class StillFrames(gym.vector.VectorEnv):
    """``num_envs`` envs that show zeros and end every ``length`` steps: what PPO costs with a free world."""

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int, obs_shape: tuple[int, ...], num_actions: int, length: int) -> None:
        self.num_envs, self.length, self._t = num_envs, length, 0
        self.single_observation_space = gym.spaces.Box(0, 255, obs_shape, np.uint8)
        self.single_action_space = gym.spaces.Discrete(num_actions)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._obs = np.zeros((num_envs, *obs_shape), np.uint8)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._t = 0
        return self._obs.copy(), {}

    def step(self, actions: np.ndarray):
        self._t += 1
        ended = np.full(self.num_envs, self._t % self.length == 0)
        info = {"final_obs": self._obs.copy(), "_final_obs": ended} if ended.all() else {}
        return self._obs.copy(), np.zeros(self.num_envs, np.float32), np.zeros_like(ended), ended, info


def real_play_seconds(game: str, learner: PPOLearner, frame_shape: tuple[int, int, int], seconds: float) -> float:
    """Seconds per real agent step: one env of ``game`` in the format of ``frame_shape``, the policy acting."""
    obs_format = next(name for name, (h, w, rgb) in OBS_FORMATS.items() if (h, w) == frame_shape[:2] and rgb)
    env = make_vector_env(game, 1, AtariConfig(game, obs=obs_format))
    obs, _ = env.reset(seed=0)
    start, steps = time.perf_counter(), 0
    while steps < 10 or time.perf_counter() - start < seconds:
        obs, *_ = env.step(learner.act(obs))
        steps += 1
    env.close()
    return (time.perf_counter() - start) / steps


def policy_seconds(frame_shape: tuple[int, int, int], device: str, game: str, seconds: float) -> dict[str, float]:
    """Seconds of the policy per imagined step (PPO acting + learning, 16 envs of 50 steps) and of real play per
    real step (one env, acting each step)."""
    ppo = PPOConfig(**load_preset("simple-paper")["ppo"])
    loop = LoopConfig()
    env = StillFrames(loop.sim_envs, (4, *frame_shape), NUM_ACTIONS, loop.rollout_length)
    learner = PPOLearner(ppo, env, seed=0, device=device)
    rollout = learner.rollout_steps
    learner.learn(rollout)  # warm-up
    start, steps = time.perf_counter(), 0
    while steps == 0 or time.perf_counter() - start < seconds:
        learner.learn(rollout)
        steps += rollout
    return {"policy_s_per_imagined_step": (time.perf_counter() - start) / steps,
            "real_s_per_step": real_play_seconds(game, learner, frame_shape, seconds)}


def with_ratios(row: dict, before: float, after: float) -> dict:
    """``row`` with the same dtype's matmul FLOP/s measured just ``before`` and ``after`` it, their mean as the
    peak, and its imagination and training FLOP/s as fractions of that peak."""
    peak = (before + after) / 2
    return {**row, "matmul_flops_per_s": peak, "matmul_flops_per_s_before_after": [before, after],
            "imagine_vs_matmul": row["imagined_frames_per_s"] * row["imagine_flops_per_frame"] / peak,
            "train_vs_matmul": row["trained_frames_per_s"] * row["train_flops_per_frame"] / peak}


def label(row: dict) -> str:
    """A row's layout, and whether it was compiled."""
    return row["layout"] + (" compiled" if row["compiled"] else "")


def projection(row: dict, policy: dict[str, float], schedule: dict[str, int]) -> dict[str, float]:
    """Hours of each phase of the paper schedule at this row's rates."""
    seconds = {"model_training": schedule["predicted_frames"] / row["trained_frames_per_s"],
               "imagination": schedule["imagined_steps"] / row["imagined_frames_per_s"],
               "policy": schedule["imagined_steps"] * policy["policy_s_per_imagined_step"],
               "real_play": schedule["real_steps"] * policy["real_s_per_step"]}
    hours = {phase: s / 3600 for phase, s in seconds.items()}
    return {**hours, "total": sum(hours.values())}


def print_tables(rows: list[dict], args: argparse.Namespace) -> None:
    print(f"\nSimPLe world model on {args.device} ({torch.get_num_threads()} threads), imagination batch "
          f"{args.batch}, training batch {args.train_batch}")
    print(f"matmul: {args.matmul_size}^2, the mean of its rates just before and just after each row")
    print("\n| size | precision | layout | params | matmul GFLOP/s | imagined frames/s | GFLOP/frame | vs matmul "
          "| updates/s | trained frames/s | GFLOP/frame | vs matmul |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']} | {r['precision']} | {label(r)} | {r['params'] / 1e6:.1f}M "
              f"| {r['matmul_flops_per_s'] / 1e9:,.0f} "
              f"| {r['imagined_frames_per_s']:,.1f} | {r['imagine_flops_per_frame'] / 1e9:.3f} "
              f"| {r['imagine_vs_matmul']:.2f} | {r['train_updates_per_s']:,.3f} | {r['trained_frames_per_s']:,.1f} "
              f"| {r['train_flops_per_frame'] / 1e9:.3f} | {r['train_vs_matmul']:.2f} |")
    for size in dict.fromkeys(r["size"] for r in rows):
        policy = next(r["policy"] for r in rows if r["size"] == size)
        print(f"\n{size} frames: policy (PPO in imagination) {policy['policy_s_per_imagined_step'] * 1e3:.3f} ms per "
              f"imagined step; real play {policy['real_s_per_step'] * 1e3:.2f} ms per real step")
    print("\nPaper schedule per game, projected (hours)\n")
    print("| size | precision | layout | model training | imagination | policy | real play | total |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        p = r["projection_hours"]
        print(f"| {r['size']} | {r['precision']} | {label(r)} | {p['model_training']:,.1f} | {p['imagination']:,.1f} "
              f"| {p['policy']:,.1f} | {p['real_play']:,.2f} | {p['total']:,.1f} |")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=list(SIMPLE_PRESETS), choices=list(SIMPLE_PRESETS))
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"], choices=list(PRECISIONS))
    parser.add_argument("--layouts", nargs="+", default=["channels_last", "contiguous"],
                        choices=["channels_last", "contiguous"])
    parser.add_argument("--compile", action="store_true", help="also measure each row with torch.compile")
    parser.add_argument("--batch", type=int, default=16, help="imagined envs stepped together")
    parser.add_argument("--train-batch", type=int, default=16, help="sequences per training update")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement (at least one call)")
    parser.add_argument("--matmul-size", type=int, default=2048,
                        help="the reference matmul's side (smaller for a quick dry run: a CPU without bfloat16 "
                             "instructions takes about a minute per 2048^2 bfloat16 product)")
    parser.add_argument("--game", default="Pong", help="the real game the projection's real play steps")
    parser.add_argument("--glibc-malloc", action="store_true",
                        help="leave glibc's malloc as it is (by default freed memory is kept, as agents do)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    if device.type == "cpu" and not args.glibc_malloc:
        keep_freed_memory()
    schedule, rows = paper_schedule(), []
    for size, precision, layout, compiled in itertools.product(args.sizes, args.precisions, args.layouts,
                                                               [False, True] if args.compile else [False]):
        # the matmul just before and after every row: on a CPU its rate moves by 15% within a minute (363-420
        # GFLOP/s in six 3 s runs on one machine, 119-150 between rows on another), a paper-size row takes minutes,
        # and a ratio should divide by the rate of the moments it was measured in
        peak = functools.partial(matmul_flops_per_second, device, precision, args.seconds, args.matmul_size)
        before = peak()
        row = measure(size, precision, layout, compiled, args)
        rows.append(with_ratios(row, before, peak()))
        print(f"  measured {size} {precision} {label(rows[-1])}", flush=True)

    @functools.cache  # by frame shape: the policy reads the model's frames
    def policy(shape: tuple[int, int, int]) -> dict[str, float]:
        return policy_seconds(shape, args.device, args.game, args.seconds)

    for r in rows:
        c = model_config(r["size"], "float32", "contiguous", False, 1)
        r["policy"] = policy((c.frame_height, c.frame_width, c.channels))
        r["projection_hours"] = projection(r, r["policy"], schedule)
    print_tables(rows, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
            "kept_freed_memory": device.type == "cpu" and not args.glibc_malloc, "matmul_size": args.matmul_size,
            "schedule": schedule, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()

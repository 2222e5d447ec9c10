"""Agents composed by config: the learner x world model x intrinsic x runtime matrix at tiny sizes, the
combinations refused when the config is built, and components registered from outside the packages."""
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from envs import AtariConfig
from envs.files import atomic_write, read_checkpoint
from intrinsic.registry import register_intrinsic
from runs.cli import main
from runs.metrics import read_metrics
from world_models.protocols import StepOut
from world_models.registry import register_world_model

TINY = ["train", "--agent", "composed", "--preset", "composed-tiny", "--no-progress"]
BOTH = "intrinsic=[{name: arrow_of_time, weight: 0.5, config: {steps: 3}}, {name: cswm_curiosity, " \
       "config: {steps: 2, cswm: {hidden_dim: 16, batch_size: 16, extractor_channels: 4}}}]"
# A model-free learner trains on exactly real_steps_per_iteration real steps (32): whole rollouts of each.
MODEL_FREE = {"sb3-ppo": [], "rllib-ppo": ["rllib.envs_per_env_runner=1"],
              "rllib-appo": ["rllib.envs_per_env_runner=1", "rllib.rollout_fragment_length=16"],
              "rllib-dqn": ["rllib.envs_per_env_runner=1"]}


def combination(learner: str, world_model: str, intrinsic: bool) -> list[str]:
    args = [f"learner={learner}", f"world_model={world_model}"] + ([BOTH] if intrinsic else [])
    if world_model == "none":
        args += MODEL_FREE[learner] + ([] if intrinsic else ["loop.random_steps=0"])
    return args


def expected_real_steps(world_model: str, intrinsic: bool) -> int:
    first = 64 if world_model != "none" or intrinsic else 0
    return first + 32  # one iteration of 32 real steps


def train(tmp_path, *args: str, name: str = "run") -> dict:
    assert main([*TINY, "--out", str(tmp_path / name), *args]) == 0
    return json.loads((tmp_path / name / "results.json").read_text())


def assert_extrinsic_scores(results: dict) -> None:
    # Pong's raw scores are whole numbers: any intrinsic reward leaking into evaluation would show.
    assert all(float(s).is_integer() for s in results["final_eval"]["scores"])


VALID = [(learner, world_model, intrinsic)
         for learner in ["sb3-ppo", "rllib-ppo", "rllib-appo", "rllib-dqn"]
         for world_model in ["none", "simple", "simple_deterministic"]
         for intrinsic in [False, True]
         if world_model == "none" or learner in ("sb3-ppo", "rllib-ppo")]


@pytest.mark.parametrize("learner, world_model, intrinsic", VALID)
def test_every_valid_combination_runs_one_iteration_locally(tmp_path, ray_local, learner, world_model, intrinsic):
    results = train(tmp_path, *combination(learner, world_model, intrinsic))
    assert results["agent_steps"] == expected_real_steps(world_model, intrinsic)
    assert results["simulated_steps"] == (32 if world_model != "none" else 0)
    assert (results["learner"], results["world_model"]) == (learner, world_model)
    assert_extrinsic_scores(results)
    logged = {k for m in read_metrics(tmp_path / "run") for k in m}
    if intrinsic:
        assert {"intrinsic/arrow_of_time/loss", "intrinsic/cswm_curiosity/loss"} <= logged
    if world_model != "none":
        assert {"world_model/loss", "simulated/steps"} <= logged
    assert main(["evaluate", str(tmp_path / "run"), "--episodes", "1", "--envs", "1", "--max-frames", "400",
                 "--no-progress"]) == 0


@pytest.mark.parametrize("learner, world_model", [
    ("sb3-ppo", "simple"), ("rllib-appo", "none"), ("rllib-dqn", "none"), ("sb3-ppo", "none"),
    # 60 s; RLlib in imagination (its env runners are Ray actors in every runtime) also runs in the local matrix
    pytest.param("rllib-ppo", "simple_deterministic", marks=pytest.mark.slow)])
def test_each_learner_and_world_model_runs_on_ray_actors(tmp_path, ray_local, learner, world_model):
    # sb3-ppo with both rewards on Ray is the composition test below; here the RLlib paths that carry them.
    intrinsic = learner in ("rllib-dqn", "rllib-ppo")
    # rllib-ppo in imagination samples on a remote env runner: the world model's weights and both fitted rewards
    # (the C-SWM's included) reach it every iteration.
    runners = ["rllib.num_env_runners=1", "rllib.cpus_per_env_runner=0.25"] if learner == "rllib-ppo" else []
    results = train(tmp_path, "runtime.kind=ray", *runners, *combination(learner, world_model, intrinsic))
    assert results["runtime"] == "ray"
    assert results["agent_steps"] == expected_real_steps(world_model, intrinsic)
    assert_extrinsic_scores(results)
    if runners:
        logged = {k: v for m in read_metrics(tmp_path / "run") for k, v in m.items()}
        assert logged["simulated/envs_updated"] == 1 and "intrinsic/cswm_curiosity/loss" in logged


def test_simple_with_arrow_of_time_cswm_curiosity_and_a_cswm_encoder_on_ray(tmp_path, ray_local):
    """The combination no anchor offers: SimPLe imagination + arrow-of-time safety penalty + C-SWM curiosity,
    the policy reading a C-SWM encoder refitted (frozen) each iteration, every learner an actor."""
    results = train(tmp_path, "--preset", "composed-simple-arrow-cswm-ray-tiny")
    assert (results["runtime"], results["features"]) == ("ray", "cswm")
    assert results["intrinsic"] == ["arrow_of_time", "cswm_curiosity"]
    assert results["agent_steps"] == 96 and results["simulated_steps"] == 32
    folder = tmp_path / "run" / results["checkpoint"]
    assert {p.name for p in folder.iterdir()} == {"world_model.pt", "store.npz", "arrow_of_time.pt",
                                                  "cswm_curiosity.pt", "encoder.pt", "policy.pt", "progress.json",
                                                  "checksums.json"}
    logged = {k for m in read_metrics(tmp_path / "run") for k in m}
    assert {"encoder/loss", "intrinsic/arrow_of_time_reward_mean", "intrinsic/cswm_curiosity_reward_mean"} <= logged
    # The policy's encoder holds the C-SWM learner's weights (frozen: loaded after every fit).
    encoder = read_checkpoint(folder / "encoder.pt", None, "encoder")["weights"]
    policy = read_checkpoint(folder / "policy.pt", "rl-workbench/ppo-v1", "PPO")["policy"]
    key = next(k for k in encoder if k.endswith("weight"))
    assert torch.equal(policy[f"features_extractor.cswm.{key}"], encoder[key])
    assert_extrinsic_scores(results)


@pytest.mark.parametrize("overrides, message", [
    (["learner=rllib-dqn"], "learner='rllib-dqn' cannot train in imagination"),
    (["learner=rllib-appo"], "learner='rllib-appo' cannot train in imagination"),
    (["learner=rllib-ppo", "features.features=cswm"], "features.features='cswm' is not available to learner"),
    (["world_model=dreamer"], "world_model='dreamer' is not registered; choose one of ['none', 'simple'"),
    (["learner=sb3-a2c"], "learner='sb3-a2c' is not known; choose one of"),
    (["intrinsic=[{name: counts}]"], "intrinsic reward 'counts' is not registered"),
    (["intrinsic=[{name: arrow_of_time}, {name: arrow_of_time}]"], "repeat a reward"),
    (["world_model=none", "learner=rllib-ppo", "rllib.envs_per_env_runner=1",
      "intrinsic=[{name: arrow_of_time, start: 64}]"],
     "an RLlib learner in the real env adds intrinsic rewards in its learner connector"),
    (["world_model=simple_deterministic", "model.stochastic=true"], "contradicts world_model='simple_deterministic'"),
    (["rllib.algorithm=dqn"], "the learner names the algorithm"),
    (["model.hiden=3"], "unknown config key 'model.hiden'"),
    (["env.obs=gray84"], "but the world model predicts (64, 64, 3)"),
    (["world_model=none", "intrinsic=[{name: arrow_of_time}]", "loop.random_steps=0"], "set loop.random_steps > 0"),
    (["features.cswm_fit=true"], "need features='cswm'"),
])
def test_combinations_that_cannot_work_are_refused_in_one_line(tmp_path, capsys, overrides, message):
    assert main([*TINY, "--out", str(tmp_path / "run"), *overrides]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()  # refused before the run directory is made


def test_a_killed_composed_run_resumes_with_exact_real_steps(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "runs.cli", *TINY, "--out", str(out), "loop.iterations=3"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while time.time() < deadline:
        progress = out / "progress.json"
        if progress.exists() and json.loads(progress.read_text())["iterations_done"] >= 0:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = json.loads((out / "progress.json").read_text())["iterations_done"]
    assert not (out / "results.json").exists() and done >= 0
    with open(out / "metrics.jsonl", "a") as f:
        f.write('{"step": 96, "eval/score_mean": 99.0}\n')  # logged, then killed before its checkpoint
        f.write('{"step": 96, "world_model/lo')  # a line cut mid-write by the kill
    partial = out / "checkpoints" / "iteration_002" / ".policy.pt.k3j2.tmp.pt"  # a checkpoint write cut short
    partial.parent.mkdir(exist_ok=True)
    partial.write_bytes(b"PK half")
    results = train(tmp_path, "loop.iterations=3")
    assert results["agent_steps"] == 64 + 3 * 32
    assert results["simulated_steps"] == 3 * 32
    # metrics logged after the checkpoint in force were dropped and logged again once: one value per (step, key)
    logged = [(m["step"], k) for m in read_metrics(out) for k in m if k != "step"]
    assert len(logged) == len(set(logged)) and ("real/steps" in {k for _, k in logged})
    assert sorted(s for s, k in logged if k == "real/steps") == [64, 96, 128, 160]
    assert 99.0 not in [m.get("eval/score_mean") for m in read_metrics(out)]
    assert all(json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines())  # every line parses
    assert not partial.exists()
    store = np.load(out / results["checkpoint"] / "store.npz")
    assert int((store["step"] > 0).sum()) == 160  # every real step in the data once


def test_extend_continues_a_collectors_game_across_parts():
    """A game that goes on from one collection to the next stays one episode: the next part's first row (the same
    observation as the tail) is dropped and its successors link to the tail, steps carried on."""
    from agents.composed.parts import RealCollector, RealData

    env = AtariConfig(game="Pong", obs="rgb64")
    collector = RealCollector(env, num_envs=2, seed=0)
    data = RealData(env.observation_shape, env.frame_stack, 1000)
    for collection in range(3):
        data.add(collection, [collector.collect(20)])
    collector.close()
    store = data.store
    assert store.num_transitions == 60 and store.num_episodes == 2 and store.size == 62
    assert sorted(store.step[: store.size].tolist()) == sorted(list(range(31)) * 2)
    assert [g["step"] for g in data.games()["open"]] == [30, 30]
    # a sequence may span the join, and its frames are consecutive real frames of one game
    batch = store.sequences(4, 20, batch=8, rng=np.random.default_rng(0))
    assert batch["frames"].shape == (8, 24, 64, 64, 3) and (batch["action"] >= 0).all()
    fresh = RealData(env.observation_shape, env.frame_stack, 1000)
    fresh.add(0, [RealCollector(env, num_envs=2, seed=0).collect(20)])
    assert np.array_equal(fresh.store.frames[: fresh.store.size], store.frames[: fresh.store.size])


# -- components registered from outside the packages (item 6) ----------------------------------------------


@dataclass(frozen=True)
class CountBonusConfig:
    bonus: float = 1.0


class CountBonus:
    """bonus / sqrt(visits of next_obs), visits counted over the real data it was fitted on."""

    def __init__(self, config: CountBonusConfig, obs_shape: tuple, device: str = "cpu") -> None:
        self.config, self.obs_shape, self.beta, self.counts = config, tuple(obs_shape), 1.0, {}

    def fit(self, store, rng) -> dict:
        self.counts = {}
        for row in range(store.size):
            key = hash(store.frames[row].tobytes())
            self.counts[key] = self.counts.get(key, 0) + 1
        return {"states": float(len(self.counts))}

    def reward(self, obs, next_obs, action=None) -> np.ndarray:
        visits = [self.counts.get(hash(o[-1].tobytes()), 0) for o in next_obs]
        return self.beta * self.config.bonus / np.sqrt(np.asarray(visits, np.float32) + 1.0)

    def state(self) -> dict:
        return {"bonus": self.config.bonus, "obs_shape": list(self.obs_shape),
                "keys": torch.tensor(list(self.counts), dtype=torch.int64),
                "visits": torch.tensor(list(self.counts.values()), dtype=torch.int64)}

    @classmethod
    def from_state(cls, state: dict, device: str = "cpu") -> "CountBonus":
        reward = cls(CountBonusConfig(state["bonus"]), tuple(state["obs_shape"]), device)
        reward.counts = dict(zip(state["keys"].tolist(), state["visits"].tolist()))
        return reward

    def save(self, path) -> None:
        state = self.state()
        atomic_write(path, lambda tmp: torch.save(state, tmp))


@dataclass(frozen=True)
class RepeatConfig:
    frame_height: int = 64
    frame_width: int = 64
    channels: int = 3
    context_frames: int = 4
    target_frames: int = 1
    batch_size: int = 2
    learning_rate: float = 1e-2


class RepeatLastFrame(nn.Module):
    """Predicts that nothing changes, with a reward head that learns the mean reward (starting at zero)."""

    def __init__(self, config: RepeatConfig, num_actions: int, device: str = "cpu") -> None:
        super().__init__()
        self.config, self.num_actions, self.device = config, num_actions, torch.device(device)
        self.reward_bias = nn.Parameter(torch.zeros(()))

    @property
    def frame_shape(self):
        return self.config.frame_height, self.config.frame_width, self.config.channels

    @property
    def context_frames(self) -> int:
        return self.config.context_frames

    def loss(self, batch):
        k = self.config.context_frames
        loss = (batch["reward"][:, k - 1:].float() - self.reward_bias).pow(2).mean()
        return {"loss": loss, "reward_loss": loss.detach()}

    def initial_state(self, context):
        return context[:, -1]

    def step(self, state, action, generator=None) -> StepOut:
        reward = torch.zeros(len(state)) + self.reward_bias.detach().round().clamp(-1, 1)
        return StepOut(state.clone(), reward, state)

    def save(self, path, extra=None) -> None:
        state = {"format": "test/repeat-v1", "weights": self.state_dict(), "extra": extra or {}}
        atomic_write(path, lambda tmp: torch.save(state, tmp))

    def load(self, path) -> dict:
        state = read_checkpoint(path, "test/repeat-v1", "repeat model")
        self.load_state_dict(state["weights"])
        return state["extra"]


@pytest.fixture()
def toys():
    register_intrinsic("count_bonus", CountBonusConfig, CountBonus, CountBonus.from_state)
    register_world_model("repeat_last_frame", RepeatConfig, RepeatLastFrame)


@pytest.mark.parametrize("runtime", ["local", "ray"])
def test_a_toy_intrinsic_reward_and_world_model_registered_in_a_test_run_on_both_runtimes(
        tmp_path, ray_local, toys, runtime):
    results = train(tmp_path, f"runtime.kind={runtime}", "world_model=repeat_last_frame", "model={}",
                    "intrinsic=[{name: count_bonus, weight: 0.1, config: {bonus: 2.0}}]", name="both")
    assert (results["world_model"], results["intrinsic"]) == ("repeat_last_frame", ["count_bonus"])
    assert results["agent_steps"] == 96 and results["simulated_steps"] == 32
    assert_extrinsic_scores(results)
    logged = {k: v for m in read_metrics(tmp_path / "both") for k, v in m.items()}
    assert logged["intrinsic/count_bonus/states"] > 1 and logged["intrinsic/count_bonus_reward_mean"] > 0
    model_free = train(tmp_path, f"runtime.kind={runtime}", "world_model=none", "learner=rllib-ppo",
                       "rllib.envs_per_env_runner=1", "intrinsic=[{name: count_bonus}]", name="model-free")
    assert model_free["agent_steps"] == 96
    assert abs(next(m for m in read_metrics(tmp_path / "model-free")
                    if "learners/__all_modules__/intrinsic_reward_mean" in m)[
        "learners/__all_modules__/intrinsic_reward_mean"]) > 0

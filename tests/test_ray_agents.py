"""Agents assembled from components on Ray actors: collectors, world-model and potential learners, RLlib
policy training in imagination."""
import json

import numpy as np
import pytest

from agents.composed.parts import RealCollector
from envs import AtariConfig, ExperienceStore
from runs.cli import main
from runs.metrics import read_metrics

TINY = ["train", "--agent", "simple-ray", "--preset", "simple-ray-tiny", "--no-progress"]


def test_collectors_play_exactly_their_share_and_their_stores_merge():
    env = AtariConfig(game="Pong", obs="rgb64")
    parts = [RealCollector(env, num_envs=2, seed=s).collect(64).store for s in (0, 1)]
    assert [p.num_transitions for p in parts] == [64, 64]
    store = ExperienceStore(env.observation_shape, env.frame_stack, 1000)
    for part in parts:
        store.extend(part)
    assert store.num_transitions == 128 and store.num_episodes == 4
    assert not np.array_equal(parts[0].frames[-1], parts[1].frames[-1])  # different seeds, different games


@pytest.mark.slow  # 60-75 s; the composed Ray agent is covered by test_composition, a sweep trial by make demo
def test_simple_with_arrow_of_time_trains_across_actors_inside_a_sweep_trial(tmp_path, ray_local):
    # Inside a Tune trial the actors may only use the trial's placement group: the sweep reserves their bundles.
    assert main(["sweep", "--agent", "simple-ray", "--preset", "tiny", "--games", "Pong", "--seeds", "1",
                 "--cpus-per-trial", "0.5", "--eval-episodes", "2", "--eval-envs", "2", "--eval-max-frames", "400",
                 "--reps", "100",
                 "--out", str(tmp_path / "sweep"), "loop.iterations=1",
                 "intrinsic=[{name: arrow_of_time, config: {steps: 5}}]"]) == 0
    out = tmp_path / "sweep" / "runs" / "simple-ray-Pong-seed0"
    results = json.loads((out / "results.json").read_text())
    assert results["agent_steps"] == 64 + 32  # random collection + one iteration, over two collectors
    assert results["simulated_steps"] == 32  # 1 PPO iteration of train_batch 32 in imagination
    folder = out / results["checkpoint"]
    assert {p.name for p in folder.iterdir()} == {"world_model.pt", "store.npz", "arrow_of_time.pt", "policy.pt",
                                                  "progress.json", "checksums.json"}
    assert ExperienceStore.load(folder / "store.npz").num_transitions == 96
    logged = {k: v for m in read_metrics(out) for k, v in m.items()}
    assert logged["simulated/envs_updated"] >= 1  # the env runner received the world model
    assert {"world_model/loss", "intrinsic/arrow_of_time/loss", "real/steps", "eval/score_mean",
            "world_model/heldout_psnr@1"} <= set(logged)
    assert results["model_quality"][0]["iteration"] == 0
    assert json.loads((out / "evaluation-seed0.json").read_text())["agent"] == "simple-ray"


def test_actors_that_cannot_all_be_placed_are_a_clear_error(tmp_path, ray_local, capsys):
    assert main([*TINY, "--out", str(tmp_path / "run"), "runtime.collector_cpus=4"]) == 2
    assert "the agent's actors need 8.5 CPUs (collectors 8, world-model learner 0.25, env runners 0.25)" in \
        capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # refused before the run directory is made


def test_imagined_worlds_step_in_one_batch_and_restart_the_rllib_way():
    from agents.composed.imagination import RLlibImaginedWorlds, imagined_env_config
    from runs.train import build_agent_config

    config = build_agent_config("simple-ray", ["tiny"], [], {})
    worlds = RLlibImaginedWorlds(imagined_env_config("simple", config.model, 6, 2, 3, 4))
    obs, _ = worlds.reset(seed=0)
    assert obs.shape == (2, 64, 64, 12) and obs.dtype == np.float32
    flags = [worlds.step(np.array([0, 1]))[3] for _ in range(3)]
    assert [f.tolist() for f in flags] == [[False, False], [False, False], [True, True]]
    assert worlds.worlds.forward_passes == 3  # both envs in each forward pass
    obs, reward, terminated, truncated, _ = worlds.step(np.array([0, 1]))  # RLlib's uncounted restart step
    assert worlds.worlds.forward_passes == 3 and not truncated.any() and not reward.any()
    assert worlds.step(np.array([0, 1]))[3].tolist() == [False, False]

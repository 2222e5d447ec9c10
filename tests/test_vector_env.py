"""ale-py's native vector env gives exactly what the single env gives, for the same seeds and actions."""
import numpy as np
import pytest

from envs import AtariConfig, AtariEnv, NativeAtariVectorEnv


@pytest.mark.parametrize("game,obs,steps", [("Breakout", "gray84", 700), ("Pong", "rgb105x80", 150)])
def test_vector_matches_single_envs_through_life_loss_game_over_and_truncation(game, obs, steps):
    config = AtariConfig(game, obs=obs, max_episode_frames=1200)
    n = 2
    vector = NativeAtariVectorEnv(config, n)
    singles = [AtariEnv(config) for _ in range(n)]
    v_obs, _ = vector.reset(seed=11)
    for i, env in enumerate(singles):
        assert (env.reset(seed=11 + i)[0] == v_obs[i]).all()
    rng = np.random.default_rng(0)
    ends = {"life": 0, "game": 0, "cap": 0}
    for _ in range(steps):
        actions = rng.integers(vector.single_action_space.n, size=n)
        v_obs, v_rew, v_term, v_trunc, v_info = vector.step(actions)
        for i, env in enumerate(singles):
            obs_i, rew, term, trunc, info = env.step(int(actions[i]))
            assert (rew, term, trunc) == (v_rew[i], v_term[i], v_trunc[i])
            assert (info["life_lost"], info["game_over"]) == (v_info["life_lost"][i], v_info["game_over"][i])
            if term or trunc:
                assert (v_info["final_obs"][i] == obs_i).all()
                ends["life" if info["life_lost"] else "cap" if trunc else "game"] += 1
                if info["game_over"] or trunc:
                    assert v_info["final_score"][i] == info["score"]
                obs_i, _ = env.reset()
            assert (v_obs[i] == obs_i).all()
    vector.close()
    if game == "Breakout":
        assert ends["life"] > 0 and ends["game"] + ends["cap"] > 0

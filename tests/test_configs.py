"""Configs: presets compose, overrides win, bad keys and values are clear errors."""
import pytest

from runs import TrainConfig, build_config
from runs.cli import main


def test_presets_compose_and_overrides_win():
    config = build_config(TrainConfig, ["ppo-demo"], ["ppo.learning_rate=1e-4", "env.sticky_actions=0.25"])
    assert config.env.game == "Breakout" and config.loop.total_steps == 20_000  # demo over atari100k
    assert config.env.frame_skip == 4 and config.env.max_episode_frames == 108_000  # from atari100k
    assert config.ppo.learning_rate == 1e-4 and config.env.sticky_actions == 0.25


def test_default_budget_is_exactly_100k_agent_steps():
    config = build_config(TrainConfig, ["ppo-atari100k"], [])
    assert config.loop.total_steps == 100_000 and config.loop.random_steps == 0
    assert config.loop.iterations * config.loop.real_steps_per_iteration == 100_000
    assert config.loop.real_steps_per_iteration % (config.ppo.n_steps * config.loop.real_envs) == 0


@pytest.mark.parametrize("override,message", [
    ("env.gamee=Pong", r"unknown config key 'env.gamee'.*did you mean game"),
    ("ppo.n_steps=abc", r"ppo.n_steps='abc' must be of type int"),
    ("env.obs=rgb", r"env.obs='rgb' is not allowed; choose one of \['gray84'"),
    ("loop.total_steps=1001", r"loop.total_steps=1001 must be loop.random_steps=0 plus a positive multiple of "
                              r"loop.real_steps_per_iteration=25000"),
    ("ppo.n_steps=50", r"ppo.batch_size=250 must divide the rollout ppo.n_steps x loop.real_envs = 400"),
    ("env.game=Pongg", r"unknown Atari game 'Pongg'; closest valid names: \['Pong'"),
    ("learning_rate", r"not of the form key.sub=value"),
])
def test_bad_overrides_name_the_key_value_and_what_is_allowed(override, message):
    with pytest.raises(ValueError, match=message):
        build_config(TrainConfig, ["ppo-atari100k"], [override])


def test_unknown_preset_lists_presets():
    with pytest.raises(ValueError, match=r"unknown preset 'nope'; available: \[.*'ppo-tiny'"):
        build_config(TrainConfig, ["nope"], [])


def test_cli_reports_bad_input_in_one_line_with_exit_code_2(capsys, tmp_path):
    assert main(["train", "--preset", "ppo-tiny", "--out", str(tmp_path / "r"), "ppo.gama=0.9"]) == 2
    err = capsys.readouterr().err
    assert "unknown config key 'ppo.gama'" in err and "gamma" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()  # nothing is created for a bad command


def test_envs_command_lists_26_games_and_the_protocol(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert "MsPacman" in out and "7127.7" in out and "sticky_actions" in out
    assert sum(1 for line in out.splitlines() if line[:1].isupper() and len(line.split()) == 4) == 26


def test_float_fields_take_scientific_notation_and_reject_words():
    assert build_config(TrainConfig, ["ppo-tiny"], ["ppo.learning_rate=3e-4"]).ppo.learning_rate == 3e-4
    with pytest.raises(ValueError, match=r"ppo.gamma='high' must be a number"):
        build_config(TrainConfig, ["ppo-tiny"], ["ppo.gamma=high"])

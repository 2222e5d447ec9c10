"""Leaderboard aggregates against hand-computed values and the published reference; bad inputs."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from envs import atari100k_games, find_game
from runs.aggregates import bootstrap_intervals, point_estimates, probability_of_improvement, trimmed_mean
from runs.leaderboard import build, load_results
from runs.published import published_agents

REFERENCE = Path(__file__).parent.parent / "runs" / "data" / "published_scores.csv"


def test_aggregates_on_a_small_matrix_by_hand():
    table = {"A": np.array([0.0, 1.0]), "B": np.array([2.0, 3.0]), "C": np.array([0.5, 0.5])}
    est = point_estimates(table)
    assert est["mean"] == pytest.approx(7.0 / 6)  # pooled 0, 1, 2, 3, .5, .5
    assert est["median"] == pytest.approx(0.5)  # game means .5, 2.5, .5
    assert est["iqm"] == pytest.approx((0.5 + 0.5 + 1.0 + 2.0) / 4)  # drop int(.25 * 6) = 1 from each end
    assert est["optimality_gap"] == pytest.approx(1 - (0 + 1 + 1 + 1 + 0.5 + 0.5) / 6)
    assert trimmed_mean(np.arange(8.0)) == pytest.approx(3.5)


def test_aggregates_reproduce_the_published_reference():
    simple = next(a for a in published_agents() if a.name == "SimPLe")
    hns = {g: np.array([find_game(g).human_normalized(s) for s in v]) for g, v in simple.scores.items()}
    est = point_estimates(hns)
    assert [round(est[k], 3) for k in ("mean", "median", "iqm", "optimality_gap")] == [0.332, 0.134, 0.130, 0.729]


def test_bootstrap_intervals_contain_the_estimate_shrink_with_runs_and_repeat_with_a_seed():
    rng = np.random.default_rng(0)
    few = {f"g{i}": rng.normal(1.0, 0.5, 3) for i in range(10)}
    many = {f"g{i}": rng.normal(1.0, 0.5, 30) for i in range(10)}
    est, ci_few = point_estimates(few), bootstrap_intervals(few, reps=3000, seed=1)
    ci_many = bootstrap_intervals(many, reps=3000, seed=1)
    for k, (low, high) in ci_few.items():
        assert low <= est[k] <= high
        assert ci_many[k][1] - ci_many[k][0] < high - low
    assert bootstrap_intervals(few, reps=3000, seed=1) == ci_few


def test_probability_of_improvement_by_hand():
    x = {"A": np.array([1.0, 3.0]), "B": np.array([2.0])}
    y = {"A": np.array([2.0]), "B": np.array([2.0]), "C": np.array([9.0])}
    assert probability_of_improvement(x, y) == pytest.approx((0.5 + 0.5) / 2)  # C is not shared


def test_human_normalised_scores_match_the_reference_for_all_26_games():
    rows = {r["game"]: r for r in csv.DictReader(REFERENCE.read_text().splitlines())}
    assert len(atari100k_games()) == 26
    for game in atari100k_games():
        r = rows[game.name]
        random, human = float(r["random"]), float(r["human"])
        assert game.human_normalized(random) == 0 and game.human_normalized(human) == pytest.approx(1)
        simple = float(r["SimPLe"])
        assert game.human_normalized(simple) == pytest.approx((simple - random) / (human - random))


def write_result(path, game="Pong", score=-10.0, **changes):
    result = {"format": "rl-workbench/evaluation-v1", "agent": "mine", "game": game, "policy": "final",
              "protocol": "atari100k-v1", "eval": {"epsilon": 0.001},
              "env": {"sticky_actions": 0.0, "frame_skip": 4, "noop_max": 30, "max_episode_frames": 108000,
                      "full_action_space": False},
              "score_mean": score, "scores": [score], "source": str(path)}
    for key, value in changes.items():
        if key in ("sticky_actions",):
            result["env"][key] = value
        else:
            result[key] = value
    path.write_text(json.dumps(result))
    return path


def test_missing_games_are_missing_not_zero(tmp_path):
    files = [write_result(tmp_path / "a.json", "Pong", -10.0), write_result(tmp_path / "b.json", "Breakout", 10)]
    ours = load_results(files)
    entries = build(ours, reps=200, include_published=False)
    assert set(entries[0].hns) == {"Pong", "Breakout"}
    from runs.leaderboard import per_game_rows

    rows = {r[0]: r[1] for r in per_game_rows(entries)[1:]}
    assert rows["Alien"] == "-" and rows["Pong"] != "-"


def test_bad_leaderboard_inputs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_results([tmp_path / "missing.json"])
    with pytest.raises(ValueError, match="final policies only"):
        load_results([write_result(tmp_path / "best.json", policy="best")])
    with pytest.raises(ValueError, match="mixed protocols.*sticky_actions=0.25"):
        load_results([write_result(tmp_path / "a.json"), write_result(tmp_path / "b.json", sticky_actions=0.25)])
    (tmp_path / "foreign.json").write_text("{}")
    with pytest.raises(ValueError, match="not an evaluation results file"):
        load_results([tmp_path / "foreign.json"])
    twice = [write_result(tmp_path / "c.json", source="run1"), write_result(tmp_path / "d.json", source="run1")]
    with pytest.raises(ValueError, match="same trained run"):
        load_results(twice)


FIVE = ("Pong", "Breakout", "Krull", "RoadRunner", "Seaquest")


def five_game_agent(tmp_path) -> dict[str, dict[str, list[float]]]:
    """A synthetic agent of ours with two runs on each of 5 of the 26 games."""
    files = [write_result(tmp_path / f"{g}-{seed}.json", g, 100.0 * (i + 1) + seed, source=f"{g}-{seed}")
             for i, g in enumerate(FIVE) for seed in range(2)]
    return load_results(files)


def test_an_agent_on_5_games_is_also_compared_on_just_those_games(tmp_path):
    from runs.leaderboard import improvement_over
    from runs.shared_games import shared_comparisons

    entries = build(five_game_agent(tmp_path), reps=200, measured=tmp_path / "none")  # no shipped records
    shared = shared_comparisons(entries, reps=200, seed=0)
    assert len(shared) == 1 and shared[0].subject == "mine" and shared[0].games == tuple(sorted(FIVE))
    rows = {name: (est, ci) for name, est, ci in shared[0].rows}
    simple = next(e for e in entries if e.name == "SimPLe")
    on_five = point_estimates({g: simple.hns[g] for g in FIVE})
    assert rows["SimPLe"][0] == pytest.approx(on_five) and rows["SimPLe"][0] != pytest.approx(simple.estimates)
    assert rows["SimPLe"][1] is not None and rows["DER"][1] is None  # intervals only where runs are published
    mine = next(e for e in entries if e.name == "mine")
    assert rows["mine"][0] == pytest.approx(mine.estimates)
    improvement = improvement_over(entries, "SimPLe")
    assert improvement["mine"]["games"] == 5 and improvement["IRIS"]["games"] == 26
    assert improvement["mine"]["p"] == pytest.approx(probability_of_improvement(
        mine.hns, {g: simple.hns[g] for g in FIVE}))


def test_leaderboard_json_holds_the_numbers_the_tables_print(tmp_path):
    from runs.leaderboard import summary_rows, write_reports
    from runs.shared_games import format_cell, shared_comparisons, shared_rows

    entries = build(five_game_agent(tmp_path), reps=200)
    shared = shared_comparisons(entries, reps=200, seed=0)
    improvement, written = write_reports(entries, "SimPLe", tmp_path / "board", shared)
    assert sorted(p.name for p in written) == ["leaderboard.html", "leaderboard.json", "leaderboard.md", "profiles.png"]
    data = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    printed = {row[0]: row[3:7] for row in summary_rows(entries)[1:]}
    keys = ("mean", "median", "iqm", "optimality_gap")
    for agent in data["agents"]:
        assert [format_cell(agent["estimates"], agent["intervals"], k) for k in keys] == printed[agent["name"]]
    printed_shared = {row[0]: row[2:] for row in shared_rows(shared[0])[1:]}
    for agent in data["shared_games"][0]["agents"]:
        assert [format_cell(agent["estimates"], agent["intervals"], k) for k in keys] == printed_shared[agent["name"]]
    markdown = (tmp_path / "board" / "leaderboard.md").read_text()
    for name, value in data["probability_of_improvement"]["over"].items():
        assert f"- {name}: {value['p']:.3f} ({value['games']} games)" in markdown
    assert "On the 5 games mine reports (Breakout, Krull, Pong, RoadRunner, Seaquest)" in markdown


def test_performance_profile_bands_contain_the_profile_and_narrow_with_runs():
    from runs.aggregates import performance_profile, profile_intervals

    rng = np.random.default_rng(0)
    taus = np.linspace(0, 2, 21)
    few = {f"g{i}": rng.normal(1.0, 0.5, 3) for i in range(5)}
    many = {f"g{i}": rng.normal(1.0, 0.5, 50) for i in range(5)}
    low, high = profile_intervals(few, taus, reps=500)
    profile = performance_profile(few, taus)
    assert low.shape == taus.shape and (low <= profile + 1e-12).all() and (profile <= high + 1e-12).all()
    low_many, high_many = profile_intervals(many, taus, reps=500)
    assert (high_many - low_many).mean() < (high - low).mean()


def test_a_measured_run_ships_as_data_and_stands_beside_the_published_rows(tmp_path, capsys):
    from runs.cli import main
    from runs.shared_games import shared_comparisons

    run, root = tmp_path / "run", tmp_path / "measured"
    assert main(["train", "--preset", "ppo-tiny", "--no-progress", "--out", str(run)]) == 0
    assert main(["evaluate", str(run), "--episodes", "2", "--envs", "2", "--max-frames", "2000", "--no-progress"]) == 0
    assert main(["measured", str(run), "--root", str(root)]) == 0
    record = json.loads((root / "ppo" / "Pong-seed0.json").read_text())
    assert record["evaluation"]["policy"] == "final" and record["agent_steps"] == 256
    assert record["manifest"]["git"] and record["config"]["seed"] == 0 and record["wall_time_s"] > 0
    assert main(["measured", str(run), "--root", str(root)]) == 2  # never overwritten
    assert "exists; measured results are never overwritten" in capsys.readouterr().err

    entries = build({}, reps=200, measured=root)
    row = next(e for e in entries if e.name == "rl-workbench ppo (measured)")
    assert row.ours and set(row.hns) == {"Pong"} and row.intervals is not None and "measured here" in row.source
    assert [s.subject for s in shared_comparisons(entries, reps=200, seed=0)] == ["rl-workbench ppo (measured)"]


def test_the_shipped_drq_eps_runs_are_on_every_leaderboard_with_their_own_shared_games_table():
    from runs.shared_games import shared_comparisons

    entries = build({}, reps=200)
    drq = next(e for e in entries if e.name == "rl-workbench drq-eps (measured)")
    assert drq.ours and set(drq.hns) >= {"Krull", "RoadRunner"}
    shared = {s.subject: s for s in shared_comparisons(entries, reps=200, seed=0)}
    assert set(shared["rl-workbench drq-eps (measured)"].games) == set(drq.hns)

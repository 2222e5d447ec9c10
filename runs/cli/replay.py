"""``workbench replay``: play a saved agent (or an action log), write a video."""
from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    replay_cmd = commands.add_parser("replay", help="play a saved agent (or an action log) and write a video")
    replay_cmd.add_argument("agent", metavar="RUN_OR_AGENT", nargs="?", help="not needed with --actions")
    replay_cmd.add_argument("--episodes", type=int, default=1)
    replay_cmd.add_argument("--seed", type=int, default=0)
    replay_cmd.add_argument("--epsilon", type=float, default=0.0)
    replay_cmd.add_argument("--max-frames", type=int, default=108_000)
    replay_cmd.add_argument("--video", help="mp4 to write, score overlaid")
    replay_cmd.add_argument("--actions", help="replay this action log instead of a policy")
    replay_cmd.add_argument("--log", help="where to write the action log (default: beside the video)")
    replay_cmd.add_argument("--watch", action="store_true", help="show the game in a window (needs a display)")
    replay_cmd.add_argument("--dream", action="store_true",
                            help="world-model agents: write real | imagined side by side from the same start")
    replay_cmd.add_argument("--dream-steps", type=int, default=100)
    replay_cmd.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace) -> int:
    import dataclasses
    import os
    from pathlib import Path

    from envs import AtariConfig
    from envs.files import require_writable_file
    from envs.video import require_mp4
    from runs.replay import load_log, replay, write_outputs

    if args.watch and not os.environ.get("DISPLAY"):
        raise ValueError("--watch needs a display (DISPLAY is not set); write a --video instead")
    video = require_writable_file(require_mp4(args.video, "--video"), "--video") if args.video else None
    if args.dream and video is None:
        video = require_writable_file("dream.mp4", "--video")
    log_path = Path(args.log) if args.log else (video.with_suffix(".actions.json") if video else Path("actions.json"))
    if not args.dream:
        require_writable_file(log_path, "--log")
    log = load_log(args.actions) if args.actions else None
    if log:
        env_id, env_config, agent = log["env_id"], AtariConfig(**log["env"]), None
    elif args.agent:
        from agents import load

        agent = load(args.agent)
        env_id, env_config = agent.env_id, agent.env_config
    else:
        raise ValueError("give RUN_OR_AGENT to play, or --actions LOG to replay")
    env_config = dataclasses.replace(env_config, max_episode_frames=args.max_frames) if not log else env_config
    if args.dream:
        return _dream(args, agent, env_id, env_config, video)
    new_log, frames = replay(env_id, env_config, args.episodes, args.seed, agent, log, args.epsilon, args.watch)
    if log:
        for i, (old, new) in enumerate(zip(log["episodes"], new_log["episodes"])):
            same = old["frames_sha256"] == new["frames_sha256"]
            verdict = "identical to" if same else "DIFFER from"
            print(f"episode {i + 1}: score {new['score']:g}; frames {verdict} the log")
    else:
        for i, episode in enumerate(new_log["episodes"]):
            steps = len(episode["actions"])
            print(f"episode {i + 1} (seed {episode['seed']}): score {episode['score']:g}, {steps} steps")
    write_outputs(new_log, frames, video, log_path)
    print(f"action log: {log_path}" + (f"\nvideo: {video}" if video else ""))
    return 0


def _dream(args: argparse.Namespace, agent, env_id: str, env_config, video) -> int:
    from pathlib import Path

    from envs.video import write_mp4
    from runs.replay import dream
    from world_models import SimPLeWorldModel

    if agent is None or "world_model" not in agent.meta:
        raise ValueError("--dream needs an agent trained with a world model (e.g. --agent simple)")
    model = SimPLeWorldModel.from_checkpoint(Path(agent.meta["path"]) / agent.meta["world_model"])
    frames = dream(agent, model, env_id, env_config, args.seed, args.dream_steps)
    write_mp4(frames, video, fps=8)
    print(f"real | imagined, {len(frames)} steps: {video}")
    return 0

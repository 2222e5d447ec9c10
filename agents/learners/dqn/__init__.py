"""DQN-family learners in plain PyTorch: DrQ(epsilon) and its relatives, read top to bottom in ``learner.py``.

    config.py    DQNConfig: Dopamine's Atari 100k DrQ(epsilon) values by default
    network.py   the Nature CNN Q-network (dueling head), as Dopamine's JAX network
    augment.py   DrQ's image augmentation (edge pad + random crop, intensity noise)
    replay.py    uniform n-step replay over the experience store (each frame kept once)
    learner.py   the learner behind :class:`agents.protocols.PolicyLearner`
    policy.py    the acting policy (epsilon-greedy on native observations) and the checkpoint format
"""

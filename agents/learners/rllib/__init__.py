"""RLlib (new API stack) behind the PolicyLearner protocol: settings (``config``), our envs as RLlib sees them
(``env``), the learner (``learner``), the acting policy and checkpoint format (``policy``) and intrinsic rewards
in a learner connector (``intrinsic``). Importing this package does not import Ray."""

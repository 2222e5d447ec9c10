"""An agent composed by config (:class:`agents.spec.AgentSpec`): the one loop (``loop``), its parts (``parts``),
where they run (``placement``) and policy training inside a world model (``imagination``)."""

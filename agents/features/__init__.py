"""The networks that read a policy's observations: chosen by shape (``networks``), or a C-SWM encoder (``cswm``),
named in :class:`agents.features.config.PolicyConfig`."""

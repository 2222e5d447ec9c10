"""World models (SimPLe video model, C-SWM) and the simulated vector env. Nothing here yet."""

"""``workbench sweep``: the sweep's config (``config``, plain data, no Ray), what runs on a worker (``trial``) and
the Ray Tune driver (``driver``)."""
from runs.sweep.config import SweepConfig

__all__ = ["SweepConfig"]

"""Test-wide settings."""
import pytest
import torch

# pytest-xdist runs two workers on two cores: one torch thread each avoids oversubscription,
# which otherwise slows small models down several times.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def ray_local():
    """One embedded Ray instance per test worker (2 CPUs), shut down at the end of the session."""
    import ray

    from runs.ray_cluster import connect

    connect("local", num_cpus=2)
    yield
    ray.shutdown()

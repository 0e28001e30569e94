"""``neuronet.backends.mps``: Apple's Metal GPUs, which neuronet does not drive."""

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: neuronet runs on NumPy (CPU) or CuPy (NVIDIA GPUs) only."""
    return False


def is_built() -> bool:
    """False: neuronet has no Metal backend to build."""
    return False

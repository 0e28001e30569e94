"""``python -m neuronet.bench``: throughput, memory and per-op profiles of
neuronet against PyTorch (and a Chainer-style NumPy baseline), same run, same
shapes, same threads.

Commands (see ``bench/README.md``)::

    python -m neuronet.bench [--workloads lenet64,resnet20] [--json] [--quick] ...
    python -m neuronet.bench micro [--ops conv,pool,bn,im2col] ...
    python -m neuronet.bench profile lenet64 [--cprofile 25]

Every measurement runs in a fresh subprocess with the BLAS/OpenMP thread
count fixed before NumPy or PyTorch is imported, so peak RSS is per
workload and per framework.
"""
from .workloads import WORKLOADS, Workload

__all__ = ["WORKLOADS", "Workload"]

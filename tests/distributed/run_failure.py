"""Run under mpiexec: one failure mode (argv[1]); the job must end non-zero within seconds."""
import sys

import neuronet as torch
import neuronet.distributed as dist
from neuronet import nn
from neuronet.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
rank = dist.get_rank()
mode = sys.argv[1]
if mode == "raise":
    # the last rank fails between collectives while the others wait in the next one
    t = torch.ones(4)
    dist.all_reduce(t)
    if rank == dist.get_world_size() - 1:
        raise ValueError("bad batch on purpose")
    dist.all_reduce(t)
    dist.barrier()
elif mode == "shapes":
    DDP(nn.Linear(4, 3 + (rank == 1)))
elif mode == "interrupt":
    if rank == 0:
        raise KeyboardInterrupt
    dist.barrier()
print(f"rank {rank}: should not get here", flush=True)

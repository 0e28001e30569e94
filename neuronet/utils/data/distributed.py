"""``torch.utils.data.distributed``'s name (``from torch.utils.data.distributed import DistributedSampler``)."""
from ...data.sampler import DistributedSampler

__all__ = ["DistributedSampler"]

"""``torch.utils.data.dataloader``'s names (``from torch.utils.data.dataloader import default_collate``)."""
from ...data.dataloader import DataLoader, WorkerInfo, default_collate, default_convert, get_worker_info

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo"]

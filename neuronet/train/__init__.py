"""Training: the Trainer loop, metrics, callbacks, checkpoints."""
from .callbacks import Callback, CSVLogger, EarlyStopping, JSONLogger, ProgressBar  # noqa: F401
from .checkpoint import (Checkpoint, CheckpointError, load_checkpoint, load_model,  # noqa: F401
                         save_checkpoint)
from .metrics import (MetricTracker, accuracy, confusion_matrix, iou_per_class, mean_iou,  # noqa: F401
                      per_class_accuracy, pixel_accuracy, topk_accuracy)
from .trainer import Trainer, TrainingDiverged  # noqa: F401

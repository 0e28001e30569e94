"""(being written) tensor-level ops: see neuronet/ops/_registry.py for how they are exported."""
from __future__ import annotations

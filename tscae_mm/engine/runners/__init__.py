from .reliable_checkpoints import CheckpointMismatchError
from .reliable_flexible_runner import ReliableFlexibleRunner
from .reliable_runner import ReliableRunner

__all__ = [
    'CheckpointMismatchError', 'ReliableRunner', 'ReliableFlexibleRunner'
]

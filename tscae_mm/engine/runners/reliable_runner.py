"""MMEngine's Runner with config checks, atomic checkpoints and clear resume.

Select it in a config with ``runner_type = 'ReliableRunner'``; the usual
``tools/train.py`` builds it through ``RUNNERS.build(cfg)``.
"""
import os
import os.path as osp
from typing import Optional

from mmengine.dist import master_only
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ...utils.cpu_threads import configure_cpu_threads, log_cpu_threads
from ..config_checks import check_runner_config
from .reliable_checkpoints import (
    TEMP_SUFFIX,
    ReliableCheckpointsMixin,
    replace_durably,
)


@RUNNERS.register_module()
class ReliableRunner(ReliableCheckpointsMixin, Runner):
    """:class:`mmengine.runner.Runner` that protects long runs.

    - Before anything is built, the config is checked
      (:func:`~tscae_mm.engine.check_runner_config`): a ``SeededSampler``
      without ``SeededDataset`` (or the reverse) is refused; keeping one
      checkpoint, and schedulers that end elsewhere than the loop, are
      warned about.
    - Checkpoints on local disk are written atomically, ``resume=True``
      finds the newest complete checkpoint, and a checkpoint whose weights
      do not fit the model is refused
      (:class:`~tscae_mm.engine.runners.reliable_checkpoints.
      ReliableCheckpointsMixin`).
    - The CPU thread count is chosen before the model is built and logged
      (:func:`~tscae_mm.utils.cpu_threads.configure_cpu_threads`), also
      when the toolboxes' own ``tools/train.py`` builds this runner.

    Takes the same arguments as :class:`Runner`.
    """

    def __init__(self, *args, **kwargs) -> None:
        if kwargs.get('cfg') is not None:
            check_runner_config(kwargs['cfg'])
        configure_cpu_threads()
        super().__init__(*args, **kwargs)
        log_cpu_threads(self.logger)

    @master_only
    def save_checkpoint(self,
                        out_dir: str,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        **kwargs) -> None:
        """Save as :meth:`Runner.save_checkpoint`; atomically on local disk
        (MMEngine writes straight under the final name).

        Arguments as :meth:`Runner.save_checkpoint`.
        """
        backend = get_file_backend(
            out_dir, backend_args=kwargs.get('backend_args'))
        if file_client_args is not None or not isinstance(
                backend, LocalBackend):
            super().save_checkpoint(out_dir, filename, file_client_args,
                                    **kwargs)
            return
        temp_name = f'{filename}{TEMP_SUFFIX}{os.getpid()}'
        super().save_checkpoint(out_dir, temp_name, **kwargs)
        replace_durably(
            osp.join(out_dir, temp_name), osp.join(out_dir, filename))

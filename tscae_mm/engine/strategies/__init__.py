from .fsdp_strategy import TSCAEFSDPStrategy, transformer_block_wrap_policy

__all__ = ['TSCAEFSDPStrategy', 'transformer_block_wrap_policy']

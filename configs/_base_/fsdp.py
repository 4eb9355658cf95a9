# Fully sharded data parallel (FSDP) through MMEngine's FlexibleRunner
# (docs/scaling.md): parameters, gradients and AdamW states are sharded over
# the ranks, one FSDP unit per transformer block (encoder and decoder), and
# rank 0 writes ordinary full checkpoints (the keys of a DDP run's).
# Use it in a config inheriting a pre-training config and this file:
#   _base_ = ['<config>', '../_base_/fsdp.py']
#   runner_type = 'ReliableFlexibleRunner'
# (runner_type is set in the config itself: the runtime base sets it too).
# Launch as any distributed run (tools/dist_train.sh, tools/slurm_train.sh);
# on machines without CUDA it trains on CPU with gloo.
strategy = dict(
    type='TSCAEFSDPStrategy',
    state_dict_cfg='full',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        sharding_strategy='FULL_SHARD',
        use_orig_params=True,
        auto_wrap_policy=dict(type='transformer_block_wrap_policy')))

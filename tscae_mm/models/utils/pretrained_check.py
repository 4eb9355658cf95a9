"""Refuse an encoder initialisation that did not load the encoder.

MMEngine's ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)``
loads with ``strict=False``: a checkpoint of another model (a Faster R-CNN
R50), a full TSCAE checkpoint read without ``prefix='backbone.'``, or one of
another depth or width leaves (some of) the encoder at its random
initialisation, with only a "do not match exactly" warning in the log.
:func:`checked_pretrained_init` wraps such a load: it records the weights the
checkpoint offers the encoder, compares them with the encoder's own and
raises :class:`PretrainedEncoderError` naming the checkpoint, how many
encoder weights matched, which are missing or of another shape, and the fix.

A partial load (e.g. a shallower checkpoint) can be accepted on purpose with
``allow_partial=True`` in the ``init_cfg`` (read and removed here, MMEngine
never sees it): the matching weights load, the others keep their random
initialisation, and a warning lists them.
"""
import contextlib
import logging
from collections import Counter, defaultdict
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit
from torch import nn

# At most this share of the encoder's weights found: "none" (wrong prefix or
# another architecture) rather than a partial match.
ALMOST_NONE = 0.1
KEYS_SHOWN = 6
Shapes = Dict[str, Tuple[int, ...]]


class PretrainedEncoderError(RuntimeError):
    """A pre-trained checkpoint that does not hold (all of) the encoder."""


def pretrained_init_cfg(init_cfg) -> Optional[dict]:
    """The ``Pretrained`` entry of an ``init_cfg`` (a dict or a list), or
    None."""
    entries = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    for entry in entries:
        if isinstance(entry, dict) and entry.get('type') in ('Pretrained',
                                                             PretrainedInit):
            return entry
    return None


@contextlib.contextmanager
def checked_pretrained_init(encoder: nn.Module,
                            new_keys: Sequence[str] = ()) -> Iterator[None]:
    """Check the ``Pretrained`` initialisation run inside the block.

    Use around ``super().init_weights()`` of an encoder whose ``init_cfg``
    has a ``Pretrained`` entry (:func:`pretrained_init_cfg`).

    Args:
        encoder (nn.Module): The encoder being initialised; its
            ``init_cfg`` is read, and for the block stripped of
            ``allow_partial``.
        new_keys (Sequence[str]): Prefixes of the encoder's weights that a
            pre-training checkpoint does not have by design (downstream
            layers, placeholder tokens); they are not counted.

    Raises:
        PretrainedEncoderError: No checkpoint given; the prefix selects
            nothing; (almost) none of the encoder's weights found; or, unless
            ``allow_partial=True``, some of them missing, of another shape,
            or more blocks in the checkpoint than in the encoder.
    """
    original_cfg = encoder.init_cfg
    pretrained = dict(pretrained_init_cfg(original_cfg))
    allow_partial = bool(pretrained.pop('allow_partial', False))
    checkpoint, prefix = pretrained.get('checkpoint'), pretrained.get('prefix')
    name = type(encoder).__name__
    if checkpoint is None:
        raise PretrainedEncoderError(no_checkpoint_message(name))
    offered: Shapes = {}
    handle = encoder.register_load_state_dict_pre_hook(
        lambda module, state_dict, hook_prefix, *args: offered.update({
            key[len(hook_prefix):]: tuple(getattr(value, 'shape', ()))
            for key, value in state_dict.items()
            if key.startswith(hook_prefix)
        }))
    encoder.init_cfg = replace_pretrained(original_cfg, pretrained)
    try:
        yield
    except AssertionError as error:
        if 'is not in the pretrained model' not in str(error):
            raise
        raise PretrainedEncoderError(
            prefix_not_found_message(name, checkpoint, prefix)) from error
    finally:
        handle.remove()
        encoder.init_cfg = original_cfg
    report = LoadReport(encoder, offered, new_keys)
    where = f"checkpoint {checkpoint!r} (prefix={prefix!r})"
    if report.matched <= ALMOST_NONE * report.expected:
        raise PretrainedEncoderError(report.none_message(name, where,
                                                         checkpoint, prefix))
    if report.problems():
        if not allow_partial:
            raise PretrainedEncoderError(report.partial_message(name, where))
        print_log(
            f'{name}: allow_partial=True, so only {report.matched} of its '
            f'{report.expected} encoder weights were loaded from {where}; '
            f'the others keep their random initialisation:'
            f'{report.problem_lines()}',
            logger='current',
            level=logging.WARNING)
        return
    new = Counter(key.split('.')[0] for key in report.new)
    print_log(
        f'{name}: all {report.expected} encoder weights loaded from {where}'
        + ('; new, not pre-trained (by design): ' + ', '.join(
            f'{module}.* ({count})' if count > 1 else module
            for module, count in new.items()) if new else '') + '.',
        logger='current')


def replace_pretrained(init_cfg, pretrained: dict):
    """``init_cfg`` with its ``Pretrained`` entry replaced by
    ``pretrained``."""
    if isinstance(init_cfg, dict):
        return pretrained
    return [
        pretrained if entry is pretrained_init_cfg(init_cfg) else entry
        for entry in init_cfg
    ]


class LoadReport:
    """How the weights a checkpoint offered fit an encoder.

    Args:
        encoder (nn.Module): The encoder.
        offered (dict): Name -> shape of the weights offered to it (after
            the prefix, position-embedding resizing and dropped tokens).
        new_keys (Sequence[str]): Prefixes of weights new by design.
    """

    def __init__(self, encoder: nn.Module, offered: Shapes,
                 new_keys: Sequence[str]) -> None:
        own = {
            key: tuple(value.shape)
            for key, value in encoder.state_dict().items()
        }
        self.offered = offered
        self.own = own
        self.new = [key for key in own if key.startswith(tuple(new_keys))]
        expected = [key for key in own if key not in self.new]
        self.expected = len(expected)
        self.missing = [key for key in expected if key not in offered]
        self.reshaped = [
            f'{key} (checkpoint {offered[key]}, model {own[key]})'
            for key in expected if key in offered and offered[key] != own[key]
        ]
        self.matched = self.expected - len(self.missing) - len(self.reshaped)
        modules = {
            child for child, module in encoder.named_children()
            if any(True for _ in module.parameters())
            and not f'{child}.'.startswith(tuple(new_keys))
        }
        self.surplus = [
            key for key in offered
            if key not in own and key.split('.')[0] in modules
        ]

    def problems(self) -> bool:
        """Any missing, differently shaped or surplus encoder weight."""
        return bool(self.missing or self.reshaped or self.surplus)

    def problem_lines(self) -> str:
        """One line per kind of problem, naming every weight (whole blocks
        as ``layers.6.*``)."""
        own_blocks = block_sizes(self.own)
        offered_blocks = block_sizes(self.offered)
        lines = [(self.missing, 'missing from the checkpoint', own_blocks),
                 (self.reshaped, 'of another shape', None),
                 (self.surplus, 'in the checkpoint in blocks this encoder '
                  'does not have', offered_blocks)]
        return ''.join(
            f'\n  {len(keys)} weight(s) {what}: '
            f'{compact(keys, blocks) if blocks else ", ".join(keys)}'
            for keys, what, blocks in lines if keys)

    def none_message(self, name: str, where: str, checkpoint: str,
                     prefix: Optional[str]) -> str:
        """The error for a checkpoint that holds (almost) none of it."""
        head = (f'{name}: {where} holds {self.matched} of the encoder\'s '
                f'{self.expected} weights; the encoder would train from its '
                'random initialisation.')
        candidates = prefix_candidates(self.offered, self.own)
        if candidates:
            found, count = candidates[0]
            full = (prefix or '') + found
            return (
                f'{head} Its keys hold this encoder under the prefix '
                f'{full!r} ({count} of {self.expected} weights; a full '
                'TSCAE / MAE pre-training, classifier or detector '
                f'checkpoint). Fix: set prefix={full!r} in the init_cfg '
                f"(model.backbone.init_cfg.prefix='{full}'), or write the "
                'encoder alone with `python tools/extract_backbone.py '
                f'{checkpoint} ENCODER.pth --prefix {full}` and load '
                'ENCODER.pth with prefix=None.')
        if self.reshaped:
            return (f'{head} Its weights have this encoder\'s names but other '
                    'shapes: a checkpoint of another model size (width, '
                    f'patch size)?{self.problem_lines()}\nUse the checkpoint '
                    'of this encoder, or make model.backbone (arch, '
                    'patch_size) the checkpoint\'s.')
        sample = ', '.join(list(self.offered)[:KEYS_SHOWN])
        return (f'{head} None of its keys name this encoder\'s weights '
                f'(they begin: {sample or "nothing"}): the weights of '
                'another architecture, or of another model size? Use a '
                'TSCAE / MAE pre-training checkpoint of this encoder (arch, '
                "patch size) with prefix='backbone.', or the encoder "
                'written by tools/extract_backbone.py with prefix=None.')

    def partial_message(self, name: str, where: str) -> str:
        """The error for a checkpoint that holds only part of it."""
        return (
            f'{name}: {where} fits only part of this encoder: '
            f'{self.matched} of its {self.expected} weights match.'
            f'{self.problem_lines()}\nIs it a checkpoint of another model '
            'size (depth, width, patch size)? Use the checkpoint of this '
            'encoder, or make model.backbone (arch, patch_size, img_size) '
            'the checkpoint\'s. To load the matching weights anyway and keep '
            'the others random, add allow_partial=True to the init_cfg.')


def block_sizes(shapes: Shapes) -> Dict[str, int]:
    """Number of weights per ``layers.<i>.`` block."""
    sizes: Dict[str, int] = Counter()
    for key in shapes:
        block = block_of(key)
        if block:
            sizes[block] += 1
    return sizes


def block_of(key: str) -> Optional[str]:
    """``'layers.6.'`` for ``'layers.6.attn.qkv.weight'``, else None."""
    parts = key.split('.')
    if len(parts) > 2 and parts[0] == 'layers' and parts[1].isdigit():
        return f'layers.{parts[1]}.'
    return None


def compact(keys: List[str], blocks: Dict[str, int]) -> str:
    """The keys, with every block whose weights are all listed given as
    ``layers.<i>.*``."""
    per_block: Dict[str, List[str]] = defaultdict(list)
    for key in keys:
        per_block[block_of(key)].append(key)
    shown = []
    for block, members in per_block.items():
        if block is not None and len(members) == blocks.get(block):
            shown.append(f'{block}* ({len(members)} weights)')
        else:
            shown.extend(members)
    return ', '.join(shown)


def prefix_candidates(offered: Shapes, own: Shapes) -> List[Tuple[str, int]]:
    """Prefixes under which the offered keys hold the encoder's weights, with
    how many weights of the right shape each gives, best first
    (``'backbone.'`` first among equals)."""
    counts: Counter = Counter()
    for key, shape in offered.items():
        parts = key.split('.')
        for cut in range(1, len(parts)):
            rest = '.'.join(parts[cut:])
            if own.get(rest) == shape:
                counts['.'.join(parts[:cut]) + '.'] += 1
    return sorted(counts.items(),
                  key=lambda item: (-item[1], item[0] != 'backbone.',
                                    len(item[0])))


def no_checkpoint_message(name: str) -> str:
    """The error for ``init_cfg=dict(type='Pretrained', checkpoint=None)``."""
    return (
        f"{name}: init_cfg=dict(type='Pretrained', checkpoint=None): no "
        'pre-trained checkpoint given. Set model.backbone.init_cfg.checkpoint '
        "to your TSCAE / MAE checkpoint (with prefix='backbone.' for a "
        'checkpoint written by tools/train.py, prefix=None for one written '
        'by tools/extract_backbone.py): in a child config model = '
        "dict(backbone=dict(init_cfg=dict(checkpoint='work_dirs/.../"
        "epoch_400.pth'))), or on the command line --cfg-options "
        'model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_400.pth. To '
        'train from a random initialisation instead, set '
        'model.backbone.init_cfg=None.')


def prefix_not_found_message(name: str, checkpoint: str,
                             prefix: str) -> str:
    """The error for a prefix that selects no key of the checkpoint."""
    from mmengine.runner import CheckpointLoader

    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = loaded.get('state_dict', loaded)
    tops = sorted({key.split('.')[0] + ('.' if '.' in key else '')
                   for key in state})
    return (
        f'{name}: checkpoint {checkpoint!r} has no weights under '
        f'prefix={prefix!r}; its keys begin with '
        f'{", ".join(tops[:KEYS_SHOWN])}'
        f'{", ..." if len(tops) > KEYS_SHOWN else ""}. An encoder written '
        'by tools/extract_backbone.py has no prefix: load it with '
        'prefix=None (model.backbone.init_cfg.prefix=None); otherwise set '
        'the prefix that holds the encoder.')


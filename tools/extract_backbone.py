"""Write the encoder of a TSCAE (or MAE) checkpoint as a backbone checkpoint.

The pre-training checkpoint stores the encoder under ``backbone.`` next to the
decoder (``neck.``) and the heads. This tool keeps only the encoder, strips
the prefix and drops TSCAE's pre-training placeholder tokens (``mask_token``,
``visible_token``; mmpretrain's MAE keeps its mask token in the decoder), so
the file loads with ``init_cfg=dict(type='Pretrained', checkpoint=OUT)`` (no
prefix) into ``TSCAEViT`` or mmpretrain's ``VisionTransformer``. Loading the
full checkpoint with ``prefix='backbone.'`` gives the same weights; this is
for users who want a small file.

Example::

    python tools/extract_backbone.py \\
        work_dirs/demo/epoch_4.pth tscae_vit-tiny-p4.pth
"""
import argparse
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import tscae_mm  # noqa: F401  (lets torch.load read Runner checkpoints)
from tscae_mm.models.backbones.tscae_vit import PLACEHOLDER_TOKENS


def top_level_prefixes(state_dict: Dict[str, torch.Tensor]) -> List[str]:
    """The distinct first name components, e.g. ``['backbone', 'neck']``."""
    return sorted({key.split('.', 1)[0] for key in state_dict})


def split_backbone(state_dict: Dict[str, torch.Tensor], prefix: str
                   ) -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
    """Keys under ``prefix`` without it, minus placeholder tokens.

    Args:
        state_dict (dict): A model state dict.
        prefix (str): Encoder prefix, e.g. ``'backbone.'``.

    Returns:
        tuple: the backbone state dict and the names of the dropped
        placeholder tokens.

    Raises:
        ValueError: no key starts with ``prefix``.
    """
    backbone = OrderedDict((key[len(prefix):], value)
                           for key, value in state_dict.items()
                           if key.startswith(prefix))
    if not backbone:
        raise ValueError(
            f'no weights under the prefix {prefix!r}: the checkpoint\'s '
            f'top-level names are {top_level_prefixes(state_dict)}. Pass '
            f'--prefix with the one that holds the encoder, or the file is '
            f'already a backbone-only checkpoint.')
    dropped = [name for name in PLACEHOLDER_TOKENS if name in backbone]
    for name in dropped:
        del backbone[name]
    return backbone, dropped


def load_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """The ``state_dict`` of a Runner checkpoint (or a bare state dict)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist.')
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(checkpoint, dict):
        raise TypeError(f'{path} holds a {type(checkpoint).__name__}, not a '
                        'checkpoint dict.')
    return checkpoint.get('state_dict', checkpoint)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Write the encoder of a pre-training checkpoint as a '
        'backbone-only checkpoint.')
    parser.add_argument('checkpoint', help='TSCAE / MAE checkpoint (.pth)')
    parser.add_argument('out', help='backbone checkpoint to write (.pth)')
    parser.add_argument(
        '--prefix',
        default='backbone.',
        help='prefix of the encoder weights (default: %(default)s)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    prefix = args.prefix if args.prefix.endswith('.') else args.prefix + '.'
    try:
        backbone, dropped = split_backbone(
            load_state_dict(args.checkpoint), prefix)
    except (FileNotFoundError, ValueError, TypeError) as error:
        sys.exit(f'extract_backbone: {args.checkpoint}: {error}')
    meta = dict(source=osp.abspath(args.checkpoint), prefix=prefix,
                dropped_keys=dropped)
    torch.save(dict(state_dict=backbone, meta=meta), args.out)
    print(f'Wrote {len(backbone)} backbone tensors to {args.out} '
          f'(dropped {dropped or "nothing"}).')


if __name__ == '__main__':
    main()

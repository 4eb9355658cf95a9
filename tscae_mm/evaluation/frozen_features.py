"""k-NN and linear-probe evaluation of a frozen ViT encoder.

Any checkpoint whose encoder is an mmpretrain ``VisionTransformer`` under the
``backbone.`` prefix works: TSCAE and MAE pre-training checkpoints, image
classifiers, and the backbone-only files of ``tools/extract_backbone.py``.
The encoder is rebuilt from the pre-training config as a plain ViT (the
encoder users transfer) whose output is the global average of the patch
tokens after the final norm (``out_type='avg_featmap'``, as the fine-tuning
recipe pools). Images are only normalised, never augmented.
"""
import logging
import os.path as osp
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import CheckpointLoader

from ..models import TSCAEViT

ENCODER_TYPES = ('TSCAEViT', 'MAEViT', 'VisionTransformer')


class EncoderSpec(NamedTuple):
    """What is needed to rebuild a pre-training config's encoder."""
    arch: object
    img_size: int
    patch_size: int
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]


def encoder_spec(config: str) -> EncoderSpec:
    """Read the encoder and normalisation of a TSCAE / MAE config."""
    cfg = Config.fromfile(config)
    backbone = cfg.model.get('backbone', {})
    if backbone.get('type') not in ENCODER_TYPES:
        raise ValueError(
            f'{config}: model.backbone.type is {backbone.get("type")!r}; '
            f'the frozen evaluation needs one of {ENCODER_TYPES}.')
    pre = cfg.model.get('data_preprocessor') or {}
    if 'mean' not in pre or 'std' not in pre:
        raise ValueError(f'{config}: model.data_preprocessor has no mean / '
                         'std to normalise the images with.')
    if not pre.get('to_rgb', False):
        raise ValueError(
            f'{config}: the evaluation feeds RGB images and needs '
            'model.data_preprocessor.to_rgb=True with RGB mean / std.')
    return EncoderSpec(backbone.get('arch', 'b'), backbone.get('img_size'),
                       backbone.get('patch_size'), tuple(pre['mean']),
                       tuple(pre['std']))


def quiet_init_weights(module) -> None:
    """``module.init_weights()`` without mmengine's log line per
    initialised parameter."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        module.init_weights()
    finally:
        logger.setLevel(level)


def build_encoder(spec: EncoderSpec,
                  checkpoint: Optional[str] = None) -> TSCAEViT:
    """The plain encoder, with the checkpoint's weights or randomly
    initialised (seeded by the caller) when ``checkpoint`` is None.

    Raises:
        KeyError: The checkpoint lacks encoder weights (the missing keys are
            named) or has weights of another shape.
    """
    encoder = TSCAEViT(
        arch=spec.arch,
        img_size=spec.img_size,
        patch_size=spec.patch_size,
        out_type='avg_featmap')
    quiet_init_weights(encoder)
    if checkpoint is not None:
        state = CheckpointLoader.load_checkpoint(
            checkpoint, map_location='cpu')
        state = state.get('state_dict', state)
        prefixes = ('backbone.', 'module.backbone.', '')
        for prefix in prefixes:
            weights = {
                k[len(prefix):]: v
                for k, v in state.items() if k.startswith(prefix)
            }
            if 'patch_embed.projection.weight' in weights:
                break
        else:
            raise KeyError(
                f'{checkpoint} holds no ViT encoder weights (no '
                '"backbone.patch_embed.projection.weight"); give a TSCAE / '
                'MAE pre-training checkpoint, a classifier or a backbone '
                'file of tools/extract_backbone.py.')
        own = encoder.state_dict()
        # the pooled feature's norm (ln2) is new; mask / placeholder tokens
        # and the decoder are pre-training only
        needed = [k for k in own if not k.startswith('ln2.')]
        missing = [k for k in needed if k not in weights]
        shape = [
            f'{k}: checkpoint {tuple(weights[k].shape)}, encoder '
            f'{tuple(own[k].shape)}' for k in needed
            if k in weights and weights[k].shape != own[k].shape
        ]
        if missing or shape:
            raise KeyError(
                f'{checkpoint} does not fit the encoder of the config '
                f'(arch {spec.arch}, {spec.img_size} px, patch '
                f'{spec.patch_size}): missing {missing[:8]}'
                f'{" ..." if len(missing) > 8 else ""}; other shapes '
                f'{shape[:8]}. Pass the config the checkpoint was trained '
                'with.')
        encoder.load_state_dict({k: weights[k] for k in needed}, strict=False)
    encoder.eval()  # mmpretrain's ViT.train() returns None: no chaining
    return encoder


def load_image_list(data_root: str, ann_file: str) -> Tuple[List[str],
                                                            np.ndarray]:
    """Paths and labels of an mmpretrain ann file (``path label`` lines)."""
    paths, labels = [], []
    with open(ann_file) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                raise ValueError(
                    f'{ann_file}:{n}: expected "<relative path> <class '
                    f'index>", got {line.strip()!r}.')
            paths.append(osp.join(data_root, parts[0]))
            labels.append(int(parts[1]))
    return paths, np.asarray(labels, dtype=np.int64)


def _read_rgb(path: str, size: int) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'{path}: cannot be read or decoded as an image; '
                         'remove it from the image list.')
    if img.shape[:2] != (size, size):
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC)
    return img[..., ::-1]


def load_images(spec: EncoderSpec, paths: Sequence[str]) -> torch.Tensor:
    """The images as the encoder takes them: RGB, ``spec.img_size`` square,
    normalised with the config's mean / std; (N, 3, H, W) fp32."""
    batch = np.stack([_read_rgb(p, spec.img_size) for p in paths])
    x = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    return (x - mean) / std


@torch.no_grad()
def extract_features(encoder: TSCAEViT,
                     spec: EncoderSpec,
                     paths: Sequence[str],
                     batch_size: int = 250) -> torch.Tensor:
    """Pooled encoder features of the images, (len(paths), D), fp32."""
    out = []
    for start in range(0, len(paths), batch_size):
        feats = encoder(load_images(spec, paths[start:start + batch_size]))
        out.append(feats[0] if isinstance(feats, tuple) else feats)
    return torch.cat(out).float()


def labelled_features(encoder: TSCAEViT, spec: EncoderSpec, data_root: str,
                      ann_file: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """Features and labels of the images an ann file lists."""
    paths, labels = load_image_list(data_root, ann_file)
    return (extract_features(encoder, spec, paths),
            torch.from_numpy(labels))


def knn_accuracy(train_feats: torch.Tensor,
                 train_labels: torch.Tensor,
                 test_feats: torch.Tensor,
                 test_labels: torch.Tensor,
                 k: int = 20,
                 temperature: float = 0.07,
                 chunk: int = 1000) -> float:
    """Top-1 (%) of a weighted k-NN on cosine similarity (votes weighted by
    exp(similarity / temperature), as in InstDisc / DINO)."""
    if k > len(train_feats):
        raise ValueError(f'k={k} exceeds the {len(train_feats)} training '
                         'features.')
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    bank = F.normalize(train_feats, dim=1)
    correct = 0
    for start in range(0, len(test_feats), chunk):
        query = F.normalize(test_feats[start:start + chunk], dim=1)
        sim, idx = (query @ bank.T).topk(k, dim=1)
        votes = torch.zeros(len(query), num_classes)
        votes.scatter_add_(1, train_labels[idx], (sim / temperature).exp())
        correct += (votes.argmax(1) == test_labels[start:start +
                                                   chunk]).sum().item()
    return 100. * correct / len(test_feats)


def fit_linear_probe(train_feats: torch.Tensor,
                     targets: torch.Tensor,
                     num_outputs: int,
                     loss_fn,
                     weight_decay: float = 1e-4,
                     max_iter: int = 500):
    """A zero-initialised linear layer fitted full-batch with L-BFGS and an
    L2 penalty on standardised features (train-set mean / std, like MAE's
    BatchNorm without affine); deterministic.

    Returns:
        ``(linear, standardise)``: the fitted float64 layer and the function
        that standardises other features as the training ones were.
    """
    mean, std = train_feats.mean(0), train_feats.std(0) + 1e-6

    def standardise(feats: torch.Tensor) -> torch.Tensor:
        return ((feats - mean) / std).double()

    xtr = standardise(train_feats)
    linear = torch.nn.Linear(xtr.shape[1], num_outputs).double()
    torch.nn.init.zeros_(linear.weight)
    torch.nn.init.zeros_(linear.bias)
    optimizer = torch.optim.LBFGS(
        linear.parameters(),
        lr=1.,
        max_iter=max_iter,
        history_size=20,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        line_search_fn='strong_wolfe')

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(linear(xtr), targets) + \
            weight_decay * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return linear, standardise


def linear_probe(train_feats: torch.Tensor,
                 train_labels: torch.Tensor,
                 test_feats: torch.Tensor,
                 test_labels: torch.Tensor,
                 weight_decay: float = 1e-4,
                 max_iter: int = 500) -> float:
    """Top-1 (%) of a multinomial logistic regression on the standardised
    features (:func:`fit_linear_probe`)."""
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    linear, standardise = fit_linear_probe(train_feats, train_labels,
                                           num_classes, F.cross_entropy,
                                           weight_decay, max_iter)
    with torch.no_grad():
        pred = linear(standardise(test_feats)).argmax(1)
    return 100. * (pred == test_labels).float().mean().item()

"""The classes a config names, checked against the annotations it reads.

Without these checks a class list that does not fit the data fails late and
far from its cause: a classification head with fewer outputs than class
folders, or a segmentation mask value beyond the class list, stop the first
step with torch's ``Target 2 is out of bounds``; detection classes that are
not categories of the COCO json leave images without boxes and end in
``need at least one array to concatenate``. Each function here raises
:class:`ClassMismatchError` naming the classes the annotations hold and the
value to set instead. The data sets of the private-data templates
(``configs/benchmarks/custom/``) call them when they are built:
:class:`~tscae_mm.datasets.CheckedCustomDataset` (mmpretrain),
``CheckedCocoDataset`` (mmdet) and ``CheckedSegDataset`` (mmseg).
"""
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np


class ClassMismatchError(ValueError):
    """The config's classes do not fit the annotations."""


def _names(names: Iterable) -> str:
    return ', '.join(repr(str(n)) for n in names)


def _tuple(names: Sequence) -> str:
    names = [str(n) for n in names]
    return '(' + ', '.join(repr(n) for n in names) + \
        (',)' if len(names) == 1 else ')')


def check_folder_classes(dataset: str, classes: Optional[Sequence],
                         folders: Sequence[str], folder: str) -> None:
    """Classes of a one-folder-per-class data set against its folders.

    mmpretrain's ``CustomDataset`` numbers the classes in the order of the
    sorted folder names and only checks that there are as many as
    ``classes``; the names must be those folders, in that order.

    Args:
        dataset: The data set's type, for the message.
        classes: ``metainfo['classes']`` of the config (None: taken from
            the folders, nothing to check).
        folders: The class folders found, sorted.
        folder: The folder searched.

    Raises:
        ClassMismatchError: naming the folders found.
    """
    if classes is None or tuple(classes) == tuple(folders):
        return
    found = (f'{len(folders)} class folder(s) in {folder}: '
             f'{_names(folders)}')
    missing = [c for c in classes if c not in folders]
    extra = [f for f in folders if f not in classes]
    if missing or extra:
        what = []
        if missing:
            what.append(f'no folder for {_names(missing)}')
        if extra:
            what.append(f'folder(s) {_names(extra)} not in classes')
        problem = '; '.join(what)
    else:
        problem = ('the same names in another order (the class index of '
                   'an image follows the sorted folder names)')
    raise ClassMismatchError(
        f'{dataset}: classes {_tuple(classes)} in the config do not match '
        f'the data: {problem}. Found {found}. Fix: set classes = '
        f'{_tuple(folders)} in your config (the EDIT block of the '
        'template), or rename the folders.')


def check_coco_classes(dataset: str, classes: Sequence[str],
                       categories: Sequence[str], ann_file: str) -> None:
    """Classes of a COCO-format detection data set against its json.

    mmdet reads the boxes of the categories named in ``classes`` and
    numbers them in the json's order of categories, whatever the order of
    ``classes``; a class that is not a category has no boxes.

    Args:
        dataset: The data set's type, for the message.
        classes: ``metainfo['classes']`` of the config.
        categories: The category names of the json, in its order.
        ann_file: The json, for the message.

    Raises:
        ClassMismatchError: naming the json's categories.
    """
    classes = tuple(classes)
    in_json = [c for c in categories if c in classes]
    if tuple(in_json) == classes:
        return
    found = (f"The json's {len(categories)} categories, in its order: "
             f'{_names(categories)}.')
    missing = [c for c in classes if c not in categories]
    if missing:
        one = len(missing) == 1
        problem = (f'{_names(missing)} '
                   f'{"is not a category" if one else "are not categories"}'
                   f' of {ann_file}, so {"it has" if one else "they have"} '
                   'no boxes')
        keep = in_json or list(categories)
    else:
        problem = (f'mmdet numbers the classes in the order of the '
                   f"categories of {ann_file}, {_tuple(in_json)}, so results "
                   'would carry the wrong names')
        keep = in_json
    raise ClassMismatchError(
        f'{dataset}: classes {_tuple(classes)} in the config do not match '
        f'the annotations: {problem}. {found} Fix: set classes to the '
        "categories to train on, in the json's order, e.g. classes = "
        f'{_tuple(keep)} (the EDIT block of the template).')


def mask_values(mask: np.ndarray, reduce_zero_label: bool = False,
                label_map: Optional[Mapping[int, int]] = None) -> np.ndarray:
    """The class indices a label mask holds, as mmseg's ``LoadAnnotations``
    turns its pixels into targets (``reduce_zero_label``: 0 is ignored and
    the others shift down by one; ``label_map``: old -> new index)."""
    values = np.unique(mask).astype(np.int64)
    if reduce_zero_label:
        values = np.where(values == 0, 255, values - 1)
        values = np.where(values == 254, 255, values)
    if label_map:
        values = np.array([label_map.get(int(v), int(v)) for v in values])
    return np.unique(values)


def check_mask_values(dataset: str, classes: Sequence[str],
                      values_by_file: Mapping[str, np.ndarray],
                      ignore_index: int = 255,
                      checked: Optional[str] = None) -> None:
    """Class indices of segmentation masks against the class list.

    Args:
        dataset: The data set's type, for the message.
        classes: ``metainfo['classes']``: index ``i`` is ``classes[i]``.
        values_by_file: The indices each mask holds (:func:`mask_values`).
        ignore_index: The index that marks pixels to ignore.
        checked: What was checked (e.g. '40 of 1000 masks'), for the
            message; defaults to the number of masks.

    Raises:
        ClassMismatchError: naming the values found and the files that
            hold the ones beyond the class list.
    """
    limit = len(classes)
    bad = {
        path: [int(v) for v in values
               if (v >= limit and v != ignore_index) or v < 0]
        for path, values in values_by_file.items()
    }
    bad = {path: values for path, values in bad.items() if values}
    if not bad:
        return
    found = sorted({int(v) for values in values_by_file.values()
                    for v in values})
    highest = max(v for values in bad.values() for v in values)
    files = '; '.join(f'{path}: {", ".join(map(str, values))}'
                      for path, values in list(bad.items())[:5])
    more = f' (and {len(bad) - 5} more masks)' if len(bad) > 5 else ''
    checked = checked or f'{len(values_by_file)} mask(s)'
    raise ClassMismatchError(
        f'{dataset}: the masks hold class indices beyond the '
        f'{limit} classes of the config {_tuple(classes)} (indices 0 .. '
        f'{limit - 1}; {ignore_index} is ignored). Values found in '
        f'{checked}: {", ".join(map(str, found))}. Masks with values out of '
        f'range: {files}{more}. Fix: list one class per index in classes '
        f'(at least {highest + 1} names, index 0 first, with a palette '
        f'colour each), or set those pixels to {ignore_index} in the masks '
        'to ignore them. A mask pixel holds its class index (a '
        'single-channel or palette PNG, not colours).')


def check_mask_channels(dataset: str, path: str, mask: np.ndarray) -> None:
    """A label mask must have one channel (a class index per pixel).

    Raises:
        ClassMismatchError: the mask has colour channels.
    """
    if mask.ndim == 2:
        return
    raise ClassMismatchError(
        f'{dataset}: mask {path} has {mask.shape[-1]} channels (shape '
        f'{tuple(mask.shape)}); a mask pixel holds its class index. Save '
        "the masks as single-channel ('L') or palette ('P') PNGs whose "
        'values are the indices of classes (255: ignore), not as colour '
        'images.')

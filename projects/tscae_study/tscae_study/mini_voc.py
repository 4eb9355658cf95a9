"""A small Pascal VOC devkit written from real photos, with exact labels
(``tools/make_mini_voc.py`` is its command line).

Every image is a photo of a class that VOC does not annotate, up-scaled as the
background, with one to ``--max-objects`` object photos of classes VOC does
have pasted on it, each through an elliptical mask, without overlaps. The
pasted pixels are the object's segmentation mask and its bounding box is the
mask's extent, so every label is exact.

The evaluation images never show a photo that a training image shows: the
photos are split into three disjoint parts, one for VOC2007 test (the
detection and classification test set), one for VOC2012 val (the
segmentation validation set) and one for all the training splits (VOC2007
trainval, VOC2012 train; detection also trains on VOC2012 val, which shows
no VOC2007 test photo), each part sized by its number of images.

The photos come from one of (exactly one is required; nothing is read from
outside the paths given):

- ``--cifar-python DIR``: the standard CIFAR-10 python batches, the
  ``cifar-10-batches-py`` folder of
  https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (``tar xzf`` it;
  ``torchvision.datasets.CIFAR10(root, download=True)`` writes the same
  folder). Its ``test_batch`` is read.
- ``--images DIR``: any folder with one sub-folder of images per class.
  Sub-folders named after a VOC class (``cat``, ``aeroplane``, ...) or a
  CIFAR-10 class that maps to one (below) are pasted as objects of that
  class; every other sub-folder (e.g. ``backgrounds/``) serves as
  backgrounds, so it should hold no VOC objects. Objects are centre-cropped
  to squares. An extracted CIFAR-10 JPEG split (``cifar10/test``) works too.
- ``--cifar-archive FILE``: a ``tar.gz`` of ``cifar10/{train,test}/<class>/
  <n>.jpg`` (the test split is read as a stream; nothing is extracted).

The CIFAR-10 to VOC class map:

    airplane -> aeroplane, automobile -> car, bird -> bird, cat -> cat,
    dog -> dog, horse -> horse, ship -> boat;
    deer, frog: no VOC class; truck: VOC's car and bus exclude lorries;
    these three are used only as backgrounds (unlabelled, as VOC would).

Layout written under OUT (use OUT = data/VOCdevkit for the benchmark
configs' default paths)::

    OUT/VOC2007/JPEGImages/000001.jpg ...
    OUT/VOC2007/Annotations/000001.xml ...          (VOC XML, 1-based boxes)
    OUT/VOC2007/SegmentationClass/000001.png ...    (palette PNG, 255 border)
    OUT/VOC2007/ImageSets/Main/{train,val,trainval,test}.txt
    OUT/VOC2007/ImageSets/Main/<class>_<split>.txt  (1 / -1 per image)
    OUT/VOC2007/ImageSets/Segmentation/{train,val,trainval,test}.txt
    OUT/VOC2012/... the same without test, with 2012_000001 ids, plus
    OUT/VOC2012/SegmentationClassAug/*.png          (label PNG, no border)
    OUT/VOC2012/ImageSets/Segmentation/aug.txt      (train ids)

Example::

    curl -LO https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz
    tar xzf cifar-10-python.tar.gz
    python tools/make_mini_voc.py data/VOCdevkit \
        --cifar-python cifar-10-batches-py --trainval 40 --test 20
"""
import argparse
import pickle
import random
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CIFAR_PYTHON_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.tif', '.tiff',
                  '.webp')
VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus',
               'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse',
               'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
               'train', 'tvmonitor')
CIFAR_TO_VOC = {
    'airplane': 'aeroplane',
    'automobile': 'car',
    'bird': 'bird',
    'cat': 'cat',
    'dog': 'dog',
    'horse': 'horse',
    'ship': 'boat',
}
BACKGROUND_CLASSES = ('deer', 'frog', 'truck')
# What the CIFAR-10 batches pickle holds: numpy arrays, nothing else (and
# the bytes encoding of protocol-2 pickles written by Python 3).
CIFAR_PICKLE_GLOBALS = {
    ('numpy', 'ndarray'), ('numpy', 'dtype'), ('_codecs', 'encode'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.numeric', '_frombuffer'),
    ('numpy._core.numeric', '_frombuffer'),
}
VOID_LABEL = 255
VOID_BORDER_PX = 2
PLACEMENT_TRIES = 50


@dataclass
class PastedObject:
    """One pasted object: its VOC class and its exact pixel mask.

    Attributes:
        name (str): VOC class name.
        mask (np.ndarray): Bool (H, W), True on the object's pixels.
    """
    name: str
    mask: np.ndarray

    def box(self) -> Tuple[int, int, int, int]:
        """VOC box of the mask: 1-based inclusive (xmin, ymin, xmax, ymax)."""
        rows = np.flatnonzero(self.mask.any(axis=1))
        cols = np.flatnonzero(self.mask.any(axis=0))
        return (int(cols[0]) + 1, int(rows[0]) + 1, int(cols[-1]) + 1,
                int(rows[-1]) + 1)


def voc_palette() -> List[int]:
    """The 256-entry Pascal VOC colour map, flat [r0, g0, b0, r1, ...]."""
    palette = []
    for label in range(256):
        red = green = blue = 0
        code = label
        for bit in range(8):
            red |= ((code >> 0) & 1) << (7 - bit)
            green |= ((code >> 1) & 1) << (7 - bit)
            blue |= ((code >> 2) & 1) << (7 - bit)
            code >>= 3
        palette += [red, green, blue]
    return palette


@dataclass
class ImagePool:
    """The photos a devkit is made of.

    Attributes:
        objects (dict): Source class name -> (VOC class, RGB images).
        backgrounds (dict): Source class name -> RGB images (no VOC class).
    """
    objects: Dict[str, Tuple[str, List[Image.Image]]]
    backgrounds: Dict[str, List[Image.Image]]

    def split(self, shares: Sequence[int]) -> List['ImagePool']:
        """Disjoint pools, the photos of every class divided in proportion
        to ``shares`` (e.g. the numbers of images each pool will make).

        Raises:
            SourceError: A class has fewer photos than there are shares.
        """
        def cut(name: str, images: List[Image.Image]):
            if len(images) < len(shares):
                raise SourceError(
                    f'class {name} has {len(images)} photos; the evaluation '
                    f'splits need their own ({len(shares)} disjoint parts): '
                    'add photos of it.')
            total, bounds, running = sum(shares), [0], 0
            for share in shares:
                running += share
                bounds.append(round(len(images) * running / total))
            # every part at least one photo
            for i in range(1, len(bounds)):
                bounds[i] = min(max(bounds[i], bounds[i - 1] + 1),
                                len(images) - (len(bounds) - 1 - i))
            return [images[a:b] for a, b in zip(bounds, bounds[1:])]

        objects = {name: cut(name, images)
                   for name, (_, images) in self.objects.items()}
        backgrounds = {name: cut(name, images)
                       for name, images in self.backgrounds.items()}
        return [
            ImagePool(
                {name: (voc, objects[name][i])
                 for name, (voc, _) in self.objects.items()},
                {name: parts[i] for name, parts in backgrounds.items()})
            for i in range(len(shares))
        ]


class SourceError(ValueError):
    """Input photos that cannot make a devkit."""


def voc_class_of(name: str) -> Optional[str]:
    """The VOC class a folder / CIFAR-10 class name stands for, or None."""
    name = name.lower()
    if name in VOC_CLASSES:
        return name
    return CIFAR_TO_VOC.get(name)


def split_pool(per_class_images: Dict[str, List[Image.Image]],
               source: str) -> ImagePool:
    """Objects (classes that name a VOC class) and backgrounds (the rest).

    Raises:
        SourceError: No object class or no background class.
    """
    objects = {
        name: (voc_class_of(name), images)
        for name, images in per_class_images.items() if voc_class_of(name)
    }
    backgrounds = {
        name: images
        for name, images in per_class_images.items()
        if not voc_class_of(name)
    }
    if not objects or not backgrounds:
        raise SourceError(
            f'{source} has classes {sorted(per_class_images)}: it needs at '
            'least one class named after a VOC class (objects to paste, '
            f'e.g. cat, dog, aeroplane; VOC classes: {", ".join(VOC_CLASSES)}'
            '; or the CIFAR-10 names airplane, automobile, ship) and at '
            'least one other class (backgrounds without VOC objects).')
    return ImagePool(objects, backgrounds)


def check_per_class(per_class_images: Dict[str, List[Image.Image]],
                    per_class: int, source: str) -> None:
    """Refuse classes with fewer than ``per_class`` images.

    Raises:
        SourceError: Naming the classes that are short, and their counts.
    """
    short = {name: len(images) for name, images in per_class_images.items()
             if len(images) < per_class}
    if short:
        raise SourceError(
            f'{source} has fewer than {per_class} images for {short}; add '
            'images, or ask for fewer (--trainval, --test, --max-objects).')


def read_image_folder(root: Path, per_class: int) -> ImagePool:
    """Up to ``per_class`` images of each class sub-folder of ``root``.

    Args:
        root (Path): A folder of ``<class>/<image>`` files.
        per_class (int): Images to keep per class (in file-name order).

    Raises:
        SourceError: ``root`` is no folder, a class is short of images, an
            image cannot be read, or objects or backgrounds are missing.
    """
    if not root.is_dir():
        raise SourceError(f'--images {root}: no such folder.')
    per_class_images = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(p for p in folder.iterdir()
                       if p.suffix.lower() in IMAGE_SUFFIXES)
        per_class_images[folder.name] = [
            read_rgb(path) for path in files[:per_class]
        ]
    if not per_class_images:
        raise SourceError(f'--images {root} has no class sub-folders; put '
                          'the images in <class name>/ sub-folders.')
    check_per_class(per_class_images, per_class, f'--images {root}')
    return split_pool(per_class_images, f'--images {root}')


def read_rgb(path: Path) -> Image.Image:
    """An image file as RGB; a square centre crop happens when pasting."""
    try:
        with Image.open(path) as image:
            return image.convert('RGB')
    except OSError as error:
        raise SourceError(f'cannot read image {path}: {error}') from error


class CifarUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR-10 batches; refuses anything but numpy arrays."""

    def find_class(self, module: str, name: str):
        if (module, name) not in CIFAR_PICKLE_GLOBALS:
            raise SourceError(
                f'the CIFAR-10 batch file holds {module}.{name}, which a '
                'CIFAR-10 python batch does not: refusing to unpickle it.')
        return super().find_class(module, name)


def unpickle_cifar(path: Path) -> dict:
    """A CIFAR-10 python batch file (pickled by Python 2) as a dict with str
    keys."""
    with open(path, 'rb') as file:
        content = CifarUnpickler(file, encoding='bytes').load()
    return {
        key.decode() if isinstance(key, bytes) else key: value
        for key, value in content.items()
    }


def read_cifar_python(root: Path, per_class: int) -> ImagePool:
    """Up to ``per_class`` images of each class from ``test_batch``.

    Args:
        root (Path): The ``cifar-10-batches-py`` folder (``batches.meta``,
            ``test_batch``).
        per_class (int): Images to keep per class.

    Raises:
        SourceError: The folder or its files are missing, or too few images.
    """
    needed = [root / 'batches.meta', root / 'test_batch']
    missing = [path.name for path in needed if not path.is_file()]
    if missing:
        raise SourceError(
            f'--cifar-python {root}: {", ".join(missing)} not found. It must '
            'be the cifar-10-batches-py folder of the CIFAR-10 python '
            f'version: download {CIFAR_PYTHON_URL} and run tar xzf on it.')
    names = [
        name.decode() if isinstance(name, bytes) else name
        for name in unpickle_cifar(needed[0])['label_names']
    ]
    batch = unpickle_cifar(needed[1])
    pixels = np.asarray(batch['data'], dtype=np.uint8).reshape(-1, 3, 32, 32)
    per_class_images: Dict[str, List[Image.Image]] = {
        name: [] for name in names
    }
    for label, chw in zip(batch['labels'], pixels):
        images = per_class_images[names[label]]
        if len(images) < per_class:
            images.append(Image.fromarray(chw.transpose(1, 2, 0), 'RGB'))
    wanted = {name: images for name, images in per_class_images.items()
              if name in CIFAR_TO_VOC or name in BACKGROUND_CLASSES}
    check_per_class(wanted, per_class, f'--cifar-python {root}')
    return cifar_pool(wanted)


def cifar_pool(per_class_images: Dict[str, List[Image.Image]]) -> ImagePool:
    """CIFAR-10's classes as objects (the map above) and backgrounds
    (deer, frog, truck)."""
    return ImagePool(
        objects={name: (CIFAR_TO_VOC[name], per_class_images[name])
                 for name in CIFAR_TO_VOC},
        backgrounds={name: per_class_images[name]
                     for name in BACKGROUND_CLASSES})


def read_cifar_archive(archive: Path, per_class: int) -> ImagePool:
    """Read up to ``per_class`` test images of each CIFAR-10 class.

    Args:
        archive (Path): A ``tar.gz`` with members
            ``cifar10/{train,test}/<class>/<n>.jpg``.
        per_class (int): Images to keep per class.

    Raises:
        SourceError: No such file, or too few images.
    """
    if not archive.is_file():
        raise SourceError(f'--cifar-archive {archive}: no such file.')
    wanted = set(CIFAR_TO_VOC) | set(BACKGROUND_CLASSES)
    pool: Dict[str, List[Image.Image]] = {name: [] for name in wanted}
    with tarfile.open(archive, 'r|gz') as stream:
        for member in stream:
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) != 4 or parts[1] != 'test':
                continue
            images = pool.get(parts[2])
            if images is None or len(images) >= per_class:
                continue
            data = stream.extractfile(member).read()
            images.append(Image.open(BytesIO(data)).convert('RGB'))
            if all(len(images) >= per_class for images in pool.values()):
                break
    check_per_class(pool, per_class,
                    f'--cifar-archive {archive} (a CIFAR-10 JPEG archive?)')
    return cifar_pool(pool)


def read_pool(args: argparse.Namespace, per_class: int) -> ImagePool:
    """The photos from whichever source the command line names."""
    if args.images is not None:
        return read_image_folder(args.images, per_class)
    if args.cifar_python is not None:
        return read_cifar_python(args.cifar_python, per_class)
    return read_cifar_archive(args.cifar_archive, per_class)


def square(image: Image.Image) -> Image.Image:
    """The largest centred square of ``image``."""
    side = min(image.size)
    left = (image.width - side) // 2
    top = (image.height - side) // 2
    return image.crop((left, top, left + side, top + side))


def ellipse_mask(size: int) -> Image.Image:
    """An L-mode ``size`` x ``size`` mask, 255 inside the inscribed ellipse."""
    mask = Image.new('L', (size, size), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size - 1, size - 1), fill=255)
    return mask


def find_free_spot(rng: random.Random, occupied: np.ndarray,
                   size: int) -> Optional[Tuple[int, int]]:
    """A top-left corner where a ``size`` square (plus the void border)
    overlaps no occupied pixel, or None after :data:`PLACEMENT_TRIES`."""
    height, width = occupied.shape
    margin = VOID_BORDER_PX + 1
    for _ in range(PLACEMENT_TRIES):
        left = rng.randint(0, width - size)
        top = rng.randint(0, height - size)
        window = occupied[max(top - margin, 0):top + size + margin,
                          max(left - margin, 0):left + size + margin]
        if not window.any():
            return left, top
    return None


def compose_image(rng: random.Random, pool: ImagePool,
                  image_size: Tuple[int, int], object_sizes: Tuple[int, int],
                  max_objects: int
                  ) -> Tuple[Image.Image, List[PastedObject]]:
    """Paste 1..max_objects CIFAR objects on an up-scaled CIFAR background.

    Args:
        rng (random.Random): Source of every random choice.
        pool (ImagePool): Objects and backgrounds to draw from.
        image_size (tuple[int, int]): (width, height) of the image.
        object_sizes (tuple[int, int]): Smallest and largest object side.
        max_objects (int): Most objects per image (at least one is placed).

    Returns:
        tuple: the RGB image and its pasted objects (non-overlapping).
    """
    width, height = image_size
    background = rng.choice(pool.backgrounds[rng.choice(
        list(pool.backgrounds))])
    image = background.resize((width, height), Image.BILINEAR)
    occupied = np.zeros((height, width), dtype=bool)
    objects = []
    for _ in range(rng.randint(1, max_objects)):
        size = rng.randint(*object_sizes)
        spot = find_free_spot(rng, occupied, size)
        if spot is None:
            continue
        voc_name, images = pool.objects[rng.choice(sorted(pool.objects))]
        patch = square(rng.choice(images)).resize((size, size),
                                                  Image.BICUBIC)
        alpha = ellipse_mask(size)
        image.paste(patch, spot, alpha)
        mask = np.zeros((height, width), dtype=bool)
        left, top = spot
        mask[top:top + size, left:left + size] = np.asarray(alpha) > 0
        occupied |= mask
        objects.append(PastedObject(voc_name, mask))
    if not objects:
        raise ValueError(f'no object of {object_sizes} px fits a '
                         f'{width}x{height} image; lower --object-size.')
    return image, objects


def label_map(objects: Sequence[PastedObject], shape: Tuple[int, int],
              void_border: bool) -> np.ndarray:
    """uint8 (H, W) class indices (0 background), optionally with VOC's
    255 'void' band around each object."""
    labels = np.zeros(shape, dtype=np.uint8)
    for obj in objects:
        if void_border:
            grown = Image.fromarray(obj.mask.astype(np.uint8) * 255).filter(
                ImageFilter.MaxFilter(2 * VOID_BORDER_PX + 1))
            labels[np.asarray(grown) > 0] = VOID_LABEL
    for obj in objects:
        labels[obj.mask] = VOC_CLASSES.index(obj.name) + 1
    return labels


def annotation_xml(year: str, image_id: str, image_size: Tuple[int, int],
                   objects: Sequence[PastedObject]) -> ET.ElementTree:
    """The VOC XML annotation of one image."""
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = f'VOC{year}'
    ET.SubElement(root, 'filename').text = f'{image_id}.jpg'
    source = ET.SubElement(root, 'source')
    ET.SubElement(source, 'database').text = 'tscae_mm mini VOC (CIFAR-10)'
    size = ET.SubElement(root, 'size')
    ET.SubElement(size, 'width').text = str(image_size[0])
    ET.SubElement(size, 'height').text = str(image_size[1])
    ET.SubElement(size, 'depth').text = '3'
    ET.SubElement(root, 'segmented').text = '1'
    for obj in objects:
        node = ET.SubElement(root, 'object')
        ET.SubElement(node, 'name').text = obj.name
        ET.SubElement(node, 'pose').text = 'Unspecified'
        ET.SubElement(node, 'truncated').text = '0'
        ET.SubElement(node, 'difficult').text = '0'
        box = ET.SubElement(node, 'bndbox')
        for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), obj.box()):
            ET.SubElement(box, key).text = str(value)
    ET.indent(root)
    return ET.ElementTree(root)


def write_id_list(path: Path, ids: Sequence[str]) -> None:
    """One image id per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(f'{image_id}\n' for image_id in ids))


def write_class_lists(main_dir: Path, split: str, ids: Sequence[str],
                      names_per_image: Dict[str, set]) -> None:
    """VOC's per-class split files: ``<id> 1`` if present, else ``<id> -1``.
    """
    for name in VOC_CLASSES:
        lines = [
            f'{image_id} {1 if name in names_per_image[image_id] else -1:2d}'
            for image_id in ids
        ]
        (main_dir / f'{name}_{split}.txt').write_text('\n'.join(lines) +
                                                      '\n')


def write_sample(year_dir: Path, image_id: str, image: Image.Image,
                 objects: Sequence[PastedObject], with_aug: bool) -> None:
    """Write one image with its XML, its palette mask and, for VOC2012, its
    SegmentationClassAug label mask (no void border, as SBD's)."""
    image.save(year_dir / 'JPEGImages' / f'{image_id}.jpg', quality=95)
    annotation_xml(year_dir.name[3:], image_id, image.size, objects).write(
        year_dir / 'Annotations' / f'{image_id}.xml')
    shape = (image.height, image.width)
    labels = Image.fromarray(label_map(objects, shape, True), 'P')
    labels.putpalette(voc_palette())
    labels.save(year_dir / 'SegmentationClass' / f'{image_id}.png')
    if with_aug:
        Image.fromarray(label_map(objects, shape, False), 'L').save(
            year_dir / 'SegmentationClassAug' / f'{image_id}.png')


def write_image_sets(year_dir: Path, ids_per_split: Dict[str, List[str]],
                     names_per_image: Dict[str, set]) -> None:
    """ImageSets/Main and ImageSets/Segmentation split lists, the per-class
    lists, and VOC2012's aug.txt (its train ids)."""
    ids_per_split['trainval'] = ids_per_split['train'] + ids_per_split['val']
    for split, ids in ids_per_split.items():
        for task in ('Main', 'Segmentation'):
            write_id_list(year_dir / 'ImageSets' / task / f'{split}.txt', ids)
        write_class_lists(year_dir / 'ImageSets' / 'Main', split, ids,
                          names_per_image)
    if (year_dir / 'SegmentationClassAug').is_dir():
        write_id_list(year_dir / 'ImageSets' / 'Segmentation' / 'aug.txt',
                      ids_per_split['train'])


def write_year(root: Path, year: str,
               splits: Dict[str, Tuple[int, ImagePool]], rng: random.Random,
               image_size: Tuple[int, int], object_size: Tuple[int, int],
               max_objects: int) -> None:
    """Write one VOC<year> folder.

    Args:
        root (Path): The VOCdevkit folder.
        year (str): ``'2007'`` or ``'2012'`` (which also gets
            SegmentationClassAug).
        splits (dict): Split name -> (number of images, the photos they are
            made of); ``train`` and ``val`` make ``trainval``.
        rng (random.Random): Source of every random choice.
        image_size, object_size, max_objects: As :func:`write_devkit`.
    """
    year_dir = root / f'VOC{year}'
    with_aug = year == '2012'
    folders = ['JPEGImages', 'Annotations', 'SegmentationClass']
    if with_aug:
        folders.append('SegmentationClassAug')
    for folder in folders:
        (year_dir / folder).mkdir(parents=True, exist_ok=True)
    id_format = '{:06d}' if year == '2007' else '2012_{:06d}'
    ids_per_split: Dict[str, List[str]] = {split: [] for split in splits}
    names_per_image: Dict[str, set] = {}
    for split, (count, pool) in splits.items():
        for _ in range(count):
            image_id = id_format.format(len(names_per_image) + 1)
            image, objects = compose_image(rng, pool, image_size,
                                           object_size, max_objects)
            write_sample(year_dir, image_id, image, objects, with_aug)
            ids_per_split[split].append(image_id)
            names_per_image[image_id] = {obj.name for obj in objects}
    write_image_sets(year_dir, ids_per_split, names_per_image)


def write_devkit(out: Path, pool: ImagePool, trainval: int, test: int,
                 image_size: Tuple[int, int] = (96, 72),
                 object_size: Tuple[int, int] = (36, 56),
                 max_objects: int = 3, seed: int = 0) -> None:
    """Write VOC2007 (``trainval`` images, half train, half val, and
    ``test``) and VOC2012 (``trainval``, half train, half val) under ``out``.

    VOC2007 test and VOC2012 val are made of photos that no other split
    uses (the module's docstring).

    Args:
        out (Path): The VOCdevkit folder to write.
        pool (ImagePool): The photos.
        trainval (int): Trainval images per year.
        test (int): VOC2007 test images.
        image_size (tuple[int, int]): (width, height) of every image.
        object_size (tuple[int, int]): Smallest and largest object side.
        max_objects (int): Most objects per image.
        seed (int): Seed of every random choice.
    """
    train = trainval // 2
    val = trainval - train
    training, test_pool, val_pool = pool.split([2 * train + val, test, val])
    rng = random.Random(seed)
    options = (tuple(image_size), tuple(object_size), max_objects)
    write_year(out, '2007', dict(train=(train, training),
                                 val=(val, training),
                                 test=(test, test_pool)), rng, *options)
    write_year(out, '2012', dict(train=(train, training),
                                 val=(val, val_pool)), rng, *options)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Write a mini Pascal VOC devkit (VOC2007 + VOC2012) '
        'from object and background photos (CIFAR-10 or a folder of your '
        'own) with exact boxes and masks.')
    parser.add_argument('out', type=Path, help='VOCdevkit folder to write')
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        '--cifar-python', type=Path, metavar='DIR',
        help='the cifar-10-batches-py folder of the CIFAR-10 python version '
        f'({CIFAR_PYTHON_URL}, extracted)')
    source.add_argument(
        '--images', type=Path, metavar='DIR',
        help='a folder with one sub-folder of images per class: VOC (or '
        'CIFAR-10) class names are pasted as objects, other sub-folders are '
        'backgrounds')
    source.add_argument(
        '--cifar-archive', type=Path, metavar='FILE',
        help='a tar.gz of cifar10/{train,test}/<class>/<n>.jpg')
    parser.add_argument('--trainval', type=int, default=24,
                        help='trainval images per year, half train, half '
                        'val (default: %(default)s)')
    parser.add_argument('--test', type=int, default=16,
                        help='VOC2007 test images (default: %(default)s)')
    parser.add_argument('--image-size', type=int, nargs=2, default=(96, 72),
                        metavar=('WIDTH', 'HEIGHT'),
                        help='image size (default: %(default)s)')
    parser.add_argument('--object-size', type=int, nargs=2, default=(36, 56),
                        metavar=('MIN', 'MAX'),
                        help='object side range in px; keep MIN > 32, the '
                        'VOC configs ignore boxes under 32 px for training '
                        '(default: %(default)s)')
    parser.add_argument('--max-objects', type=int, default=3,
                        help='most objects per image (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    check_args(args, parser)
    return args


def check_args(args: argparse.Namespace,
               parser: argparse.ArgumentParser) -> None:
    """Refuse a missing photo source, and sizes and counts that cannot
    make a devkit."""
    if (args.images, args.cifar_python, args.cifar_archive) == (None, ) * 3:
        parser.error(
            'say where the photos come from: --cifar-python DIR (the '
            'cifar-10-batches-py folder: download '
            f'{CIFAR_PYTHON_URL} and tar xzf it), --images DIR (one '
            'sub-folder of images per class; VOC class names are pasted as '
            'objects, other sub-folders are backgrounds) or --cifar-archive '
            'FILE (a tar.gz of cifar10/{train,test}/<class>/<n>.jpg).')
    width, height = args.image_size
    smallest, largest = args.object_size
    if args.trainval < 2 or args.test < 1:
        parser.error('--trainval needs at least 2 images (train and val) '
                     'and --test at least 1.')
    if not 0 < smallest <= largest <= min(width, height):
        parser.error(f'--object-size {smallest} {largest} must satisfy 0 < '
                     f'MIN <= MAX <= min(--image-size) = '
                     f'{min(width, height)}.')
    if args.max_objects < 1:
        parser.error('--max-objects must be at least 1.')


def main(argv=None) -> None:
    """``tools/make_mini_voc.py``: parse ``argv``, read the photos, write
    the devkit."""
    args = parse_args(argv)
    total = 2 * args.trainval + args.test
    try:
        pool = read_pool(args, per_class=min(total * args.max_objects, 1000))
        write_devkit(args.out, pool, args.trainval, args.test,
                     args.image_size, args.object_size, args.max_objects,
                     args.seed)
    except SourceError as error:
        raise SystemExit(f'make_mini_voc.py: error: {error}') from error
    print(f'Wrote a mini VOCdevkit to {args.out}: VOC2007 '
          f'{args.trainval} trainval + {args.test} test, VOC2012 '
          f'{args.trainval} trainval images of '
          f'{args.image_size[0]}x{args.image_size[1]} px; VOC2007 test and '
          'VOC2012 val show photos of their own.')

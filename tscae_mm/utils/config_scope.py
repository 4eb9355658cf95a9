"""``tscae_mm::<path>`` config names, resolved only where a caller asks.

A config may name a base by its path under the configs/ folder that tscae_mm
ships, ``_base_ = 'tscae_mm::tscae/tscae_vit-tiny-p4_demo.py'``, in code that
calls :func:`enable` (or runs inside ``with enabled():``) before
``Config.fromfile``. Our ``tools/train.py`` and ``tools/test.py`` do; nothing
else changes MMEngine: importing tscae_mm does not, and nothing of ours runs
when an interpreter starts.

The toolboxes' own ``tools/train.py`` (mmpretrain's, mmdet's, mmseg's) and
``mim train`` parse the config before they import anything of ours, so there
a config inherits ours by path, which MMEngine resolves as shipped, e.g. ::

    _base_ = ('{{$TSCAE_MM_CONFIGS:/path/to/tscae_mm/configs}}'
              '/tscae/tscae_vit-tiny-p4_demo.py')

MMEngine substitutes the environment variable (or the default after the
colon) before it reads the bases. ``python -m tscae_mm.utils.config_scope``
prints the folder to set it to (:func:`configs_dir`).
"""
import contextlib
import copy
import difflib
import functools
import inspect
import os
import os.path as osp
import warnings

PREFIX = 'tscae_mm::'
# the environment variable the README's path bases read
CONFIGS_ENV = 'TSCAE_MM_CONFIGS'
# MMEngine releases whose private ``Config._get_cfg_path(cfg_path, filename)
# -> (path, scope)`` :func:`enable` wraps; others keep their own
SUPPORTED_MMENGINE = '0.10'

# MMEngine's own ``Config._get_cfg_path`` while ours stands in for it
_mmengine_get_cfg_path = None


class ConfigNotShipped(FileNotFoundError):
    """A ``tscae_mm::<path>`` name that names no config tscae_mm ships."""


def configs_dir() -> str:
    """The configs folder of this tscae_mm: ``.mim/configs`` in the package
    (a link to the checkout's configs/ for an editable install, a copy in a
    wheel), with links resolved."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    return osp.realpath(osp.join(package, '.mim', 'configs'))


def shipped_configs() -> list:
    """The config paths, relative to :func:`configs_dir`, sorted."""
    root = configs_dir()
    return sorted(
        osp.relpath(osp.join(folder, name), root)
        for folder, _, names in os.walk(root) for name in names
        if name.endswith('.py'))


def config_path(name: str) -> str:
    """The file that ``tscae_mm::<path>`` names: ``<path>`` under
    :func:`configs_dir`.

    Raises:
        ConfigNotShipped: there is no such config; the message lists the
            closest names.
    """
    relative = name[len(PREFIX):] if name.startswith(PREFIX) else name
    path = osp.join(configs_dir(), relative)
    if osp.isfile(path):
        return path
    close = difflib.get_close_matches(relative, shipped_configs(), n=3)
    hint = f' Close names: {", ".join(close)}.' if close else ''
    raise ConfigNotShipped(
        f'{name}: tscae_mm ships no config {relative!r} (looked in '
        f'{configs_dir()}).{hint} The names are paths under configs/ of the '
        'checkout, e.g. tscae_mm::tscae/tscae_vit-tiny-p4_demo.py.')


def toolbox_bases(path: str) -> dict:
    """What the toolboxes' configs that the config at ``path`` inherits
    (``mmpretrain::``, ``mmdet::``, ``mmseg::`` bases anywhere in its
    chain) set, merged: the values it has from a toolbox unless it sets
    them itself."""
    found = {}
    for base in _base_names(path):
        if '::' in base and not base.startswith(PREFIX):
            _merge(found, copy.deepcopy(_toolbox_config(base)))
        else:
            if base.startswith(PREFIX):
                base = config_path(base)
            else:
                base = osp.join(osp.dirname(path), base)
            _merge(found, toolbox_bases(base))
    return found


@functools.lru_cache(maxsize=None)
def _toolbox_config(name: str) -> dict:
    """A toolbox's config, ``mmdet::<path>``, resolved (parsed once)."""
    from mmengine.hub import get_config
    return get_config(name).to_dict()


def own_settings(cfg: dict, toolbox: dict) -> dict:
    """The part of a resolved config (``cfg``, ``Config.to_dict()``) that
    differs from what its toolbox bases set (``toolbox``,
    :func:`toolbox_bases`): the keys our configs, or the run's options,
    set. A record of it holds what a run chose, and stays valid when a
    toolbox release changes a default the config does not touch. The
    ``_scope_`` keys MMEngine adds to what a config inherits from a toolbox
    are left out: they name the toolbox, not a setting."""
    own = _difference(_without_scope(cfg), toolbox)
    return {} if own is _SAME else own


_SAME = object()


def _without_scope(value):
    if isinstance(value, dict):
        return {k: _without_scope(v) for k, v in value.items()
                if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_scope(v) for v in value)
    return value


def _difference(value, default):
    if not (isinstance(value, dict) and isinstance(default, dict)):
        return _SAME if value == default else value
    changed = {}
    for key, item in value.items():
        if key not in default:
            changed[key] = item
            continue
        difference = _difference(item, default[key])
        if difference is not _SAME:
            changed[key] = difference
    return changed if changed else _SAME


def _merge(into: dict, other: dict) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _base_names(path: str) -> list:
    """The ``_base_`` names of a config file, environment variables in them
    substituted as MMEngine substitutes them (``{{$NAME:default}}``)."""
    import ast
    import re
    with open(path, encoding='utf-8') as f:
        text = f.read()
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and any(
                getattr(target, 'id', None) == '_base_'
                for target in node.targets):
            names = ast.literal_eval(node.value)
            names = [names] if isinstance(names, str) else list(names)
            return [
                re.sub(r'\{\{\s*\$(\w+)\s*:\s*(\S*?)\s*\}\}',
                       lambda m: os.environ.get(m.group(1), m.group(2)), name)
                for name in names
            ]
    return []


def _get_cfg_path(cfg_path: str, filename: str):
    """``Config._get_cfg_path`` that also knows ``tscae_mm::<path>``.

    Such a base is read as a local one (scope None): our configs extend the
    toolboxes' and build in the registries of the config that inherits them
    (mmpretrain's, mmdet's or mmseg's), as they do from the checkout. As an
    external package's base MMEngine would stamp ``_scope_='tscae_mm'`` on
    its dictionaries, a registry that no toolbox has."""
    if cfg_path.startswith(PREFIX):
        return config_path(cfg_path), None
    return _mmengine_get_cfg_path(cfg_path, filename)


def _supported(config_class) -> bool:
    """Whether this MMEngine's private ``Config._get_cfg_path`` is the one
    :func:`enable` was written against (MMEngine 0.10: a static method
    ``(cfg_path, filename) -> (path, scope)``); warn if it is not."""
    import mmengine
    version = '.'.join(mmengine.__version__.split('.')[:2])
    original = inspect.getattr_static(config_class, '_get_cfg_path', None)
    if (version == SUPPORTED_MMENGINE and isinstance(original, staticmethod)
            and list(inspect.signature(original.__func__).parameters)
            == ['cfg_path', 'filename']):
        return True
    warnings.warn(
        f'tscae_mm:: config names are not resolved with MMEngine '
        f'{mmengine.__version__}: tscae_mm resolves them by wrapping a '
        f'private function of MMEngine {SUPPORTED_MMENGINE}.x '
        '(Config._get_cfg_path). Inherit our configs by path instead, '
        f"e.g. _base_ = '{{{{${CONFIGS_ENV}:{configs_dir()}}}}}/tscae/"
        "tscae_vit-tiny-p4_demo.py'.")
    return False


def is_enabled() -> bool:
    return _mmengine_get_cfg_path is not None


def enable() -> None:
    """Let ``Config.fromfile`` resolve ``tscae_mm::<path>`` bases in this
    process, from now on (until :func:`disable`). Idempotent.

    MMEngine 0.10 resolves ``<package>::`` only for the packages of a fixed
    table (``mmengine.config.utils.MODULE2PACKAGE``) and offers no way to
    add one, so this replaces its private ``Config._get_cfg_path`` with one
    that answers ``tscae_mm::`` names and hands every other name to
    MMEngine's. On another MMEngine release it warns and changes nothing.
    """
    global _mmengine_get_cfg_path
    from mmengine.config import Config
    if is_enabled() or not _supported(Config):
        return
    _mmengine_get_cfg_path = Config._get_cfg_path
    Config._get_cfg_path = staticmethod(_get_cfg_path)


def disable() -> None:
    """Give MMEngine its own ``Config._get_cfg_path`` back."""
    global _mmengine_get_cfg_path
    if not is_enabled():
        return
    from mmengine.config import Config
    Config._get_cfg_path = staticmethod(_mmengine_get_cfg_path)
    _mmengine_get_cfg_path = None


@contextlib.contextmanager
def enabled():
    """``tscae_mm::<path>`` bases resolve inside the block::

        with enabled():
            cfg = Config.fromfile(path)
    """
    was_enabled = is_enabled()
    enable()
    try:
        yield
    finally:
        if not was_enabled:
            disable()


if __name__ == '__main__':
    # the folder for path bases: export TSCAE_MM_CONFIGS=$(python -m ...)
    print(configs_dir())

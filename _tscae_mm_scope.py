"""Lets MMEngine resolve ``tscae_mm::<path>`` config names, so that a config
anywhere can inherit ours: ``_base_ = 'tscae_mm::tscae/<config>.py'``.

MMEngine 0.10 resolves ``<package>::`` only for the packages of a fixed
table (``mmengine.config.utils.MODULE2PACKAGE``), finds their ``.mim``
folder through ``pkg_resources``' install location (site-packages, not the
checkout, for an editable PEP 660 install) and builds what such a base
defines in the package's own registry scope. This module makes
``Config._get_cfg_path`` answer ``tscae_mm::<path>`` itself (the file under
the package's ``.mim/configs``, found as ``import tscae_mm`` would find the
package, read in the scope of the config that inherits it); every other
name goes to MMEngine's own code.

It has to act before a config is parsed, and the toolboxes' own
``tools/train.py`` parse the config before anything imports ``tscae_mm``.
So ``tscae_mm-scope.pth`` in site-packages calls :func:`install` when the
interpreter starts. :func:`install` imports nothing heavy: it watches for
MMEngine's (and openmim's) modules and patches each right after it loads.
``import tscae_mm`` also calls it, for interpreters started without the
``.pth`` file.

The ``.pth`` file comes with a wheel (``pip install .``); an editable
install (``pip install -e .``) cannot carry it, so
``python -m _tscae_mm_scope --install`` writes it (``--uninstall`` removes
it; scripts/setup_env.sh runs the first).
"""
import os
import os.path as osp
import sys

SCOPE = 'tscae_mm'
PTH_NAME = 'tscae_mm-scope.pth'
# one line, as site.py runs ``import`` lines of .pth files; it does nothing
# once this module is gone (the package uninstalled)
PTH_LINE = ("import importlib.util as u; u.find_spec('_tscae_mm_scope') and "
            "__import__('_tscae_mm_scope').install()\n")


def package_dir():
    """The directory ``import tscae_mm`` would load the package from, found
    without importing it (None if it is not importable)."""
    import importlib.util
    spec = importlib.util.find_spec(SCOPE)
    if spec is None or spec.origin is None:
        return None
    return osp.dirname(spec.origin)


class ScopeConfigNotFound(FileNotFoundError):
    """A ``tscae_mm::<path>`` base that tscae_mm does not ship."""


def config_path(name: str) -> str:
    """The file of a ``tscae_mm::<path>`` config name: ``<path>`` under the
    package's ``.mim/configs`` (in a checkout a link to its configs/)."""
    relative = name.partition('::')[2]
    found = package_dir()
    if found is None:
        raise ModuleNotFoundError(
            f'{name}: tscae_mm is not importable in this environment; '
            'install it (pip install -e <checkout>) to inherit its configs')
    root = osp.join(found, '.mim', 'configs')
    path = osp.join(root, relative)
    if not osp.isfile(path):
        import difflib
        shipped = [
            osp.relpath(osp.join(folder, f), root)
            for folder, _, files in os.walk(root, followlinks=True)
            for f in files if f.endswith('.py')
        ]
        close = difflib.get_close_matches(relative, shipped, n=3)
        hint = (f' Close names: {", ".join(close)}.' if close else '')
        raise ScopeConfigNotFound(
            f'{name}: tscae_mm ships no config {relative!r} (looked in '
            f'{root}).{hint} The names are paths under configs/ of the '
            'checkout, e.g. tscae_mm::tscae/'
            'tscae_vit-base-p16_8xb64-amp-coslr-400e_coco.py.')
    return path


def _patch_config(module) -> None:
    """``Config._get_cfg_path`` resolves ``tscae_mm::<path>`` itself.

    The base is read as a local one (scope None): our configs extend the
    toolboxes' configs and build in their registries (the default scope of
    the config that inherits them), as they do from the checkout. MMEngine
    would stamp ``_scope_='tscae_mm'`` on a ``<package>::`` base's
    dictionaries, which no single registry can serve for MMPretrain,
    MMDetection and MMSegmentation alike."""
    config = module.Config
    original = config.__dict__['_get_cfg_path']
    if getattr(original.__func__, '_tscae_mm_scope', False):
        return

    def _get_cfg_path(cfg_path, filename):
        if cfg_path.startswith(SCOPE + '::'):
            return config_path(cfg_path), None
        return original.__func__(cfg_path, filename)

    _get_cfg_path._tscae_mm_scope = True
    _get_cfg_path.__doc__ = original.__func__.__doc__
    config._get_cfg_path = staticmethod(_get_cfg_path)


def _patch_mim(module) -> None:
    """openmim finds ``.mim/tools`` of ``mim train tscae_mm`` through its
    own ``get_installed_path`` (pkg_resources' location: site-packages for
    an editable install); answer it for tscae_mm from the import system."""
    original = getattr(module, 'get_installed_path', None)
    if original is None or getattr(original, '_tscae_mm_scope', False):
        return

    def get_installed_path(package: str) -> str:
        found = package_dir() if package == SCOPE else None
        return found if found is not None else original(package)

    get_installed_path._tscae_mm_scope = True
    get_installed_path.__wrapped__ = original
    module.get_installed_path = get_installed_path


# module -> what to do once it has loaded
PATCHES = {
    'mmengine.config.config': _patch_config,
    'mim.utils.utils': _patch_mim,
    'mim.utils': _patch_mim,
}


class _PatchingLoader:
    """The real loader, then the patch. (No importlib.abc base classes: this
    module loads at every interpreter start, and importing those costs more
    than the rest of it.)"""

    def __init__(self, loader, patch):
        self.loader = loader
        self.patch = patch

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.patch(module)

    def __getattr__(self, name):  # get_source, is_package, ...
        return getattr(self.loader, name)


class _Watcher:
    """Finds nothing itself: for a module in :data:`PATCHES` it asks the
    finders after it and wraps the loader they return."""

    def find_spec(self, fullname, path=None, target=None):
        patch = PATCHES.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None


def install() -> None:
    """Patch what is loaded already; watch for the rest. Idempotent."""
    for name, patch in PATCHES.items():
        module = sys.modules.get(name)
        if module is not None:
            patch(module)
    if not any(isinstance(f, _Watcher) for f in sys.meta_path):
        sys.meta_path.insert(0, _Watcher())


def site_packages() -> str:
    """The site-packages directory that tscae_mm is installed in (the
    environment's, or the user's for ``pip install --user``)."""
    import glob
    import site
    import sysconfig
    candidates = [sysconfig.get_paths()['purelib']]
    if site.ENABLE_USER_SITE:
        candidates.append(site.getusersitepackages())
    for folder in candidates:
        if glob.glob(osp.join(folder, 'tscae_mm-*.dist-info')):
            return folder
    raise SystemExit(
        'tscae_mm is not installed in ' + ' or '.join(candidates) +
        ': run `pip install -e .` in the checkout first')


def main(argv=None) -> None:
    import argparse
    parser = argparse.ArgumentParser(
        prog='python -m _tscae_mm_scope',
        description='Add or remove the tscae_mm-scope.pth start-up hook '
        'that lets configs inherit tscae_mm::<path> bases.')
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--install', action='store_true')
    group.add_argument('--uninstall', action='store_true')
    group.add_argument('--where', action='store_true',
                       help='print where the file goes')
    args = parser.parse_args(argv)
    path = osp.join(site_packages(), PTH_NAME)
    if args.where:
        print(path)
    elif args.install:
        with open(path, 'w') as f:
            f.write(PTH_LINE)
        print(f'wrote {path}')
    elif osp.exists(path):
        os.remove(path)
        print(f'removed {path}')
    else:
        print(f'{path} is not there; nothing to remove')


if __name__ == '__main__':
    main()

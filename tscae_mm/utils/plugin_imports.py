"""Say what to add when a config names tscae_mm's types without loading it.

``tools/train.py`` and ``tools/test.py`` import tscae_mm themselves, so a
config that names ``TSCAE``, ``TSCAEViT``, ``SeededDataset``, ... works there
even without ``custom_imports``, but not from the toolboxes' own scripts:
:func:`warn_if_plugin_not_imported` says so when the config is loaded. A
registry ``KeyError`` for one of those names (e.g. a config without a
``default_scope``) is turned into one that says where the name is registered
and which config lines are missing (:func:`explain_unregistered_types`).
"""
import contextlib
import logging
import re
from collections import defaultdict
from typing import Dict, Iterator, List, Tuple

from mmengine import registry as mmengine_registry
from mmengine.logging import print_log
from mmengine.registry import Registry

PLUGIN_IMPORT = ("custom_imports = dict(imports=['tscae_mm'], "
                 'allow_failed_imports=False)')
REGISTRY_ERROR = re.compile(
    r'^(?P<name>\S+) is not in the (?P<scope>[^:\s]+)::(?P<registry>\S+) '
    r'registry')


def plugin_registrations() -> Dict[str, List[str]]:
    """Every name under which tscae_mm registered a class or function, with
    the registries (``scope::name``) that hold it."""
    found: Dict[str, List[str]] = defaultdict(list)
    pending = [
        value for value in vars(mmengine_registry).values()
        if isinstance(value, Registry)
    ]
    seen = set()
    while pending:
        registry = pending.pop()
        if id(registry) in seen:
            continue
        seen.add(id(registry))
        pending.extend(registry._children.values())
        for name, module in registry.module_dict.items():
            if getattr(module, '__module__', '').startswith('tscae_mm'):
                found[name].append(f'{registry.scope}::{registry.name}')
    return dict(found)


def plugin_types_in(cfg) -> List[Tuple[str, str]]:
    """``(where, name)`` of each ``type`` in ``cfg`` that is a tscae_mm name,
    ``where`` as a dotted config path (``model.backbone.type``)."""
    names = plugin_registrations()
    found = []
    pending = [('', cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg)]
    while pending:
        where, node = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get('type'), str) and node['type'] in names:
                found.append((f'{where}type', node['type']))
            pending.extend((f'{where}{key}.', value)
                           for key, value in node.items())
        elif isinstance(node, (list, tuple)):
            pending.extend((f'{where[:-1]}[{index}].', value)
                           for index, value in enumerate(node))
    return sorted(found)


def imports_plugin(cfg) -> bool:
    """Whether the config's ``custom_imports`` imports tscae_mm."""
    imports = (cfg.get('custom_imports') or {}).get('imports') or []
    if isinstance(imports, str):
        imports = [imports]
    return any(name == 'tscae_mm' or name.startswith('tscae_mm.')
               for name in imports)


def listed(uses: List[Tuple[str, str]], limit: int = 4) -> str:
    """``TSCAEViT (model.backbone.type), ...`` for a message."""
    shown = ', '.join(f'{name} ({where})' for where, name in uses[:limit])
    return shown + (f' and {len(uses) - limit} more'
                    if len(uses) > limit else '')


def warn_if_plugin_not_imported(cfg, config_path: str) -> None:
    """Warn that a config naming tscae_mm's types lacks its custom_imports.

    Args:
        cfg (Config): The loaded config.
        config_path (str): Its file, for the message.
    """
    uses = plugin_types_in(cfg)
    if not uses or imports_plugin(cfg):
        return
    print_log(
        f'{config_path} names tscae_mm types ({listed(uses)}) but has no '
        'custom_imports that imports tscae_mm. It runs here, because this '
        'script imports tscae_mm, but MMPretrain\'s, MMDetection\'s and '
        'MMSegmentation\'s own tools/train.py and tools/test.py stop with a '
        f'registry KeyError. Add to the config: {PLUGIN_IMPORT}',
        logger='current',
        level=logging.WARNING)


@contextlib.contextmanager
def explain_unregistered_types(cfg) -> Iterator[None]:
    """Re-raise a registry KeyError for a tscae_mm name with the fix.

    Args:
        cfg (Config): The config being run.

    Raises:
        KeyError: Naming where tscae_mm registered the type, the config's
            default scope and the lines to add.
    """
    try:
        yield
    except KeyError as error:
        message = str(error.args[0]) if error.args else ''
        match = REGISTRY_ERROR.match(message)
        registrations = plugin_registrations()
        if match is None or match['name'] not in registrations:
            raise
        raise KeyError(
            unregistered_message(cfg, match, registrations)) from error


def unregistered_message(cfg, match: re.Match,
                         registrations: Dict[str, List[str]]) -> str:
    """Why a tscae_mm name was not found, and the config lines to fix it."""
    name, scope = match['name'], match['scope']
    where = registrations[name]
    scopes = sorted({entry.split('::')[0] for entry in where})
    fixes = []
    if cfg.get('default_scope') is None:
        fixes.append(
            'the config has no default_scope, so the build looked in '
            "MMEngine's root registry: inherit a toolbox's runtime (e.g. "
            "_base_ = 'mmpretrain::_base_/default_runtime.py') or set "
            f"default_scope='{scopes[0]}'")
    else:
        fixes.append(
            f"the config's default_scope is {cfg.default_scope!r}: use the "
            f"type under a scope that has it ({', '.join(scopes)}), or name "
            f"it with its scope, type='{scopes[0]}.{name}'")
    if not imports_plugin(cfg):
        fixes.append(f'add {PLUGIN_IMPORT}')
    return (f'{name} is not in the {scope}::{match["registry"]} registry, '
            f'but tscae_mm registers it in {", ".join(where)}: '
            + '; '.join(fixes) + '.')

"""Loading a model a target names: ``package.module:callable``, ``path/to/file.py:Name``, ``torchvision:NAME``.

The user's code (import, call) runs under :func:`cnncost.torch.guard.user_code` (stdout to stderr, ``sys.exit``
an error, a deadline) and, when it builds with real tensors, under an :class:`AllocationGuard`.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from cnncost.errors import CnnCostError, MissingDependencyError, NotFoundError, UsageError, suggest
from cnncost.torch.guard import (
    USER_MODULES,
    AllocationGuard,
    check_max_memory,
    check_timeout,
    first_line,
    user_code,
)


def load_module_target(
    target: str,
    *,
    meta: bool = True,
    timeout: float | None = None,
    max_memory: int | None = None,
    notes: list[str] | None = None,
) -> nn.Module:
    """Build the model named by ``target``: ``package.module:callable`` (a function or class called with no
    arguments, or an ``nn.Module`` instance), ``path/to/file.py:callable``, or ``torchvision:NAME`` (any model of
    torchvision's registry — classification, segmentation, detection, video, … — built with ``weights=None`` and
    ``weights_backbone=None``: random weights, nothing downloaded).

    Under ``meta`` (the default) the callable runs inside ``torch.device("meta")``, so the model's parameters
    take no memory and no time to initialize. A callable that fails there (one that loads weights or reads
    tensor values while building) is called a second time with real tensors — the one case it runs twice; a
    line saying so and why is appended to ``notes`` — and that build stops with a one-line
    :class:`LimitError` as soon as it has allocated more than ``max_memory`` bytes (default 2 GiB).

    The user's code (import, call) runs under :func:`cnncost.torch.guard.user_code`: its printing goes to
    stderr, ``sys.exit()`` becomes an error, and it is interrupted after ``timeout`` seconds (None: no limit).

    Raises a one-line cnncost error for a malformed target, a module that cannot be imported, a missing
    attribute, a callable that fails, and a result that is not an ``nn.Module``.
    """
    if not isinstance(target, str):
        raise TypeError(f"target must be a string such as 'torchvision:resnet50', not {target!r}")
    timeout = check_timeout(timeout)
    limit = check_max_memory(max_memory)
    module_name, sep, attr = target.partition(":")
    module_name, attr = module_name.strip(), attr.strip()
    if not sep or not module_name or not attr:
        raise UsageError(
            f"'{target}' is not MODULE:CALLABLE",
            hint="e.g. torchvision:resnet50, mypackage.models:build_model or path/to/model.py:Net",
        )
    with user_code(f"importing {module_name}", timeout):
        if module_name == "torchvision":
            obj: Any = _torchvision_builder(attr)
        else:
            if not (module_name.endswith(".py") or "/" in module_name or "\\" in module_name):
                USER_MODULES.add(module_name)
            module = _import(module_name, attr)
            obj = _attribute(module, module_name, attr)
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise CnnCostError(
            f"'{target}' is a {type(obj).__name__}, neither an nn.Module nor something that builds one",
            hint="name a model class, a function returning a model, or a model instance",
        )
    built = None
    if meta:
        try:  # parameters made on the meta device: nothing allocated, no initialization run
            with user_code(f"calling {target}()", timeout), torch.device("meta"):
                built = obj()
        except CnnCostError:
            raise
        except Exception as exc:
            # It needs real tensors while building (loads weights, reads values): build it again, normally.
            if notes is not None:
                notes.append(
                    f"{target}() was called twice: on the meta device it failed ({first_line(exc)}), "
                    "so it was built again with real tensors"
                )
    if built is None:
        built = build_real(obj, target, timeout=timeout, max_memory=limit)
    if not isinstance(built, nn.Module):
        raise CnnCostError(
            f"{target}() returned a {type(built).__name__}, not a torch.nn.Module",
            hint="name a callable that returns the model",
        )
    return built


def build_real(obj: Callable[[], Any], target: str, *, timeout: float | None, max_memory: int) -> Any:
    """Call ``obj()`` with real tensors, under the user-code guard and an allocation bound."""
    try:
        with user_code(f"calling {target}()", timeout), AllocationGuard(max_memory, f"building {target}()"):
            return obj()
    except CnnCostError:
        raise
    except Exception as exc:
        raise CnnCostError(
            f"calling {target}() failed: {first_line(exc)}",
            hint="the callable must build the model with no arguments (wrap it in a small function)",
        ) from None


def _torchvision_builder(name: str) -> Callable[[], Any]:
    """torchvision's builder of model ``name`` from its registry, bound to no weights at all (random weights;
    only the arguments the builder accepts)."""
    try:
        import torchvision.models  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise MissingDependencyError(
            "torchvision is not installed", hint="install it with: pip install torchvision"
        ) from None
    models: Any = torchvision.models
    names = list(models.list_models())
    if name not in names:
        raise NotFoundError(
            f"torchvision has no model '{name}'",
            hint=suggest(name, names) or "see torchvision.models.list_models() for the names",
        )
    builder = models.get_model_builder(name)
    accepted = inspect.signature(builder).parameters
    kwargs = {key: None for key in ("weights", "weights_backbone") if key in accepted}

    def build() -> Any:
        return builder(**kwargs)

    return build


def _import(module_name: str, attr: str) -> ModuleType:
    if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
        return _import_file(Path(module_name))
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if missing == module_name or module_name.startswith(missing + "."):
            raise NotFoundError(
                f"no Python module named '{module_name}'",
                hint="check the name and that its package is installed (or give a path to a .py file)",
            ) from None
        raise MissingDependencyError(
            f"importing '{module_name}' failed: it needs '{missing}', which is not installed",
            hint=f"install the package that provides '{missing}'",
        ) from None
    except Exception as exc:
        raise CnnCostError(f"importing '{module_name}' failed: {first_line(exc)}") from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise NotFoundError(f"no such file: {path}", hint="give an existing .py file, e.g. models/net.py:Net")
    unique = f"_cnncost_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(unique, path)
    if spec is None or spec.loader is None:
        raise CnnCostError(f"cannot import {path} as Python", hint="give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(unique, None)
        if not isinstance(exc, Exception):
            raise  # sys.exit(), the deadline, Ctrl-C: the caller's guard says what it was
        raise CnnCostError(f"importing {path} failed: {first_line(exc)}", file=str(path)) from None
    return module


def _attribute(module: ModuleType, module_name: str, attr: str) -> Any:
    obj: Any = module
    for part in attr.split("."):
        if not part.isidentifier() or not hasattr(obj, part):
            choices = [n for n in dir(obj) if not n.startswith("_")]
            raise NotFoundError(
                f"'{module_name}' has no attribute '{attr}'",
                hint=suggest(part, choices) or f"see dir({module_name}) for what it defines",
            )
        obj = getattr(obj, part)
    return obj

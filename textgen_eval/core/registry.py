"""Name → object registries that load lazily and discover plugins through entry points.

Built-ins are registered as ``"module:attribute"`` strings, so listing names imports nothing;
third-party packages add entries under an entry-point group (e.g. ``textgen_eval.metrics``).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Generic, TypeVar, cast

from textgen_eval.core.errors import PluginError, UnknownNameError

T = TypeVar("T")

BUILTIN = "built-in"


@dataclass
class Entry(Generic[T]):
    """One registered name: where it comes from and how to load it."""

    name: str
    target: str | T
    origin: str = BUILTIN  # "built-in", "plugin <dist> <version>", "--plugin module:attr"
    _loaded: T | None = field(default=None, repr=False)

    def load(self) -> T:
        if self._loaded is None:
            if isinstance(self.target, str):
                # What a plugin's entry point names is only checked by the caller (e.g. that it
                # is a Metric subclass), so the cast records intent, not a guarantee.
                self._loaded = cast(T, load_object(self.target, origin=self.origin, name=self.name))
            else:
                self._loaded = self.target
        return self._loaded


def load_object(spec: str, *, origin: str = "", name: str = "") -> object:
    """Import ``"package.module:attr.sub"`` and return the attribute, with errors naming it."""
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise PluginError(
            f"plugin {spec!r}: expected the form 'module:attribute' (e.g. 'my_pkg.metrics:MyMetric')"
        )
    who = f"plugin {name!r} ({origin}, {spec})" if name else f"plugin {spec!r}"
    try:
        obj: object = importlib.import_module(module_name)
    except Exception as exc:  # the plugin's own import error, of any kind
        raise PluginError(
            f"{who} failed to import module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise PluginError(f"{who}: module {module_name!r} has no attribute {attr_path!r}") from exc
    return obj


class Registry(Generic[T]):
    """A case-sensitive registry of named objects with lazy loading and plugin discovery.

    Args:
        kind: what the entries are, for messages ("metric", "tokenizer", ...).
        group: entry-point group(s) scanned (once, on first lookup) for third-party entries.
    """

    def __init__(self, kind: str, group: str | tuple[str, ...] | None = None) -> None:
        self.kind = kind
        self.groups: tuple[str, ...] = (group,) if isinstance(group, str) else tuple(group or ())
        self.group = self.groups[0] if self.groups else None
        self._entries: dict[str, Entry[T]] = {}
        self._discovered = group is None

    def register(self, name: str, target: str | T, *, origin: str = BUILTIN) -> None:
        """Add ``name``; a second registration of the same name is an error naming both."""
        existing = self._entries.get(name)
        if existing is not None:
            if existing.target == target:
                return
            raise PluginError(
                f"duplicate {self.kind} name {name!r}: registered by {existing.origin} "
                f"({_describe(existing.target)}) and again by {origin} ({_describe(target)}); "
                "uninstall or rename one of them"
            )
        self._entries[name] = Entry(name, target, origin)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests that register a temporary entry clean up with this)."""
        self._entries.pop(name, None)

    def discover(self) -> None:
        """Scan the entry-point group once; later calls do nothing."""
        if self._discovered:
            return
        self._discovered = True
        for group in self.groups:
            for ep in metadata.entry_points(group=group):
                dist = getattr(ep, "dist", None)
                origin = f"plugin {dist.name} {dist.version}" if dist is not None else f"plugin {ep.value}"
                self.register(ep.name, ep.value, origin=origin)

    def entry(self, name: str) -> Entry[T]:
        self.discover()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name, list(self._entries))) from None

    def get(self, name: str) -> T:
        return self.entry(name).load()

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._entries

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._entries)

    def entries(self) -> Iterator[Entry[T]]:
        self.discover()
        for name in sorted(self._entries):
            yield self._entries[name]

    def unknown_message(self, name: str, candidates: list[str], known: str | None = None) -> str:
        """``unknown KIND 'name'; did you mean ...? (known: ...)``; ``known`` overrides the listing."""
        close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = known if known is not None else ", ".join(sorted(candidates))
        return f"unknown {self.kind} {name!r}{hint} (known: {listing})"


def _describe(target: object) -> str:
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", "?")
    qualname = getattr(target, "__qualname__", type(target).__qualname__)
    return f"{module}:{qualname}"

"""YAML with a bounded cost: the one loader for aws-auth ConfigMaps and kubeconfigs.

Anyone who can edit the aws-auth ConfigMap can plant a "billion laughs" (anchors whose aliases
expand to 2^N nodes) or a document nested thousands deep; PyYAML builds the first as a small
shared graph that explodes when walked or dumped, and recurses on the second until it raises
RecursionError. This loader counts while composing, before anything is built: the nesting
depth, the alias uses and the size of the document with every alias expanded. Past a bound it
raises `TooCostly`, a `yaml.YAMLError`, so callers report it as any other YAML error.

Imported only by the functions that read YAML (it imports yaml).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

# Far above any real kubeconfig or aws-auth (a few levels deep, a few thousand nodes).
MAX_DEPTH = 64
MAX_ALIASES = 1000
MAX_EXPANDED_NODES = 1_000_000


class TooCostly(yaml.YAMLError):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = None


class _Bounds:
    """Counting hooks mixed into a PyYAML loader's composer."""

    _depth = 0
    _aliases = 0
    _sizes: dict[int, int]

    def compose_node(self, parent: Node | None, index: int | Node | None) -> Node | None:
        if self.check_event(AliasEvent):  # type: ignore[attr-defined]
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise TooCostly(f"more than {MAX_ALIASES} aliases")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise TooCostly(f"nested more than {MAX_DEPTH} levels deep")
        try:
            node: Node | None = super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1
        if node is not None:
            self._weigh(node)
        return node

    def _weigh(self, node: Node) -> int:
        sizes = self.__dict__.setdefault("_sizes", {})
        known = sizes.get(id(node))
        if known is not None:
            return int(known)
        size = 1
        if isinstance(node, SequenceNode):
            size += sum(sizes.get(id(child), 1) for child in node.value)
        elif isinstance(node, MappingNode):
            size += sum(sizes.get(id(k), 1) + sizes.get(id(v), 1) for k, v in node.value)
        if size > MAX_EXPANDED_NODES:
            raise TooCostly(f"expands to more than {MAX_EXPANDED_NODES} nodes (alias bomb?)")
        sizes[id(node)] = size
        return size


class BoundedSafeLoader(_Bounds, yaml.SafeLoader):
    """`yaml.safe_load`'s loader, bounded."""


class BoundedBaseLoader(_Bounds, yaml.BaseLoader):
    """BaseLoader (every scalar a str), bounded."""


def safe_load(text: str) -> Any:
    """`yaml.safe_load(text)` within the bounds; `yaml.YAMLError` (maybe `TooCostly`) if not."""
    return _load(text, BoundedSafeLoader)


def base_load(text: str) -> Any:
    """`yaml.load(text, BaseLoader)` within the bounds."""
    return _load(text, BoundedBaseLoader)


def _load(text: str, loader_class: type[BoundedSafeLoader | BoundedBaseLoader]) -> Any:
    loader = loader_class(text)
    try:
        return loader.get_single_data()
    except RecursionError as exc:  # pragma: no cover - the depth bound comes first
        raise TooCostly("nested too deeply") from exc
    finally:
        loader.dispose()

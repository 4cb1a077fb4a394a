"""The budget hierarchy: district → township / irrigation district → unit → household.

Any depth: ``level`` is a label for people, the structure is the parent link.
Sites, meters and card holders attach to the node whose budget their water
counts against (``Attachment``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class NodeLevel(StrEnum):
    DISTRICT = "district"
    TOWNSHIP = "township"
    IRRIGATION_DISTRICT = "irrigation_district"
    UNIT = "unit"
    HOUSEHOLD = "household"
    CARD_HOLDER = "card_holder"

    @property
    def label(self) -> str:
        return _LEVEL_LABELS[self]


_LEVEL_LABELS = {
    NodeLevel.DISTRICT: "区/县",
    NodeLevel.TOWNSHIP: "乡镇",
    NodeLevel.IRRIGATION_DISTRICT: "灌区",
    NodeLevel.UNIT: "用水单元",
    NodeLevel.HOUSEHOLD: "用水户",
    NodeLevel.CARD_HOLDER: "持卡人",
}


class AttachmentKind(StrEnum):
    SITE = "site"
    METER = "meter"
    CARD = "card"


@dataclass(frozen=True, slots=True)
class Contact:
    """A person warned about this node's budget."""

    name: str
    phone: str | None = None
    email: str | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A registry site, meter or IC card whose water counts against a node."""

    kind: AttachmentKind
    ref: str


@dataclass(frozen=True, slots=True)
class Node:
    node_id: int
    code: str
    name: str
    level: NodeLevel
    parent_id: int | None = None
    contacts: tuple[Contact, ...] = ()
    attachments: tuple[Attachment, ...] = ()


class HierarchyError(ValueError):
    """The nodes do not form a forest (unknown parent, cycle, duplicate id)."""


@dataclass(slots=True)
class Hierarchy:
    """Parent/children index over a set of nodes, checked to be a forest."""

    nodes: dict[int, Node] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, nodes: Iterable[Node]) -> Hierarchy:
        tree = cls()
        for node in nodes:
            if node.node_id in tree.nodes:
                raise HierarchyError(f"duplicate node id {node.node_id}")
            tree.nodes[node.node_id] = node
            tree.children.setdefault(node.node_id, [])
        for node in tree.nodes.values():
            if node.parent_id is None:
                continue
            if node.parent_id not in tree.nodes:
                raise HierarchyError(f"node {node.code}: unknown parent {node.parent_id}")
            tree.children[node.parent_id].append(node.node_id)
        for node_id in tree.nodes:
            tree._check_acyclic(node_id)
        return tree

    def _check_acyclic(self, node_id: int) -> None:
        seen = {node_id}
        for ancestor in self.ancestors(node_id):
            if ancestor in seen:
                raise HierarchyError(f"cycle through node {node_id}")
            seen.add(ancestor)

    def add(self, node: Node) -> None:
        """Add one leaf node (its parent must exist)."""
        if node.node_id in self.nodes:
            raise HierarchyError(f"duplicate node id {node.node_id}")
        if node.parent_id is not None and node.parent_id not in self.nodes:
            raise HierarchyError(f"node {node.code}: unknown parent {node.parent_id}")
        self.nodes[node.node_id] = node
        self.children[node.node_id] = []
        if node.parent_id is not None:
            self.children[node.parent_id].append(node.node_id)

    def parent(self, node_id: int) -> int | None:
        return self.nodes[node_id].parent_id

    def ancestors(self, node_id: int) -> Iterator[int]:
        """Parent, grandparent, … up to the root (bounded, so a cycle cannot hang)."""
        current = self.nodes[node_id].parent_id
        for _ in range(len(self.nodes)):
            if current is None:
                return
            yield current
            current = self.nodes[current].parent_id
        raise HierarchyError(f"cycle above node {node_id}")

    def path_to_root(self, node_id: int) -> list[int]:
        return [node_id, *self.ancestors(node_id)]

    def is_within(self, node_id: int, scope_id: int) -> bool:
        """True when ``node_id`` is ``scope_id`` or one of its descendants."""
        return node_id == scope_id or scope_id in self.ancestors(node_id)

    def subtree(self, node_id: int) -> list[int]:
        """``node_id`` and all its descendants, parents before children."""
        order = [node_id]
        index = 0
        while index < len(order):
            order.extend(self.children[order[index]])
            index += 1
        return order

    def lowest_common_ancestor(self, first: int, second: int) -> int | None:
        first_path = set(self.path_to_root(first))
        for candidate in self.path_to_root(second):
            if candidate in first_path:
                return candidate
        return None

    def by_code(self, code: str) -> Node | None:
        for node in self.nodes.values():
            if node.code == code:
                return node
        return None

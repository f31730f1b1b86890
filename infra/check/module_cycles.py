#!/usr/bin/env python3
"""Finds import cycles between the modules of the library (shared/src).

A module is a file. An edge M -> N means M names an item of N: through a `use` or a path
`crate::...`, `super::...` or `self::...` in its code. A path is resolved to the module that
defines the item: through the re-exports of a `mod.rs` (`pub use child::{Item, ...}`) when the
path stops at a folder module. Declaring a child module (`mod child;`), a folder's re-exports
(`pub use child::Item;`) and glob imports are not edges, and neither is a path between a module and
its own submodules (the parent is their facade): what counts is one part of the tree depending on
another part and that part depending back on it. Tests count
like any code (inline test modules and `tests.rs` files alike). Prints each cycle and exits 1 if
there is one. Run by .ci/run.

Usage: infra/check/module_cycles.py [shared/src]
"""

import re
import sys
from pathlib import Path

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/src")


def module_of(path: Path) -> tuple:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


FILES = {module_of(p): p for p in ROOT.rglob("*.rs")}


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def reexports(module: tuple) -> dict:
    """Item name -> child module, from `pub use` lines of a folder module."""
    path = FILES.get(module)
    if path is None:
        return {}
    found = {}
    text = strip_comments(path.read_text())
    for m in re.finditer(r"pub(?:\([^)]*\))?\s+use\s+(?:self::)?(\w+)::([^;]+);", text):
        child, names = m.group(1), m.group(2)
        names = re.sub(r"[{}\s]", "", names)
        for name in names.split(","):
            name = name.split("::")[-1].split("as")[0]
            if name and (module + (child,)) in FILES:
                found[name] = module + (child,)
    return found


def resolve(segments: list) -> tuple:
    """The defining module of `crate::a::b::Item`, given ["a", "b", "Item"]."""
    module = ()
    for i, seg in enumerate(segments):
        if module + (seg,) in FILES:
            module = module + (seg,)
            continue
        # `seg` is an item of `module` or a re-export of one of its children.
        child = reexports(module).get(seg)
        return child or module
    return module


def expand(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]]."""
    tree = re.sub(r"\s+", "", tree)
    if "{" not in tree:
        return [tree.split("::")]
    head, rest = tree.split("{", 1)
    inner = rest[: rest.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    prefix = [s for s in head.split("::") if s]
    return [prefix + sub for p in parts if p for sub in expand(p)]


def edges_of(module: tuple, path: Path) -> set:
    text = strip_comments(path.read_text())
    targets = set()
    paths = []
    # A folder's `pub use child::Item;` is its facade, not a use of the child.
    for m in re.finditer(r"(\bpub(?:\([^)]*\))?\s+)?\buse\s+([^;]+);", text):
        if not m.group(1):
            paths.extend(expand(m.group(2)))
    # Whole paths only: a `use` tree's head (`super::a::{...}`) was expanded above.
    for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)(?!\w|::)", text):
        paths.append(m.group(1).split("::"))
    for segs in paths:
        if not segs or segs[-1] == "*":
            # A glob names no item: what it brings in is counted where it is used by name.
            continue
        segs = [s for s in segs if s]
        if segs[0] == "crate":
            base, rest = (), segs[1:]
        elif segs[0] in ("super", "self"):
            # `self` is the module itself, whether it is a file or a folder's mod.rs.
            base = module
            while segs and segs[0] == "super":
                base = base[:-1]
                segs = segs[1:]
            if segs and segs[0] == "self":
                segs = segs[1:]
            rest = segs
        elif module + (segs[0],) in FILES:
            # A path from a child module's name (`use child::Item;`).
            base, rest = module, segs
        else:
            continue
        target = resolve(list(base) + rest) if rest else base
        # A module and its own submodules are one unit: the parent is their facade.
        related = target[: len(module)] == module or module[: len(target)] == target
        if not related:
            targets.add(target)
    return targets


def cycles(graph: dict) -> list:
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def name(module: tuple) -> str:
    return "::".join(module) or "crate"


def main() -> int:
    graph = {m: edges_of(m, p) for m, p in FILES.items()}
    found = cycles(graph)
    for comp in found:
        members = set(comp)
        print("import cycle between: " + ", ".join(sorted(name(m) for m in comp)))
        for m in sorted(comp):
            for t in sorted(graph[m] & members):
                print(f"    {name(m)} -> {name(t)}")
    if not found:
        print(f"no import cycles between the {len(FILES)} modules of {ROOT}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

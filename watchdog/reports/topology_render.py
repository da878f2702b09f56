"""The network diagram drawn: Graphviz DOT text (labels escaped) and its SVG from Graphviz's
``dot`` (the layout is Graphviz's; nothing is placed by hand). Pure except
:func:`render_svg`, the one place that runs Graphviz, with a timeout.

Each class has a shape and a colour, shown in a legend; devices seen but not monitored are
drawn dashed in their own cluster, "seen, not monitored"; a link's label at each end is that
end's port."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

from muni_watchdog.reports.topology import Edge, Node, Topology

# class: (Graphviz shape, fill colour, legend label)
STYLES: dict[str, tuple[str, str, str]] = {
    "router": ("oval", "#f9cb9c", "router"),
    "firewall": ("octagon", "#ea9999", "firewall"),
    "switch": ("box", "#9fc5e8", "switch"),
    "wireless": ("hexagon", "#b6d7a8", "wireless access point"),
    "server": ("box3d", "#ffe599", "server"),
    "storage": ("cylinder", "#d5a6bd", "NAS / storage"),
    "printer": ("note", "#d9d9d9", "printer"),
    "ups": ("component", "#f6b26b", "UPS"),
    "phone": ("ellipse", "#d9d2e9", "phone"),
    "host": ("box", "#f3f3f3", "computer / other host"),
    "unknown": ("box", "#ffffff", "unknown"),
    "hub": ("diamond", "#eeeeee", "unmanaged switch (inferred)"),
}
TITLE = "The network as its devices advertise it (LLDP, CDP)"
DOT_TIMEOUT = 30.0


class TopologyError(RuntimeError):
    """Graphviz could not draw the diagram; the message says why and what to do."""


def dot_string(text: str | None) -> str:
    """A DOT double-quoted string: quotes and backslashes escaped (so Graphviz's own escapes
    such as ``\\N`` or ``\\l`` cannot be injected), control characters made spaces."""
    clean = "".join(c if c.isprintable() else " " for c in str(text or ""))
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def label_string(text: str | None) -> str:
    """A label: :func:`dot_string`, and ``&`` as ``&amp;`` (Graphviz turns ``&amp;`` and
    other entities in labels into their characters; a name must show as written)."""
    return dot_string(str(text or "").replace("&", "&amp;"))


def _label(*lines: str | None) -> str:
    """Lines joined by DOT's centred line break, each escaped."""
    parts = [label_string(line[:48])[1:-1] for line in lines if line]
    return '"' + "\\n".join(parts) + '"'


def _node_line(node: Node) -> str:
    shape, fill, _ = STYLES.get(node.kind, STYLES["unknown"])
    style = "filled,dashed" if not node.monitored else "filled"
    detail = node.model or node.platform
    if detail and node.name == detail[:len(node.name)]:   # named after its platform
        detail = node.chassis_id
    label = _label(node.name, detail, node.address)
    return (f"  {dot_string(node.id)} [label={label}, shape={shape}, fillcolor=\"{fill}\", "
            f"style=\"{style}\", class={dot_string(node.kind)}];")


def to_dot(topology: Topology, title: str = TITLE) -> str:
    """The diagram as Graphviz DOT (an undirected graph laid out top-down by ``dot``)."""
    lines = ["graph network {",
             f"  graph [label={label_string(title)}, labelloc=t, fontname=\"Helvetica\", "
             "fontsize=12, rankdir=TB, nodesep=0.5, ranksep=0.9];",
             "  node [fontname=\"Helvetica\", fontsize=10];",
             "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#555555\", "
             "labeldistance=2.2, labelfontcolor=\"#1f5f99\"];"]
    nodes = sorted(topology.nodes.values(), key=lambda n: n.id)
    lines += [_node_line(n) for n in nodes if n.monitored or n.kind == "hub"]
    apart = [n for n in nodes if not n.monitored and n.kind != "hub"]
    if apart:
        lines += ["  subgraph cluster_unmonitored {",
                  f"    label={dot_string('seen, not monitored')}; style=dashed; "
                  "color=\"#999999\"; fontname=\"Helvetica\"; fontsize=10;"]
        lines += ["  " + _node_line(n) for n in apart]
        lines.append("  }")
    for edge in topology.edges:
        attrs = [f"taillabel={label_string(edge.a_port)}",
                 f"headlabel={label_string(edge.b_port)}",
                 f"tooltip={label_string(_edge_text(topology, edge))}",
                 f"class={dot_string('link ' + ' '.join(sorted(edge.protocols)))}"]
        if edge.a.startswith("seen:") or edge.b.startswith("seen:"):
            attrs.append("style=dashed")
        lines.append(f"  {dot_string(edge.a)} -- {dot_string(edge.b)} [{', '.join(attrs)}];")
    lines += _legend(k for k in {n.kind for n in nodes})
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edge_text(topology: Topology, edge: Edge) -> str:
    a, b = topology.nodes[edge.a].name, topology.nodes[edge.b].name
    return f"{a} {edge.a_port or ''} — {b} {edge.b_port or ''}".replace("  ", " ").strip()


def _legend(kinds: Iterable[str]) -> list[str]:
    present = set(kinds)
    used = [k for k in STYLES if k in present]
    if not used:
        return []
    lines = ["  subgraph cluster_legend {",
             "    label=\"legend\"; style=solid; color=\"#cccccc\"; fontname=\"Helvetica\"; "
             "fontsize=10;"]
    for kind in used:
        shape, fill, text = STYLES[kind]
        lines.append(f"    {dot_string('legend:' + kind)} [label={label_string(text)}, "
                     f"shape={shape}, fillcolor=\"{fill}\", style=filled, fontsize=8, "
                     f"class={dot_string('legend ' + kind)}];")
    # one row: the legend should not make the drawing taller
    lines.append("    { rank=same; " + " ".join(dot_string("legend:" + k) for k in used)
                 + " }")
    lines += [f"    {dot_string('legend:' + a)} -- {dot_string('legend:' + b)} "
              "[style=invis];" for a, b in zip(used, used[1:], strict=False)]
    lines.append("  }")
    return lines


def render_svg(dot: str, timeout: float = DOT_TIMEOUT, binary: str = "dot") -> str:
    """The SVG Graphviz lays out from ``dot``. Raises TopologyError when Graphviz is
    missing, fails, takes longer than ``timeout`` seconds or prints no SVG."""
    try:
        done = subprocess.run([binary, "-Tsvg"], input=dot.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise TopologyError(f"Graphviz is not installed ({binary!r} not found): install the "
                            "graphviz package (apt install graphviz)") from None
    except subprocess.TimeoutExpired:
        raise TopologyError(f"Graphviz took longer than {timeout:g}s to lay out the "
                            "diagram") from None
    errors = done.stderr.decode("utf-8", "replace").strip()
    svg = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0 or "<svg" not in svg:
        raise TopologyError(f"Graphviz failed (exit {done.returncode}): "
                            f"{errors[:300] or 'no SVG and no message'}")
    if errors.lower().startswith("error"):
        raise TopologyError(f"Graphviz reported: {errors[:300]}")
    return svg

"""Drawings of a flow: Graphviz DOT text, rendered by ``dot`` when it is installed, else a
layered matplotlib drawing.

Nodes are drawn by type (menu, collect, play, action, ...); edges carry their labels
(choices, outcomes, then/else); edges taken without caller input on exhaustion are dashed;
subflows are clusters.
"""
import os
import shutil
import subprocess

SHAPES = {"menu": "component", "collect": "parallelogram", "play": "note", "say": "note",
          "record": "cylinder", "transfer": "house", "action": "box3d", "set": "box",
          "if": "diamond", "subflow": "tab", "return": "doubleoctagon", "hangup": "octagon"}
COLOURS = {"menu": "#cfe2ff", "collect": "#d1e7dd", "play": "#fff3cd", "say": "#fff3cd",
           "record": "#f8d7da", "transfer": "#e2d9f3", "action": "#e9ecef", "hangup": "#f5c2c7",
           "return": "#f5c2c7"}


def _q(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _id(node):
    return _q(f"{node.scope}/{node.name}" if node.scope else node.name)


def edges(flow):
    """(from node, to node, label, dashed) for every edge of the flow."""
    out = []
    for node in flow.all_nodes():
        scope = flow.scope_nodes(node.scope)
        for label, target in node.targets():
            if target in scope:
                dashed = label.endswith("_exhausted") or label.startswith("on error") or label.startswith("on timeout")
                short = label.replace("choice ", "").replace("on_", "").replace("on ", "")
                out.append((node, scope[target], short if label != "next" else "", dashed))
        if node.type == "subflow" and node["flow"] in flow.subflows:
            sub = flow.subflows[node["flow"]]
            if sub.start in sub.nodes:
                out.append((node, sub.nodes[sub.start], "call", True))
    return out


def to_dot(flow):
    """The flow as Graphviz DOT text."""
    lines = [f"digraph {_q(flow.name)} {{", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10, style=filled];',
             '  edge [fontname="Helvetica", fontsize=9];',
             f'  label={_q(f"{flow.name} ({flow.version})")}; labelloc=t;']

    def node_line(node):
        label = f'"{node.name}\\n[{node.type}]"'          # node names have no quotes (schema)
        return (f"  {_id(node)} [label={label}, "
                f"shape={SHAPES[node.type]}, fillcolor={_q(COLOURS.get(node.type, '#ffffff'))}];")

    lines.append('  "__start" [shape=circle, label="", width=0.2, fillcolor=black];')
    for node in flow.nodes.values():
        lines.append(node_line(node))
    if flow.start in flow.nodes:
        lines.append(f'  "__start" -> {_id(flow.nodes[flow.start])};')
    for name, target in flow.handlers.items():
        if target in flow.nodes:
            lines.append(f'  {_q("__" + name)} [shape=plaintext, style="", label={_q("on " + name)}];')
            lines.append(f'  {_q("__" + name)} -> {_id(flow.nodes[target])} [style=dotted];')
    for i, sub in enumerate(flow.subflows.values()):
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f"    label={_q('subflow ' + sub.name)}; style=rounded;")
        for node in sub.nodes.values():
            lines.append("  " + node_line(node))
        lines.append("  }")
    for a, b, label, dashed in edges(flow):
        attrs = []
        if label:
            attrs.append(f"label={_q(label)}")
        if dashed:
            attrs.append("style=dashed")
        lines.append(f"  {_id(a)} -> {_id(b)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(flow, out, engine=None):
    """Draw the flow into ``out`` (.svg, .png, .pdf or .dot). ``engine``: "dot",
    "matplotlib" or None (dot if installed). Returns the engine used."""
    ext = os.path.splitext(out)[1].lower().lstrip(".")
    if ext not in ("svg", "png", "pdf", "dot"):
        raise ValueError(f"{out}: the output must end in .svg, .png, .pdf or .dot")
    text = to_dot(flow)
    if ext == "dot":
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
        return "dot-text"
    if engine is None:
        engine = "dot" if shutil.which("dot") else "matplotlib"
    if engine == "dot":
        exe = shutil.which("dot")
        if exe is None:
            raise ValueError("graphviz 'dot' is not installed (apt-get install graphviz), use --engine matplotlib")
        proc = subprocess.run([exe, f"-T{ext}", "-o", out], input=text.encode(), capture_output=True, timeout=60)
        if proc.returncode != 0:
            raise ValueError(f"dot failed: {proc.stderr.decode(errors='replace').strip()}")
        return "dot"
    if engine != "matplotlib":
        raise ValueError(f"unknown engine {engine!r} (dot or matplotlib)")
    _draw_matplotlib(flow, out)
    return "matplotlib"


def _layers(flow):
    """Rows of nodes by breadth-first depth from the start (subflows below the main flow)."""
    rows = []
    placed = set()
    groups = [(flow.nodes, [flow.start] + list(flow.handlers.values()))]
    groups += [(sub.nodes, [sub.start]) for sub in flow.subflows.values()]
    for nodes, roots in groups:
        frontier = [nodes[r] for r in roots if r in nodes]
        while frontier:
            row = []
            for n in frontier:
                if id(n) not in placed:
                    placed.add(id(n))
                    row.append(n)
            if row:
                rows.append(row)
            frontier = [nodes[t] for n in row for _, t in n.targets() if t in nodes and id(nodes[t]) not in placed]
        rest = [n for n in nodes.values() if id(n) not in placed]
        if rest:
            for n in rest:
                placed.add(id(n))
            rows.append(rest)
    return rows


def _draw_matplotlib(flow, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _layers(flow)
    width = max(len(r) for r in rows)
    pos = {}
    for y, row in enumerate(rows):
        for x, node in enumerate(row):
            pos[id(node)] = ((x + 0.5) * width / len(row), -y)
    fig, ax = plt.subplots(figsize=(max(6, 2.2 * width), max(4, 1.3 * len(rows))))
    for a, b, label, dashed in edges(flow):
        (x1, y1), (x2, y2) = pos[id(a)], pos[id(b)]
        ax.annotate("", xy=(x2, y2 + 0.15), xytext=(x1, y1 - 0.15),
                    arrowprops=dict(arrowstyle="->", lw=0.8, ls="--" if dashed else "-", color="#555555",
                                    connectionstyle="arc3,rad=0.15" if y2 >= y1 else "arc3"))
        if label:
            ax.text((x1 + x2) / 2, (y1 + y2) / 2, label, fontsize=7, color="#333333", ha="center")
    for node in flow.all_nodes():
        x, y = pos[id(node)]
        ax.text(x, y, f"{node.name}\n[{node.type}]", ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round" if node.type != "if" else "round4",
                          fc=COLOURS.get(node.type, "#ffffff"), ec="#333333"))
    ax.set_title(f"{flow.name} ({flow.version})")
    ax.set_xlim(-0.2, width + 0.2)
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


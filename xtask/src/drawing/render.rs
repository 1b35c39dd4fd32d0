//! The diagram as Graphviz DOT and as Mermaid, deterministic: the same model gives the same
//! bytes. Boxes are grouped in clusters, arrows styled by what they carry.

use super::model::{Arrow, Box, Cluster, Diagram, Kind, Style};

/// The DOT source; `header` is the comment line saying where it comes from.
pub fn dot(diagram: &Diagram, header: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!("// {header}\n"));
    for line in not_drawn(diagram) {
        out.push_str(&format!("// {line}\n"));
    }
    out.push_str(&format!("digraph {} {{\n", quote(&diagram.title)));
    out.push_str(&format!(
        "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, labelloc=t, nodesep=0.3, ranksep=0.55, pad=0.2, label={}];\n",
        quote(&caption(diagram, "\n"))
    ));
    out.push_str("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, color=\"#5f6368\", fillcolor=\"#ffffff\", margin=\"0.15,0.07\"];\n");
    out.push_str(
        "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#5f6368\", fontcolor=\"#3c4043\"];\n",
    );
    for (cluster, boxes) in clusters(diagram) {
        out.push_str(&format!(
            "  subgraph cluster_{} {{\n    label={}; style=\"rounded,dashed\"; color=\"#9aa0a6\"; fontcolor=\"#3c4043\";\n",
            cluster.id(),
            quote(cluster.title())
        ));
        for b in boxes {
            out.push_str(&format!(
                "    {} [label={}, fillcolor=\"{}\"{}];\n",
                quote(&b.id),
                quote(&b.label.join("\n")),
                fill(b.kind),
                if matches!(b.kind, Kind::Viewer | Kind::Model | Kind::Destination) {
                    ", shape=box, style=\"rounded,filled,bold\""
                } else {
                    ""
                }
            ));
        }
        out.push_str("  }\n");
    }
    let kind_of = |id: &str| diagram.boxes.iter().find(|b| b.id == id).map(|b| b.kind);
    for arrow in &diagram.arrows {
        let style = match arrow.style {
            Style::Request => ", penwidth=1.6, color=\"#1a73e8\"",
            Style::Data => "",
            Style::Control => ", style=dashed",
        };
        match layout(kind_of(&arrow.from), kind_of(&arrow.to)) {
            // Written the other way round and drawn pointing back, so what watches is laid
            // out after what it watches, not before the whole request path.
            Layout::Backward => out.push_str(&format!(
                "  {} -> {} [label={}{style}, dir=back];\n",
                quote(&arrow.to),
                quote(&arrow.from),
                quote(&arrow.label),
            )),
            Layout::Ranked | Layout::Unranked => out.push_str(&format!(
                "  {} -> {} [label={}{style}{}];\n",
                quote(&arrow.from),
                quote(&arrow.to),
                quote(&arrow.label),
                if layout(kind_of(&arrow.from), kind_of(&arrow.to)) == Layout::Unranked {
                    ", constraint=false"
                } else {
                    ""
                }
            )),
        }
    }
    out.push_str("}\n");
    out
}

/// How an arrow takes part in Graphviz's ranking (left to right).
#[derive(PartialEq, Eq)]
enum Layout {
    Ranked,
    /// Alarms and the dashboard point at what they watch, which comes first.
    Backward,
    /// The origin secret is read by three boxes along the path: it ranks none of them.
    Unranked,
}

fn layout(from: Option<Kind>, to: Option<Kind>) -> Layout {
    match (from, to) {
        (Some(Kind::Alarms | Kind::Dashboard), Some(Kind::Topic | Kind::Destination)) => {
            Layout::Ranked
        }
        (Some(Kind::Alarms | Kind::Dashboard), _) => Layout::Backward,
        (Some(Kind::Secret), _) => Layout::Unranked,
        _ => Layout::Ranked,
    }
}

/// The Mermaid source (`flowchart TB`), for editing and for renderers that read Mermaid.
pub fn mermaid(diagram: &Diagram, header: &str) -> String {
    // The front matter must come first; its title is a YAML string, quoted since it holds
    // colons.
    let title = caption(diagram, " — ")
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let mut out = format!("---\ntitle: \"{title}\"\n---\n");
    out.push_str(&format!("%% {header}\n"));
    for line in not_drawn(diagram) {
        out.push_str(&format!("%% {line}\n"));
    }
    out.push_str("flowchart TB\n");
    for (cluster, boxes) in clusters(diagram) {
        out.push_str(&format!(
            "  subgraph {}[\"{}\"]\n",
            cluster.id(),
            mermaid_text(cluster.title())
        ));
        for b in boxes {
            let text = b
                .label
                .iter()
                .map(|l| mermaid_text(l))
                .collect::<Vec<_>>()
                .join("<br/>");
            out.push_str(&format!("    {}[\"{text}\"]\n", b.id));
        }
        out.push_str("  end\n");
    }
    for Arrow {
        from,
        to,
        label,
        style,
    } in &diagram.arrows
    {
        let link = match style {
            Style::Request => "==>",
            Style::Data => "-->",
            Style::Control => "-.->",
        };
        if label.is_empty() {
            out.push_str(&format!("  {from} {link} {to}\n"));
        } else {
            out.push_str(&format!(
                "  {from} {link}|\"{}\"| {to}\n",
                mermaid_text(label)
            ));
        }
    }
    out
}

/// The title and what the environment turns on, four items a line.
fn caption(diagram: &Diagram, separator: &str) -> String {
    let lines: Vec<String> = diagram
        .features
        .chunks(4)
        .map(|items| items.join(" · "))
        .collect();
    format!("{}{separator}{}", diagram.title, lines.join(separator))
}

fn not_drawn(diagram: &Diagram) -> Vec<String> {
    if diagram.not_drawn.is_empty() {
        Vec::new()
    } else {
        vec![format!("Not drawn: {}", diagram.not_drawn.join(", "))]
    }
}

/// The boxes of each cluster, clusters in their fixed order.
fn clusters(diagram: &Diagram) -> Vec<(Cluster, Vec<&Box>)> {
    let mut out: Vec<(Cluster, Vec<&Box>)> = Vec::new();
    for b in &diagram.boxes {
        let cluster = b.kind.cluster();
        match out.last_mut() {
            Some((c, boxes)) if *c == cluster => boxes.push(b),
            _ => out.push((cluster, vec![b])),
        }
    }
    out
}

fn fill(kind: Kind) -> &'static str {
    match kind {
        Kind::Viewer => "#f1f3f4",
        Kind::Cdn | Kind::Bucket => "#e8f0fe",
        Kind::Api | Kind::Alias | Kind::Function => "#fef7e0",
        Kind::Table | Kind::Secret => "#e6f4ea",
        Kind::Model | Kind::Guardrail => "#f3e8fd",
        Kind::Logs | Kind::Alarms | Kind::Dashboard | Kind::Topic => "#fce8e6",
        Kind::Destination => "#ffffff",
        Kind::Other => "#ffffff",
    }
}

/// A DOT string: quoted, with `"` and `\` escaped and line breaks as `\n`.
fn quote(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

/// Text inside a quoted Mermaid label: `"` as an entity, no `|` (it ends an edge label).
fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;").replace('|', "/")
}

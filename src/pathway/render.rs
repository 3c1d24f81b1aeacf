//! The decision graph as text for reviewers: Mermaid flowcharts or Graphviz DOT.

use super::{Pathway, Route};
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GraphFormat {
    #[default]
    Mermaid,
    Dot,
}

impl GraphFormat {
    pub fn parse(text: &str) -> Option<GraphFormat> {
        match text {
            "mermaid" => Some(GraphFormat::Mermaid),
            "dot" => Some(GraphFormat::Dot),
            _ => None,
        }
    }
}

impl Pathway {
    /// Every node with its title and every edge with its branch label.
    pub fn render_graph(&self, format: GraphFormat) -> String {
        let mut edges: Vec<(usize, usize, String)> = Vec::new();
        for (index, node) in self.nodes.iter().enumerate() {
            match &node.route {
                Route::End => {}
                Route::Next(next) => edges.push((index, *next, String::new())),
                Route::Decide {
                    branches,
                    otherwise,
                } => {
                    for branch in branches {
                        edges.push((index, branch.to, branch.label.clone()));
                    }
                    edges.push((index, *otherwise, "otherwise".into()));
                }
            }
        }
        let mut out = String::new();
        match format {
            GraphFormat::Mermaid => {
                let _ = writeln!(out, "flowchart TD");
                for (index, node) in self.nodes.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "  n{index}[\"{}<br/>{}\"]",
                        mermaid_text(&node.id),
                        mermaid_text(&node.title)
                    );
                }
                for (from, to, label) in edges {
                    if label.is_empty() {
                        let _ = writeln!(out, "  n{from} --> n{to}");
                    } else {
                        let _ = writeln!(out, "  n{from} -->|\"{}\"| n{to}", mermaid_text(&label));
                    }
                }
            }
            GraphFormat::Dot => {
                let _ = writeln!(out, "digraph \"{}\" {{", dot_text(&self.id));
                let _ = writeln!(out, "  node [shape=box];");
                for node in &self.nodes {
                    let _ = writeln!(
                        out,
                        "  \"{}\" [label=\"{}\\n{}\"];",
                        dot_text(&node.id),
                        dot_text(&node.id),
                        dot_text(&node.title)
                    );
                }
                for (from, to, label) in edges {
                    let (from, to) = (dot_text(&self.nodes[from].id), dot_text(&self.nodes[to].id));
                    if label.is_empty() {
                        let _ = writeln!(out, "  \"{from}\" -> \"{to}\";");
                    } else {
                        let _ = writeln!(
                            out,
                            "  \"{from}\" -> \"{to}\" [label=\"{}\"];",
                            dot_text(&label)
                        );
                    }
                }
                out.push_str("}\n");
            }
        }
        out
    }
}

fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;")
}

fn dot_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

//! Compiles the decision graph: nodes, their guards, branches and offers, and the whole-graph
//! checks for cycles and unreachable nodes.

use super::*;

impl Compiler {
    pub(super) fn nodes(
        &mut self,
        files: &[file::NodeFile],
        start_name: &Name,
    ) -> (Vec<Node>, Option<usize>) {
        self.nodes = self.register("node", &files.iter().map(|n| &n.id).collect::<Vec<_>>());
        let node_map = std::mem::take(&mut self.nodes);
        let start = self.lookup(&node_map, "node", start_name);
        let mut nodes = Vec::new();
        for node in files {
            let guard = node
                .when
                .as_ref()
                .and_then(|c| self.condition(c))
                .map(When::new);
            let mut offers = Vec::new();
            for offer in &node.offer {
                let option = self.option(&offer.option);
                let rationale = self.template(&offer.rationale, true);
                let when = offer.when.as_ref().map(|c| self.condition(c));
                let citations: Vec<usize> = offer
                    .citations
                    .iter()
                    .filter_map(|c| self.source(c))
                    .collect();
                if let (Some(option), Some(rationale)) = (option, rationale) {
                    offers.push(Offer {
                        option,
                        priority: offer.priority,
                        rationale,
                        when: when.flatten().map(When::new),
                        citations,
                    });
                }
            }
            let mut avoids = Vec::new();
            for avoid in &node.avoid {
                let option = self.option(&avoid.option);
                let reason = self.template(&avoid.reason, true);
                let when = avoid.when.as_ref().map(|c| self.condition(c));
                let citations: Vec<usize> = avoid
                    .citations
                    .iter()
                    .filter_map(|c| self.source(c))
                    .collect();
                if let (Some(option), Some(reason)) = (option, reason) {
                    avoids.push(Avoid {
                        option,
                        reason,
                        when: when.flatten().map(When::new),
                        citations,
                    });
                }
            }
            let alert_map = std::mem::take(&mut self.alerts);
            let alerts = node
                .alerts
                .iter()
                .filter_map(|code| self.lookup(&alert_map, "alert", code))
                .collect();
            self.alerts = alert_map;
            let mut suppress = Vec::new();
            for name in &node.suppress {
                if let Some(group) = self.groups.get(name.get_ref()) {
                    suppress.extend(group.iter().copied());
                } else if let Some(option) = self.options.get(name.get_ref()) {
                    suppress.push(*option);
                } else {
                    self.error(
                        name.span(),
                        format!("unknown option or group `{}`", name.get_ref()),
                    );
                }
            }
            let route = match (&node.next, node.branches.is_empty(), &node.otherwise) {
                (None, true, None) => Some(Route::End),
                (Some(next), true, None) => self.lookup(&node_map, "node", next).map(Route::Next),
                (None, false, Some(otherwise)) => {
                    let otherwise = self.lookup(&node_map, "node", otherwise);
                    let branches: Vec<Option<(Condition, usize, Option<String>)>> = node
                        .branches
                        .iter()
                        .map(|b| {
                            let when = self.condition(&b.when);
                            let to = self.lookup(&node_map, "node", &b.to);
                            Some((when?, to?, b.label.clone()))
                        })
                        .collect();
                    let branches: Option<Vec<_>> = branches.into_iter().collect();
                    match (branches, otherwise) {
                        (Some(branches), Some(otherwise)) => Some(Route::Decide {
                            branches: branches
                                .into_iter()
                                .map(|(when, to, label)| Branch {
                                    when: When::new(when),
                                    to,
                                    label: label.unwrap_or_default(),
                                })
                                .collect(),
                            otherwise,
                        }),
                        _ => None,
                    }
                }
                (None, false, None) => {
                    self.error(
                        node.id.span(),
                        format!(
                            "decision `{}` has no default branch (`otherwise`)",
                            node.id.get_ref()
                        ),
                    );
                    None
                }
                (None, true, Some(_)) => {
                    self.error(
                        node.id.span(),
                        format!(
                            "node `{}` has `otherwise` but no branches (use `next`)",
                            node.id.get_ref()
                        ),
                    );
                    None
                }
                (Some(_), _, _) => {
                    self.error(
                        node.id.span(),
                        format!("node `{}` has both `next` and branches", node.id.get_ref()),
                    );
                    None
                }
            };
            let mut reads = Vec::new();
            let mut reads_params = Vec::new();
            let conditions = guard
                .iter()
                .chain(offers.iter().filter_map(|o| o.when.as_ref()))
                .chain(avoids.iter().filter_map(|a| a.when.as_ref()));
            for when in conditions {
                when.condition.collect_fields(&mut reads);
                when.condition.collect_params(&mut reads_params);
            }
            if let Some(Route::Decide { branches, .. }) = &route {
                for branch in branches {
                    branch.when.condition.collect_fields(&mut reads);
                    branch.when.condition.collect_params(&mut reads_params);
                }
            }
            reads.sort();
            reads.dedup();
            reads_params.sort();
            reads_params.dedup();
            nodes.push(Node {
                id: node.id.get_ref().clone(),
                title: node.title.clone(),
                rules: node.rules.clone(),
                guard,
                offers,
                avoids,
                alerts,
                suppress,
                route: route.unwrap_or(Route::End),
                reads,
                reads_params,
            });
        }
        self.nodes = node_map;
        if self.errors.is_empty()
            && let Some(start) = start
        {
            self.graph_checks(files, &nodes, start);
        }
        (nodes, start)
    }

    /// Cycles and unreachable nodes. Hand-written and iterative: petgraph's `depth_first_search`
    /// recurses once per node of a path and overflows a 2 MiB stack on a chain that a 1 MiB file holds.
    fn graph_checks(&mut self, files: &[file::NodeFile], nodes: &[Node], start: usize) {
        let successors = |node: &Node| -> Vec<usize> {
            match &node.route {
                Route::End => Vec::new(),
                Route::Next(next) => vec![*next],
                Route::Decide {
                    branches,
                    otherwise,
                } => branches
                    .iter()
                    .map(|b| b.to)
                    .chain(std::iter::once(*otherwise))
                    .collect(),
            }
        };
        // Iterative depth-first search with colours: 0 new, 1 on the stack, 2 done.
        let mut colour = vec![0u8; nodes.len()];
        for root in 0..nodes.len() {
            if colour[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, 0usize)];
            colour[root] = 1;
            while let Some((node, child)) = stack.pop() {
                let next = successors(&nodes[node]);
                if child < next.len() {
                    stack.push((node, child + 1));
                    let target = next[child];
                    match colour[target] {
                        0 => {
                            colour[target] = 1;
                            stack.push((target, 0));
                        }
                        1 => self.error(
                            files[node].id.span(),
                            format!(
                                "cycle: node `{}` leads back to `{}`",
                                nodes[node].id, nodes[target].id
                            ),
                        ),
                        _ => {}
                    }
                } else {
                    colour[node] = 2;
                }
            }
        }
        let mut reached = vec![false; nodes.len()];
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            if !std::mem::replace(&mut reached[node], true) {
                stack.extend(successors(&nodes[node]));
            }
        }
        for (index, reached) in reached.iter().enumerate() {
            if !reached {
                self.error(
                    files[index].id.span(),
                    format!(
                        "node `{}` is unreachable from the start node",
                        nodes[index].id
                    ),
                );
            }
        }
    }
}

//! What the engine's walk reads, laid out for it: each node's guard, offers, avoids, alerts,
//! suppressions and route, every condition program in one arena, and each option's tie order per
//! region. Built at load from the [`Node`](super::Node)s, which keep the ids, titles, templates and
//! conditions as the file states them for answers and the trace.
//!
//! A walk used to follow a pointer per list and per program, and read options' region tables from
//! their own heap blocks, and much of its time went to those cache misses. Here it reads a few small
//! contiguous tables.
//!
//! For R26's walks of other profiles, which keep only what is offered and avoided, the tables also
//! tell which options each node touches, where the next node that touches any stands, and which
//! programs can hold differently under two profiles (a profile that finds the same for those walks
//! the same way).

use super::condition::Context;
use super::program::{Step, When, run};
use super::{Pathway, Route};
use std::ops::Range;

/// The walk's tables of one pathway.
#[derive(Debug, Default)]
pub struct Walk {
    nodes: Box<[WalkNode]>,
    offers: Box<[WalkOffer]>,
    avoids: Box<[WalkAvoid]>,
    branches: Box<[WalkBranch]>,
    /// The alert and suppressed option indices of every node.
    indices: Box<[u32]>,
    /// The `when` of every assessment entry, in file order.
    assessments: Box<[Program]>,
    /// Every program's steps.
    steps: Box<[Step]>,
    /// By option, then region slot: the option's tie order there, or [`NOT_SERVED`].
    tie_orders: Box<[u32]>,
    regions: usize,
    /// By node, then word: the options the node offers, avoids or suppresses, 64 a word.
    touches: Box<[u64]>,
    option_words: usize,
    /// By node: where a walk that keeps only options has something to do from that node on (see
    /// [`Walk::shaping`]), or [`NO_NODE`].
    shaping: Box<[u32]>,
    /// By step: at the first step of each program that may hold differently under two profiles,
    /// because it reads a parameter they set differently for some region, the program's place in
    /// `classes`; [`ALIKE`] elsewhere.
    varies: Box<[u32]>,
    /// By varying program, then region slot, then profile: the first profile that sets every
    /// parameter the program reads as this profile does there.
    classes: Box<[u32]>,
    profiles: usize,
}

/// A program that holds alike under every profile.
const ALIKE: u32 = u32::MAX;

/// A node index no node has: the walk ends.
const NO_NODE: u32 = u32::MAX;

/// A tie order no option has: the option does not serve the region.
const NOT_SERVED: u32 = u32::MAX;

/// A run of entries in one of the tables.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// A program in the arena; an empty one stands for no condition, which holds.
pub type Program = Span;

#[derive(Debug, Clone, Copy)]
pub struct WalkNode {
    pub guard: Program,
    pub offers: Span,
    pub avoids: Span,
    pub alerts: Span,
    pub suppress: Span,
    pub route: WalkRoute,
}

impl WalkNode {
    /// Whether the node can change what is offered or avoided: it offers, avoids or suppresses
    /// something. A node that only raises alerts does not (its route does not depend on its guard).
    fn shapes_options(&self) -> bool {
        !(self.offers.is_empty() && self.avoids.is_empty() && self.suppress.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkRoute {
    End,
    Next(u32),
    Decide { branches: Span, otherwise: u32 },
}

#[derive(Debug, Clone, Copy)]
pub struct WalkOffer {
    pub option: u32,
    pub priority: i32,
    pub when: Program,
}

#[derive(Debug, Clone, Copy)]
pub struct WalkAvoid {
    pub option: u32,
    pub when: Program,
}

#[derive(Debug, Clone, Copy)]
pub struct WalkBranch {
    pub when: Program,
    pub to: u32,
}

/// [`Walk::shaping`] for every node. A validated pathway has no cycle, so the runs of single-next
/// nodes end; they are filled from their ends, without recursion.
fn shaping(nodes: &[WalkNode]) -> Box<[u32]> {
    const UNKNOWN: u32 = NO_NODE - 1;
    let mut shaping = vec![UNKNOWN; nodes.len()];
    let mut run = Vec::new();
    for start in 0..nodes.len() {
        let mut at = start;
        let end = loop {
            if shaping[at] != UNKNOWN {
                break shaping[at];
            }
            run.push(at);
            let node = &nodes[at];
            match node.route {
                WalkRoute::Next(next) if !node.shapes_options() => at = next as usize,
                WalkRoute::End if !node.shapes_options() => break NO_NODE,
                _ => break position(at),
            }
        };
        for node in run.drain(..) {
            shaping[node] = end;
        }
    }
    shaping.into()
}

/// A table position; pathways are far smaller than `u32` counts.
fn position(index: usize) -> u32 {
    u32::try_from(index).expect("pathway tables hold fewer than 2^32 entries")
}

/// Appends entries to a table and returns their span.
fn extend<T>(table: &mut Vec<T>, entries: impl IntoIterator<Item = T>) -> Span {
    let start = position(table.len());
    table.extend(entries);
    Span {
        start,
        end: position(table.len()),
    }
}

impl Walk {
    /// The tables of a pathway's nodes, options and assessments.
    fn new(pathway: &Pathway) -> Walk {
        let (nodes, options, regions) = (&pathway.nodes, &pathway.options, pathway.regions.len());
        let profiles = pathway.profiles.len();
        let mut steps = Vec::new();
        let mut varies = Vec::new();
        let mut classes = Vec::new();
        // For a program, by region slot then profile: the first profile that sets every parameter
        // the program reads as this one does there (all 0 when no two profiles differ on them).
        let classes_of = |program: &[Step]| {
            let reads = program
                .iter()
                .flat_map(|step| step.profile_params(&pathway.counts));
            let reads: Vec<usize> = reads.flatten().collect();
            let mut classes = Vec::with_capacity(regions * profiles);
            for slot in 0..regions {
                let values = |profile| {
                    let row = pathway.row_params(profile, slot);
                    reads.iter().map(move |&param| &row[param])
                };
                for profile in 0..profiles {
                    let first = (0..profile).find(|&other| values(other).eq(values(profile)));
                    classes.push(position(first.unwrap_or(profile)));
                }
            }
            classes
        };
        let mut program = |when: Option<&When>| {
            let program = when.map_or(&[][..], When::steps);
            let program_classes = classes_of(program);
            let place = match program_classes.iter().any(|&class| class != 0) {
                true => position(classes.len() / (regions * profiles)),
                false => ALIKE,
            };
            if place != ALIKE {
                classes.extend(program_classes);
            }
            varies.extend((0..program.len()).map(|step| if step == 0 { place } else { ALIKE }));
            extend(&mut steps, program.iter().copied())
        };
        let mut offers = Vec::new();
        let mut avoids = Vec::new();
        let mut branches = Vec::new();
        let mut indices = Vec::new();
        let mut walk_nodes = Vec::with_capacity(nodes.len());
        for node in nodes {
            let guard = program(node.guard.as_ref());
            let node_offers: Vec<WalkOffer> = (node.offers.iter())
                .map(|offer| WalkOffer {
                    option: position(offer.option),
                    priority: offer.priority,
                    when: program(offer.when.as_ref()),
                })
                .collect();
            let node_avoids: Vec<WalkAvoid> = (node.avoids.iter())
                .map(|avoid| WalkAvoid {
                    option: position(avoid.option),
                    when: program(avoid.when.as_ref()),
                })
                .collect();
            let route = match &node.route {
                Route::End => WalkRoute::End,
                Route::Next(next) => WalkRoute::Next(position(*next)),
                Route::Decide {
                    branches: node_branches,
                    otherwise,
                } => {
                    let entries: Vec<WalkBranch> = (node_branches.iter())
                        .map(|branch| WalkBranch {
                            when: program(Some(&branch.when)),
                            to: position(branch.to),
                        })
                        .collect();
                    WalkRoute::Decide {
                        branches: extend(&mut branches, entries),
                        otherwise: position(*otherwise),
                    }
                }
            };
            walk_nodes.push(WalkNode {
                guard,
                offers: extend(&mut offers, node_offers),
                avoids: extend(&mut avoids, node_avoids),
                alerts: extend(&mut indices, node.alerts.iter().map(|&a| position(a))),
                suppress: extend(&mut indices, node.suppress.iter().map(|&o| position(o))),
                route,
            });
        }
        let assessments = (pathway.assessments.iter())
            .map(|entry| program(entry.when.as_ref()))
            .collect();
        let option_words = options.len().div_ceil(64);
        let mut touches = vec![0; nodes.len() * option_words];
        for (index, node) in nodes.iter().enumerate() {
            let touched = (node.offers.iter().map(|offer| offer.option))
                .chain(node.avoids.iter().map(|avoid| avoid.option))
                .chain(node.suppress.iter().copied());
            for option in touched {
                touches[index * option_words + option / 64] |= 1 << (option % 64);
            }
        }
        let shaping = shaping(&walk_nodes);
        let tie_orders = (options.iter())
            .flat_map(|option| {
                (0..regions).map(|slot| match option.serves[slot] {
                    true => position(option.tie_order[slot]),
                    false => NOT_SERVED,
                })
            })
            .collect();
        Walk {
            nodes: walk_nodes.into(),
            offers: offers.into(),
            avoids: avoids.into(),
            branches: branches.into(),
            indices: indices.into(),
            assessments,
            steps: steps.into(),
            tie_orders,
            regions,
            touches: touches.into(),
            option_words,
            shaping,
            varies: varies.into(),
            classes: classes.into(),
            profiles,
        }
    }

    #[inline(always)]
    pub fn node(&self, index: usize) -> &WalkNode {
        &self.nodes[index]
    }

    #[inline(always)]
    pub fn offers(&self, span: Span) -> &[WalkOffer] {
        &self.offers[span.range()]
    }

    #[inline(always)]
    pub fn avoids(&self, span: Span) -> &[WalkAvoid] {
        &self.avoids[span.range()]
    }

    #[inline(always)]
    pub fn branches(&self, span: Span) -> &[WalkBranch] {
        &self.branches[span.range()]
    }

    /// A node's alert or suppressed option indices.
    #[inline(always)]
    pub fn indices(&self, span: Span) -> &[u32] {
        &self.indices[span.range()]
    }

    /// Whether `program` holds for the request and row of `ctx` (an empty one always does).
    #[inline(always)]
    pub fn holds(&self, program: Program, ctx: &Context) -> bool {
        program.start == program.end || run(&self.steps[program.range()], ctx)
    }

    /// Where the walk goes after a node with `route`: the next node (`None` at the end) and, for a
    /// decision, the index of the branch taken (`None` for `otherwise`). `holds` tests a branch's
    /// program.
    #[inline(always)]
    pub fn follow(
        &self,
        route: WalkRoute,
        mut holds: impl FnMut(Program) -> bool,
    ) -> (Option<usize>, Option<usize>) {
        match route {
            WalkRoute::End => (None, None),
            WalkRoute::Next(next) => (Some(next as usize), None),
            WalkRoute::Decide {
                branches,
                otherwise,
            } => {
                let branches = self.branches(branches);
                let taken = branches.iter().position(|branch| holds(branch.when));
                let next = taken.map_or(otherwise, |i| branches[i].to);
                (Some(next as usize), taken)
            }
        }
    }

    /// Whether `program` may hold differently under two profiles for one request: it reads a
    /// parameter they set differently for some region. Any other holds alike under every profile.
    #[inline(always)]
    pub fn varies(&self, program: Program) -> bool {
        !program.is_empty() && self.varies[program.start as usize] != ALIKE
    }

    /// Whether `program` holds alike under profiles `a` and `b` for any request in the region slot:
    /// they set every parameter it reads alike there.
    #[inline(always)]
    pub fn alike(&self, program: Program, slot: usize, a: usize, b: usize) -> bool {
        if !self.varies(program) {
            return true;
        }
        let row =
            (self.varies[program.start as usize] as usize * self.regions + slot) * self.profiles;
        self.classes[row + a] == self.classes[row + b]
    }

    /// The option's place among options of equal priority in the region slot, or `None` when the
    /// option does not serve that region.
    #[inline(always)]
    pub fn tie_order(&self, option: u32, slot: usize) -> Option<u32> {
        let order = self.tie_orders[option as usize * self.regions + slot];
        (order != NOT_SERVED).then_some(order)
    }

    /// Whether the node offers, avoids or suppresses one of the options whose bits are `options`
    /// (64 a word, over the pathway's options).
    #[inline(always)]
    pub fn touches(&self, node: usize, options: &[u64]) -> bool {
        let touched = &self.touches[node * self.option_words..][..self.option_words];
        (touched.iter().zip(options)).any(|(a, b)| a & b != 0)
    }

    /// The first node, from `node` on along single-next routes, that offers, avoids or suppresses
    /// an option or decides between branches; `None` when the walk ends before one. A walk that
    /// keeps only what is offered and avoided goes straight there: the nodes in between only
    /// raise alerts, and their guards do not change the route.
    #[inline(always)]
    pub fn shaping(&self, node: usize) -> Option<usize> {
        let to = self.shaping[node];
        (to != NO_NODE).then_some(to as usize)
    }

    /// The first assessment entry whose condition holds; a validated pathway ends with one that
    /// always does.
    pub fn assessment(&self, ctx: &Context) -> Option<usize> {
        (self.assessments.iter()).position(|&program| self.holds(program, ctx))
    }
}

impl Pathway {
    /// The walk's tables, built from the rest of the pathway.
    pub(super) fn build_walk(&self) -> Walk {
        Walk::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pathway::PathwaySet;

    fn program(walk: &Walk, program: Program) -> &[Step] {
        &walk.steps[program.range()]
    }

    fn same(walk: &Walk, compiled: Program, when: Option<&When>) {
        assert_eq!(program(walk, compiled), when.map_or(&[][..], When::steps));
    }

    /// Every table entry is its node's entry, in order, with the node's own program.
    #[test]
    fn the_tables_restate_every_node_option_and_assessment() {
        let pathways = PathwaySet::embedded().unwrap();
        let pathway = pathways.iter().next().unwrap();
        let walk = &pathway.walk;
        assert_eq!(walk.nodes.len(), pathway.nodes.len());
        for (index, node) in pathway.nodes.iter().enumerate() {
            let compiled = walk.node(index);
            same(walk, compiled.guard, node.guard.as_ref());
            let offers = walk.offers(compiled.offers);
            assert_eq!(offers.len(), node.offers.len());
            for (entry, offer) in offers.iter().zip(&node.offers) {
                assert_eq!(entry.option as usize, offer.option);
                assert_eq!(entry.priority, offer.priority);
                same(walk, entry.when, offer.when.as_ref());
            }
            let avoids = walk.avoids(compiled.avoids);
            assert_eq!(avoids.len(), node.avoids.len());
            for (entry, avoid) in avoids.iter().zip(&node.avoids) {
                assert_eq!(entry.option as usize, avoid.option);
                same(walk, entry.when, avoid.when.as_ref());
            }
            let widen = |span| {
                walk.indices(span)
                    .iter()
                    .map(|&i| i as usize)
                    .collect::<Vec<_>>()
            };
            assert_eq!(widen(compiled.alerts), node.alerts);
            assert_eq!(widen(compiled.suppress), node.suppress);
            match (&node.route, compiled.route) {
                (Route::End, WalkRoute::End) => {}
                (Route::Next(next), WalkRoute::Next(to)) => assert_eq!(*next, to as usize),
                (
                    Route::Decide {
                        branches,
                        otherwise,
                    },
                    WalkRoute::Decide {
                        branches: span,
                        otherwise: to,
                    },
                ) => {
                    assert_eq!(*otherwise, to as usize);
                    let entries = walk.branches(span);
                    assert_eq!(entries.len(), branches.len());
                    for (entry, branch) in entries.iter().zip(branches) {
                        assert_eq!(entry.to as usize, branch.to);
                        same(walk, entry.when, Some(&branch.when));
                    }
                }
                (route, compiled) => panic!("node {index}: {route:?} became {compiled:?}"),
            }
        }
        assert_eq!(walk.assessments.len(), pathway.assessments.len());
        for (compiled, entry) in walk.assessments.iter().zip(&pathway.assessments) {
            same(walk, *compiled, entry.when.as_ref());
        }
        for (index, option) in pathway.options.iter().enumerate() {
            for slot in 0..pathway.regions.len() {
                let expected = option.serves[slot].then_some(option.tie_order[slot] as u32);
                assert_eq!(walk.tie_order(index as u32, slot), expected);
            }
        }
    }

    /// From every node, `shaping` names the node that following the routes one node at a time
    /// finds first to offer, avoid or suppress an option or to decide between branches.
    #[test]
    fn shaping_passes_by_exactly_the_nodes_that_only_alert() {
        let pathways = PathwaySet::embedded().unwrap();
        let walk = &pathways.iter().next().unwrap().walk;
        let mut passed_by = 0;
        for start in 0..walk.nodes.len() {
            let mut at = Some(start);
            while let Some(index) = at {
                let node = walk.node(index);
                at = match node.route {
                    _ if node.shapes_options() => break,
                    WalkRoute::Decide { .. } => break,
                    WalkRoute::Next(next) => Some(next as usize),
                    WalkRoute::End => None,
                };
            }
            assert_eq!(walk.shaping(start), at, "from node {start}");
            passed_by += usize::from(at != Some(start));
        }
        assert!(passed_by > 0);
    }

    /// Node guards read through the tables agree with the nodes' own conditions, and a node
    /// without `when` (an empty program) always applies.
    #[test]
    fn guards_hold_through_the_tables_as_they_do_on_the_nodes() {
        let pathways = PathwaySet::embedded().unwrap();
        let pathway = pathways.iter().next().unwrap();
        let blank = crate::facts::Facts::blank();
        let unguarded = pathway.nodes.iter().filter(|node| node.guard.is_none());
        assert!(unguarded.count() > 0);
        for profile in 0..pathway.profiles.len() {
            for slot in 0..pathway.regions.len() {
                let ctx = Context::new(pathway, &blank, profile, slot);
                for (index, node) in pathway.nodes.iter().enumerate() {
                    let expected = node.guard.as_ref().is_none_or(|when| when.holds(&ctx));
                    assert_eq!(
                        pathway.walk.holds(pathway.walk.node(index).guard, &ctx),
                        expected
                    );
                }
            }
        }
    }
}

//! Evaluation: walks a compiled pathway for one request and ranks what it offers.
//!
//! The walk visits nodes from the start node; each node whose `when` holds contributes offers,
//! avoids, alerts and suppressions, then routes to its next node. The merge is fixed: an avoided or
//! suppressed option is never offered, and an option offered twice keeps its highest priority.
//! Ranking orders by priority, then the strength of `evidence[0]`, then invasiveness, then id.

mod compare;
mod disagree;
mod response;

pub use compare::{Comparison, Disagreement, ProfileAnswer, compare};
pub use response::*;

use crate::facts::{Facts, fact_json};
use crate::pathway::condition::Context;
use crate::pathway::walk::{Program, Walk, WalkRoute};
use crate::pathway::{Criterion, MAX_OPTIONS, Pathway, Resolved, Route};
use crate::request::TriageRequest;
use crate::vocab::CriterionStatus;

/// An offered option and the offer that won for it: the highest priority, first offered on a tie.
#[derive(Clone, Copy, Default)]
struct Pick {
    option: usize,
    priority: i32,
    node: usize,
    offer: usize,
    /// The option's [`OptionDef::tie_order`] in the request's region.
    tie_order: u32,
}

/// An avoided option and the first avoid entry that named it.
#[derive(Clone, Copy, Default)]
struct Avoided {
    option: usize,
    node: usize,
    avoid: usize,
}

/// The outcome of a walk as positions in the pathway; both the serde response and the direct
/// writer (`crate::wire`, through [`Decided`]) are built from it.
struct Decision {
    /// Offered options, best first.
    ranked: ShortList<Pick, 16>,
    /// Avoided options, in the order the walk met them.
    avoided: ShortList<Avoided, 8>,
    /// Raised alerts, most severe first.
    alerts: ShortList<usize, 8>,
    /// The assessment entry that applies.
    assessment: usize,
    /// The programs the walk tested that another profile could find otherwise, with their results:
    /// a profile that finds the same for each walks the same way (R26 reads it).
    varying: ShortList<(Program, bool), 16>,
}

impl Decision {
    fn new() -> Decision {
        Decision {
            ranked: ShortList::new(),
            avoided: ShortList::new(),
            alerts: ShortList::new(),
            assessment: 0,
            varying: ShortList::new(),
        }
    }
}

/// Walks the pathway for one request's facts into an empty `decision`, recording each visited node
/// in `trace` when `TRACED` (and `trace` is given): the walk without a trace then compiles without
/// any of the trace's bookkeeping.
fn decide<'a, const TRACED: bool>(
    pathway: &'a Pathway,
    ctx: &Context,
    mut trace: Option<&mut Vec<TraceStep<'a>>>,
    decision: &mut Decision,
) {
    let slot = ctx.region_slot;
    let walk = &pathway.walk;
    let mut offered = OptionSet::default();
    let mut avoided = OptionSet::default();
    // Avoided or suppressed: never offered.
    let mut excluded = OptionSet::default();

    let mut current = Some(pathway.start);
    while let Some(index) = current {
        let node = walk.node(index);
        let applied = test(walk, node.guard, ctx, &mut decision.varying);
        let mut step = match trace {
            Some(_) if TRACED => Some(new_step(pathway, ctx, index, applied)),
            _ => None,
        };
        if applied {
            for (offer_index, offer) in walk.offers(node.offers).iter().enumerate() {
                let option = offer.option as usize;
                let Some(tie_order) = walk.tie_order(offer.option, slot) else {
                    continue;
                };
                if !test(walk, offer.when, ctx, &mut decision.varying) {
                    continue;
                }
                let pick = Pick {
                    option,
                    priority: offer.priority,
                    node: index,
                    offer: offer_index,
                    tie_order,
                };
                if !offered.contains(option) {
                    offered.insert(option);
                    decision.ranked.push(pick);
                } else if let Some(held) = decision
                    .ranked
                    .iter_mut()
                    .find(|held| held.option == option && pick.priority > held.priority)
                {
                    *held = pick;
                }
                if let Some(step) = step.as_mut() {
                    step.offered.push(&pathway.options[option].id);
                }
            }
            for (avoid_index, avoid) in walk.avoids(node.avoids).iter().enumerate() {
                // An option the request's region does not serve is neither offered nor avoided:
                // telling a clinician to avoid a procedure that does not exist there misleads.
                if walk.tie_order(avoid.option, slot).is_none()
                    || !test(walk, avoid.when, ctx, &mut decision.varying)
                {
                    continue;
                }
                let option = avoid.option as usize;
                excluded.insert(option);
                if !avoided.contains(option) {
                    avoided.insert(option);
                    decision.avoided.push(Avoided {
                        option,
                        node: index,
                        avoid: avoid_index,
                    });
                }
                if let Some(step) = step.as_mut() {
                    step.avoided.push(&pathway.options[option].id);
                }
            }
            for &alert in walk.indices(node.alerts) {
                let alert = alert as usize;
                if !decision.alerts.contains(&alert) {
                    decision.alerts.push(alert);
                }
                if let Some(step) = step.as_mut() {
                    step.alerts.push(&pathway.alerts[alert].code);
                }
            }
            for &option in walk.indices(node.suppress) {
                excluded.insert(option as usize);
                if let Some(step) = step.as_mut() {
                    step.suppressed.push(&pathway.options[option as usize].id);
                }
            }
        }
        let (next, taken) = walk.follow(node.route, |program| {
            test(walk, program, ctx, &mut decision.varying)
        });
        if let Some(step) = step.as_mut()
            && matches!(node.route, WalkRoute::Decide { .. })
        {
            step.branch = Some(match taken {
                Some(i) => format!("branch {}: {}", i + 1, branch_label(pathway, index, i)),
                None => "otherwise".to_owned(),
            });
        }
        current = next;
        if let Some(steps) = trace.as_mut()
            && let Some(mut step) = step
        {
            step.next = current.map(|next| pathway.nodes[next].id.as_str());
            steps.push(step);
        }
    }

    if excluded.meets(&offered) {
        decision
            .ranked
            .retain(|pick| !excluded.contains(pick.option));
    }
    decision
        .ranked
        .sort_unstable_by_key(|pick| (std::cmp::Reverse(pick.priority), pick.tie_order));
    decision
        .alerts
        .sort_by_key(|alert| pathway.alerts[*alert].severity);
    // A validated pathway ends its assessments with an entry without `when`.
    decision.assessment = walk
        .assessment(ctx)
        .unwrap_or(pathway.assessments.len() - 1);
}

/// Whether `program` holds, noting the result in `varying` when another profile could find
/// otherwise.
#[inline(always)]
fn test(
    walk: &Walk,
    program: Program,
    ctx: &Context,
    varying: &mut ShortList<(Program, bool), 16>,
) -> bool {
    let holds = walk.holds(program, ctx);
    if walk.varies(program) {
        varying.push((program, holds));
    }
    holds
}

/// The label of a node's branch, for the trace.
fn branch_label(pathway: &Pathway, node: usize, branch: usize) -> &str {
    match &pathway.nodes[node].route {
        Route::Decide { branches, .. } => &branches[branch].label,
        _ => "",
    }
}

/// A set of option indices, a bit each (a pathway has at most [`MAX_OPTIONS`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct OptionSet([u64; MAX_OPTIONS / 64]);

impl OptionSet {
    fn words(&self) -> &[u64] {
        &self.0
    }

    fn insert(&mut self, option: usize) {
        self.0[option / 64] |= 1 << (option % 64);
    }

    fn contains(&self, option: usize) -> bool {
        self.0[option / 64] & 1 << (option % 64) != 0
    }

    /// Whether the two sets share an option.
    fn meets(&self, other: &OptionSet) -> bool {
        (self.0.iter().zip(other.0)).any(|(a, b)| a & b != 0)
    }

    /// Adds every option of `other`.
    fn add_all(&mut self, other: &OptionSet) {
        (self.0.iter_mut().zip(other.0)).for_each(|(a, b)| *a |= b);
    }

    /// Removes every option of `other`.
    fn remove_all(&mut self, other: &OptionSet) {
        (self.0.iter_mut().zip(other.0)).for_each(|(a, b)| *a &= !b);
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|word| *word == 0)
    }
}

/// A list that keeps up to `N` items in place and moves to the heap only beyond them, so that the
/// walk's short lists cost no allocation.
enum ShortList<T, const N: usize> {
    Inline { items: [T; N], len: usize },
    Heap(Vec<T>),
}

impl<T: Copy + Default, const N: usize> ShortList<T, N> {
    fn new() -> Self {
        ShortList::Inline {
            items: [T::default(); N],
            len: 0,
        }
    }

    fn push(&mut self, item: T) {
        match self {
            ShortList::Inline { items, len } if *len < N => {
                items[*len] = item;
                *len += 1;
            }
            ShortList::Inline { items, .. } => {
                let mut heap = Vec::with_capacity(2 * N);
                heap.extend_from_slice(items);
                heap.push(item);
                *self = ShortList::Heap(heap);
            }
            ShortList::Heap(heap) => heap.push(item),
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match self {
            ShortList::Inline { items, len } => {
                let mut kept = 0;
                for index in 0..*len {
                    if keep(&items[index]) {
                        items[kept] = items[index];
                        kept += 1;
                    }
                }
                *len = kept;
            }
            ShortList::Heap(heap) => heap.retain(keep),
        }
    }
}

impl<T, const N: usize> std::ops::Deref for ShortList<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            ShortList::Inline { items, len } => &items[..*len],
            ShortList::Heap(heap) => heap,
        }
    }
}

impl<T, const N: usize> std::ops::DerefMut for ShortList<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            ShortList::Inline { items, len } => &mut items[..*len],
            ShortList::Heap(heap) => heap,
        }
    }
}

/// The status of a criterion for this request.
#[inline(always)]
pub fn criterion_status(criterion: &Criterion, ctx: &Context) -> CriterionStatus {
    match (&criterion.unknown_when, &criterion.met_when) {
        (_, None) => CriterionStatus::Unknown,
        (Some(unknown), _) if unknown.holds(ctx) => CriterionStatus::Unknown,
        (_, Some(met)) if met.holds(ctx) => CriterionStatus::Met,
        _ => CriterionStatus::Unmet,
    }
}

/// Evaluates one request against a pathway whose profile and region it was resolved to.
pub fn evaluate<'a>(
    pathway: &'a Pathway,
    request: &TriageRequest,
    resolved: Resolved,
    trace: bool,
) -> TriageResponse<'a> {
    let facts = Facts::from_request(request);
    let ctx = context(pathway, &facts, resolved);
    let mut steps = trace.then(Vec::new);
    let mut decision = Decision::new();
    match steps.as_mut() {
        Some(steps) => decide::<true>(pathway, &ctx, Some(steps), &mut decision),
        None => decide::<false>(pathway, &ctx, None, &mut decision),
    }
    let disagreement = disagree::for_answer(
        pathway,
        &facts,
        resolved.profile,
        resolved.region_slot,
        &mut decision,
    );
    let slot = resolved.region_slot;
    let row = ctx.row();
    let source_id = |source: &usize| pathway.sources[*source].id.as_str();

    let options = decision
        .ranked
        .iter()
        .enumerate()
        .map(|(position, pick)| {
            let option = &pathway.options[pick.option];
            let offer = &pathway.nodes[pick.node].offers[pick.offer];
            let citations = pathway
                .offer_citations(offer, slot)
                .iter()
                .map(source_id)
                .collect();
            let criteria = pathway
                .reported_criteria(option, resolved.profile)
                .map(|(_, criterion)| CriterionOut {
                    id: &criterion.id,
                    status: criterion_status(criterion, &ctx),
                    text: &criterion.texts[row],
                })
                .collect();
            RankedOption {
                rank: position + 1,
                id: &option.id,
                title: &option.title,
                category: option.category,
                evidence: &option.evidence[slot],
                rationale: offer.rationale.to_string(&ctx),
                criteria,
                citations,
                codes: &option.codes[slot],
            }
        })
        .collect();

    let avoid = decision
        .avoided
        .iter()
        .map(|avoided| {
            let option = &pathway.options[avoided.option];
            let avoid = &pathway.nodes[avoided.node].avoids[avoided.avoid];
            AvoidOut {
                id: &option.id,
                title: &option.title,
                reason: avoid.reason.to_string(&ctx),
                citations: pathway
                    .avoid_citations(avoid, slot)
                    .iter()
                    .map(source_id)
                    .collect(),
                evidence: pathway.avoid_evidence(avoid, slot).collect(),
            }
        })
        .collect();

    let alerts = decision
        .alerts
        .iter()
        .map(|alert| alert_out(pathway, &ctx, *alert, disagreement.as_deref()))
        .collect();

    let entry = &pathway.assessments[decision.assessment];
    TriageResponse {
        pathway: PathwayRef {
            id: &pathway.id,
            version: &pathway.version,
            digest: &pathway.digest,
        },
        profile: &pathway.profiles[resolved.profile].id,
        assessment: AssessmentOut {
            response: entry.response,
            summary: entry.summary.to_string(&ctx),
        },
        options,
        avoid,
        alerts,
        disclaimer: &pathway.disclaimer,
        trace: steps,
    }
}

/// What a written answer says, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered<'a> {
    /// Id of the top-ranked option, if any.
    pub top_option: Option<&'a str>,
    /// The profile that produced the answer.
    pub profile: &'a str,
}

/// One request's decision without a trace, as [`answer`] hands it to a writer outside the engine
/// (the wire format): positions in the pathway, read through the accessors below.
pub struct Decided<'d> {
    ctx: Context<'d>,
    decision: &'d Decision,
    /// R26's text, when the profiles disagree.
    disagreement: Option<&'d str>,
}

impl<'d> Decided<'d> {
    /// What conditions read for this request.
    pub fn context(&self) -> &Context<'d> {
        &self.ctx
    }

    /// The assessment entry that applies.
    pub fn assessment(&self) -> usize {
        self.decision.assessment
    }

    /// The offered options, best first, each as its node and its offer there.
    pub fn offers(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.decision
            .ranked
            .iter()
            .map(|pick| (pick.node, pick.offer))
    }

    /// The avoided options in the order the walk met them, each as its node and its avoid there.
    pub fn avoids(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (self.decision.avoided.iter()).map(|avoided| (avoided.node, avoided.avoid))
    }

    /// The raised alerts, most severe first.
    pub fn alerts(&self) -> &[usize] {
        &self.decision.alerts
    }

    /// Gives `push` the text that follows an alert's message, if any: the profiles' disagreements
    /// after R26's alert, or the other profiles an alert names.
    pub fn after_message(&self, alert: usize, push: impl FnMut(&str)) {
        append(self.ctx.pathway, &self.ctx, alert, self.disagreement, push);
    }
}

/// Evaluates one request without a trace (the walk, ranking and R26) and hands the decision to
/// `write`, which renders it; returns what the answer says.
pub fn answer<'a>(
    pathway: &'a Pathway,
    request: &TriageRequest,
    resolved: Resolved,
    write: impl FnOnce(&Decided),
) -> Answered<'a> {
    let facts = Facts::from_request(request);
    let ctx = context(pathway, &facts, resolved);
    let mut decision = Decision::new();
    decide::<false>(pathway, &ctx, None, &mut decision);
    let disagreement = disagree::for_answer(
        pathway,
        &facts,
        resolved.profile,
        resolved.region_slot,
        &mut decision,
    );
    write(&Decided {
        ctx,
        decision: &decision,
        disagreement: disagreement.as_deref(),
    });
    Answered {
        top_option: (decision.ranked.first()).map(|pick| pathway.options[pick.option].id.as_str()),
        profile: &pathway.profiles[resolved.profile].id,
    }
}

/// An alert as the response states it; see [`append`] for what may follow its message.
fn alert_out<'a>(
    pathway: &'a Pathway,
    ctx: &Context,
    alert: usize,
    disagreement: Option<&str>,
) -> AlertOut<'a> {
    let definition = &pathway.alerts[alert];
    let mut message = definition.message.to_string(ctx);
    append(pathway, ctx, alert, disagreement, |text| {
        message.push_str(text)
    });
    AlertOut {
        severity: definition.severity,
        code: &definition.code,
        message,
    }
}

/// Gives `push` the text that follows an alert's message, if any, in parts: the disagreement alert's
/// disagreements (`disagreement`), or the labels of the other profiles for which an alert's
/// `name_profiles_where` holds, each after a space.
fn append(
    pathway: &Pathway,
    ctx: &Context,
    alert: usize,
    disagreement: Option<&str>,
    mut push: impl FnMut(&str),
) {
    if let Some(disagreement) = disagreement
        && pathway.disagreement_alert == Some(alert)
    {
        push(" ");
        push(disagreement);
    }
    if let Some(when) = &pathway.alerts[alert].name_profiles_where {
        let named = (0..pathway.profiles.len())
            .filter(|profile| *profile != ctx.profile)
            .filter(|profile| {
                when.holds(&Context::new(pathway, ctx.facts, *profile, ctx.region_slot))
            });
        let mut any = false;
        for (position, profile) in named.enumerate() {
            push(if position == 0 { " " } else { ", " });
            push(&pathway.profiles[profile].label);
            any = true;
        }
        if any {
            push(".");
        }
    }
}

fn context<'a>(pathway: &'a Pathway, facts: &'a Facts, resolved: Resolved) -> Context<'a> {
    Context::new(pathway, facts, resolved.profile, resolved.region_slot)
}

fn new_step<'a>(pathway: &'a Pathway, ctx: &Context, index: usize, applied: bool) -> TraceStep<'a> {
    let node = &pathway.nodes[index];
    let facts = node
        .reads
        .iter()
        .map(|field| {
            (
                field.name().to_owned(),
                fact_json(*field, ctx.facts.get(*field)),
            )
        })
        .collect();
    let parameters = node
        .reads_params
        .iter()
        .map(|param| {
            (
                pathway.parameters[*param].id.clone(),
                serde_json::Value::String(ctx.param(*param).text()),
            )
        })
        .collect();
    TraceStep {
        node: &node.id,
        title: &node.title,
        rules: &node.rules,
        facts,
        parameters,
        applied,
        offered: Vec::new(),
        avoided: Vec::new(),
        alerts: Vec::new(),
        suppressed: Vec::new(),
        branch: None,
        next: None,
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_OPTIONS, OptionSet, ShortList};

    #[test]
    fn a_short_list_moves_to_the_heap_when_full_and_keeps_its_order() {
        let mut list: ShortList<usize, 2> = ShortList::new();
        for item in 0..5 {
            list.push(item);
        }
        assert!(matches!(list, ShortList::Heap(_)));
        list.retain(|item| item % 2 == 0);
        assert_eq!(*list, [0, 2, 4]);
        let mut inline: ShortList<usize, 4> = ShortList::new();
        inline.push(3);
        inline.push(1);
        inline.retain(|item| *item != 3);
        assert_eq!(*inline, [1]);
    }

    #[test]
    fn an_option_set_holds_what_was_inserted() {
        for options in [3, 64, 65, MAX_OPTIONS] {
            let mut set = OptionSet::default();
            set.insert(0);
            set.insert(options - 1);
            assert!(set.contains(0) && set.contains(options - 1));
            assert!(!set.contains(1));
            let mut other = OptionSet::default();
            other.insert(1);
            assert!(!set.meets(&other));
            other.insert(options - 1);
            assert!(set.meets(&other));
            let mut union = OptionSet::default();
            union.add_all(&set);
            union.add_all(&other);
            assert!(union.contains(0) && union.contains(1) && union.contains(options - 1));
            set.remove_all(&other);
            assert!(set.contains(0) && !set.contains(1) && !set.contains(options - 1));
            assert!(!set.is_empty() && OptionSet::default().is_empty());
        }
    }
}

//! Where the profiles of a pathway disagree about one request (R26, generically): an option this
//! answer offers that another profile avoids, or one it avoids that another profile offers. The
//! pathway names the alert that reports it (`disagreement_alert`); its message is followed by each
//! such option with the profiles, by their labels, that offer and avoid it.
//!
//! Another profile's answer is needed only as two sets, offered and avoided, and only for the options
//! this answer offers or avoids (no other option can be named), so it is read by a walk that keeps
//! nothing else (no ranking, alerts or assessment), tests the conditions of those options' offers
//! and avoids only, and passes by the nodes that only raise alerts without visiting them. A profile
//! that finds what the answer's walk found for every condition reading a parameter the two profiles
//! set differently walks the same way, and is not walked at all.

use super::{Decision, OptionSet, ShortList, decide};
use crate::facts::Facts;
use crate::pathway::Pathway;
use crate::pathway::condition::Context;
use crate::pathway::walk::WalkRoute;

/// What one profile offers and avoids.
#[derive(Clone, Copy, Default)]
struct Sides {
    offered: OptionSet,
    avoided: OptionSet,
}

impl Sides {
    fn of(decision: &Decision) -> Sides {
        let mut sides = Sides::default();
        (decision.ranked.iter()).for_each(|pick| sides.offered.insert(pick.option));
        (decision.avoided.iter()).for_each(|avoided| sides.avoided.insert(avoided.option));
        sides
    }

    /// The walk of [`decide`], keeping only what is offered (and not avoided or suppressed) and
    /// what is avoided among the `relevant` options; the sets are exact for those options only.
    fn walk(pathway: &Pathway, ctx: &Context, relevant: &OptionSet) -> Sides {
        let walk = &pathway.walk;
        let (mut offered, mut avoided, mut excluded) =
            <(OptionSet, OptionSet, OptionSet)>::default();
        let mut current = walk.shaping(pathway.start);
        while let Some(index) = current {
            let node = walk.node(index);
            // Only a node that touches a relevant option can change the sets: the guard of any
            // other is not tested (the pathway's longest conditions guard nodes that only alert).
            if walk.touches(index, relevant.words()) && walk.holds(node.guard, ctx) {
                for offer in walk.offers(node.offers) {
                    if relevant.contains(offer.option as usize)
                        && walk.tie_order(offer.option, ctx.region_slot).is_some()
                        && walk.holds(offer.when, ctx)
                    {
                        offered.insert(offer.option as usize);
                    }
                }
                for avoid in walk.avoids(node.avoids) {
                    // As in `decide`: an option the region does not serve is neither offered nor
                    // avoided there.
                    if relevant.contains(avoid.option as usize)
                        && walk.tie_order(avoid.option, ctx.region_slot).is_some()
                        && walk.holds(avoid.when, ctx)
                    {
                        avoided.insert(avoid.option as usize);
                        excluded.insert(avoid.option as usize);
                    }
                }
                for &option in walk.indices(node.suppress) {
                    excluded.insert(option as usize);
                }
            }
            let next = match node.route {
                WalkRoute::Next(next) => Some(next as usize),
                route => walk.follow(route, |program| walk.holds(program, ctx)).0,
            };
            current = next.and_then(|next| walk.shaping(next));
        }
        offered.remove_all(&excluded);
        Sides { offered, avoided }
    }
}

/// Every profile's decision for one request's facts in one region, in profile order.
pub(super) fn every_profile(pathway: &Pathway, facts: &Facts, region_slot: usize) -> Vec<Decision> {
    (0..pathway.profiles.len())
        .map(|profile| {
            let ctx = Context::new(pathway, facts, profile, region_slot);
            let mut decision = Decision::new();
            decide::<false>(pathway, &ctx, None, &mut decision);
            decision
        })
        .collect()
}

/// Raises the disagreement alert on `decision` (the answer under `profile`) when the other profiles
/// disagree with it, and returns the text that follows the alert's message. Walks the other
/// profiles that may walk differently; a pathway without a disagreement alert costs nothing.
pub(super) fn for_answer(
    pathway: &Pathway,
    facts: &Facts,
    profile: usize,
    region_slot: usize,
    decision: &mut Decision,
) -> Option<String> {
    let alert = pathway.disagreement_alert?;
    // Only an option this answer offers or avoids can be one it disagrees about.
    let mut relevant = OptionSet::default();
    (decision.ranked.iter()).for_each(|pick| relevant.insert(pick.option));
    (decision.avoided.iter()).for_each(|avoided| relevant.insert(avoided.option));
    if relevant.is_empty() {
        return None;
    }
    let walk = &pathway.walk;
    let own = Sides::of(decision);
    let mut sides: ShortList<Sides, 8> = ShortList::new();
    for other in 0..pathway.profiles.len() {
        let ctx = Context::new(pathway, facts, other, region_slot);
        // A profile that finds what this answer's walk found for every program that could differ
        // walks the same way: its sets are this answer's.
        let alike = other == profile
            || (decision.varying.iter()).all(|&(program, held)| {
                walk.alike(program, region_slot, profile, other)
                    || walk.holds(program, &ctx) == held
            });
        sides.push(match alike {
            true => own,
            false => Sides::walk(pathway, &ctx, &relevant),
        });
    }
    let text = text(pathway, profile, &sides)?;
    raise(pathway, alert, decision);
    Some(text)
}

/// Raises the alert on each decision of `decisions` (every profile's, in profile order) that
/// disagrees with another profile's.
pub(super) fn for_every_profile(pathway: &Pathway, decisions: &mut [Decision]) {
    let Some(alert) = pathway.disagreement_alert else {
        return;
    };
    let sides: Vec<Sides> = decisions.iter().map(Sides::of).collect();
    for (profile, decision) in decisions.iter_mut().enumerate() {
        if disagrees(pathway, profile, &sides).next().is_some() {
            raise(pathway, alert, decision);
        }
    }
}

/// Adds the alert, keeping alerts ordered by severity and then by the order they were raised.
fn raise(pathway: &Pathway, alert: usize, decision: &mut Decision) {
    if !decision.alerts.contains(&alert) {
        decision.alerts.push(alert);
        decision
            .alerts
            .sort_by_key(|alert| pathway.alerts[*alert].severity);
    }
}

/// The options, in catalogue order, that `profile` offers and another profile avoids, or avoids
/// and another offers.
fn disagrees<'s>(
    pathway: &Pathway,
    profile: usize,
    sides: &'s [Sides],
) -> impl Iterator<Item = usize> + 's {
    let count = pathway.options.len();
    let (mut offered_elsewhere, mut avoided_elsewhere) =
        (OptionSet::default(), OptionSet::default());
    for (_, other) in (sides.iter().enumerate()).filter(|(other, _)| *other != profile) {
        offered_elsewhere.add_all(&other.offered);
        avoided_elsewhere.add_all(&other.avoided);
    }
    let this = &sides[profile];
    (0..count).filter(move |&option| {
        (this.offered.contains(option) && avoided_elsewhere.contains(option))
            || (this.avoided.contains(option) && offered_elsewhere.contains(option))
    })
}

/// "Title: offered by A, B; avoided by C" for each option that `profile` disagrees about with
/// another profile; `None` when there is none.
fn text(pathway: &Pathway, profile: usize, sides: &[Sides]) -> Option<String> {
    let mut text = String::with_capacity(512);
    let labels = |text: &mut String, held: &dyn Fn(&Sides) -> bool| {
        let holding = (sides.iter().enumerate()).filter(|(_, side)| held(side));
        for (position, (other, _)) in holding.enumerate() {
            if position > 0 {
                text.push_str(", ");
            }
            text.push_str(&pathway.profiles[other].label);
        }
    };
    for option in disagrees(pathway, profile, sides) {
        if !text.is_empty() {
            text.push_str(". ");
        }
        text.push_str(&pathway.options[option].title);
        text.push_str(": offered by ");
        labels(&mut text, &|side| side.offered.contains(option));
        text.push_str("; avoided by ");
        labels(&mut text, &|side| side.avoided.contains(option));
    }
    (!text.is_empty()).then(|| text + ".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pathway::PathwaySet;
    use crate::request;

    /// A grid over region, procedure, relief, duration and context (radicular symptoms, a red
    /// flag, an earlier ablation), as request bodies.
    fn grid() -> Vec<String> {
        let mut bodies = Vec::new();
        for region in ["lumbar", "cervical", "thoracic"] {
            for (procedure, extra) in [
                ("intra_articular_injection", ""),
                ("medial_branch_block", ""),
                (
                    "medial_branch_block",
                    r#","block_number":2,"previous_block":{"percent_relief":85,"relief_duration":{"value":4,"unit":"h"}}"#,
                ),
                ("radiofrequency_ablation", ""),
            ] {
                for relief in [0, 30, 50, 65, 80, 95] {
                    for (value, unit) in [(2, "h"), (3, "wk"), (8, "mo")] {
                        for context in [
                            r#","radicular_symptoms":false"#,
                            r#","radicular_symptoms":true"#,
                            r#","radicular_symptoms":false,"red_flags":["suspected_infection"]"#,
                            r#","radicular_symptoms":false,"time_since_procedure":{"value":9,"unit":"mo"},"procedure_history":[{"procedure":"radiofrequency_ablation","time_ago":{"value":11,"unit":"mo"}}]"#,
                        ] {
                            bodies.push(format!(
                                r#"{{"region":"{region}","procedure":"{procedure}","percent_relief":{relief},"relief_duration":{{"value":{value},"unit":"{unit}"}}{extra}{context}}}"#
                            ));
                        }
                    }
                }
            }
        }
        bodies
    }

    /// A program the walk does not mark as varying holds alike under every profile, and one it
    /// says holds alike under two profiles does (on the grid), so a profile that finds what the
    /// answer found for the other programs walks the same way.
    #[test]
    fn a_program_that_does_not_vary_holds_alike_under_every_profile() {
        let pathways = PathwaySet::embedded().unwrap();
        let pathway = pathways.default_pathway();
        let walk = &pathway.walk;
        let mut programs = Vec::new();
        for index in 0..pathway.nodes.len() {
            let node = walk.node(index);
            programs.push(node.guard);
            programs.extend(walk.offers(node.offers).iter().map(|offer| offer.when));
            programs.extend(walk.avoids(node.avoids).iter().map(|avoid| avoid.when));
            if let WalkRoute::Decide { branches, .. } = node.route {
                programs.extend(walk.branches(branches).iter().map(|branch| branch.when));
            }
        }
        let (mut differing, mut pairs_alike_though_varying) = (0, 0);
        for body in grid() {
            let request = request::parse(body.as_bytes()).unwrap();
            let slot = pathway.resolve(&request).unwrap().region_slot;
            let facts = Facts::from_request(&request);
            for &program in &programs {
                let held: Vec<bool> = (0..pathway.profiles.len())
                    .map(|profile| {
                        walk.holds(program, &Context::new(pathway, &facts, profile, slot))
                    })
                    .collect();
                let alike = held.iter().all(|holds| *holds == held[0]);
                assert!(alike || walk.varies(program), "{program:?} for {body}");
                differing += usize::from(!alike);
                for a in 0..held.len() {
                    for b in 0..held.len() {
                        let said_alike = walk.alike(program, slot, a, b);
                        assert!(!said_alike || held[a] == held[b], "{program:?} for {body}");
                        pairs_alike_though_varying +=
                            usize::from(said_alike && a != b && walk.varies(program));
                    }
                }
            }
        }
        assert!(differing > 0 && pairs_alike_though_varying > 0);
    }

    /// The light walk of a profile, asked about every option, gives the sets of that profile's full
    /// decision; and the disagreement each profile's answer reports is the one the full decisions
    /// show.
    #[test]
    fn the_light_walk_offers_and_avoids_what_the_full_walk_does() {
        let pathways = PathwaySet::embedded().unwrap();
        let pathway = pathways.default_pathway();
        let mut every_option = OptionSet::default();
        (0..pathway.options.len()).for_each(|option| every_option.insert(option));
        let (mut walked, mut disagreeing) = (0, 0);
        for body in grid() {
            let request = request::parse(body.as_bytes()).unwrap();
            let slot = pathway.resolve(&request).unwrap().region_slot;
            let facts = Facts::from_request(&request);
            let decisions = every_profile(pathway, &facts, slot);
            let mut sides = Vec::new();
            for (profile, decision) in decisions.iter().enumerate() {
                let full = Sides::of(decision);
                let ctx = Context::new(pathway, &facts, profile, slot);
                let light = Sides::walk(pathway, &ctx, &every_option);
                assert_eq!(light.offered, full.offered, "{body}");
                assert_eq!(light.avoided, full.avoided, "{body}");
                sides.push(full);
            }
            // Each profile's answer, with its light walks of the others, reports what the full
            // decisions show.
            for profile in 0..pathway.profiles.len() {
                let ctx = Context::new(pathway, &facts, profile, slot);
                let mut decision = Decision::new();
                decide::<false>(pathway, &ctx, None, &mut decision);
                let answered = for_answer(pathway, &facts, profile, slot, &mut decision);
                assert_eq!(answered, text(pathway, profile, &sides), "{body}");
            }
            walked += 1;
            disagreeing += usize::from(disagrees(pathway, 0, &sides).next().is_some());
        }
        // The grid reaches both answers the alert can give.
        assert!(
            disagreeing > 0 && disagreeing < walked,
            "{disagreeing} of {walked}"
        );
    }
}

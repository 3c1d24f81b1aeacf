//! Where the profiles of a pathway disagree about one request (R26, generically): an option this
//! answer offers that another profile avoids, or one it avoids that another profile offers. The
//! pathway names the alert that reports it (`disagreement_alert`); its message is followed by each
//! such option with the profiles, by their labels, that offer and avoid it.

use super::{Decision, decide};
use crate::facts::Facts;
use crate::pathway::Pathway;
use crate::pathway::condition::Context;

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
/// disagree with it, and returns the text that follows the alert's message. Evaluates the other
/// profiles; a pathway without a disagreement alert costs nothing.
pub(super) fn for_answer(
    pathway: &Pathway,
    facts: &Facts,
    profile: usize,
    region_slot: usize,
    decision: &mut Decision,
) -> Option<String> {
    let alert = pathway.disagreement_alert?;
    let others: Vec<(usize, Decision)> = (0..pathway.profiles.len())
        .filter(|other| *other != profile)
        .map(|other| {
            let ctx = Context::new(pathway, facts, other, region_slot);
            let mut other_decision = Decision::new();
            decide::<false>(pathway, &ctx, None, &mut other_decision);
            (other, other_decision)
        })
        .collect();
    let mut all: Vec<(usize, &Decision)> = others.iter().map(|(p, d)| (*p, d)).collect();
    all.push((profile, decision));
    all.sort_by_key(|(p, _)| *p);
    let text = text(pathway, profile, &all)?;
    raise(pathway, alert, decision);
    Some(text)
}

/// Raises the alert on each decision of `decisions` (every profile's, in profile order) that
/// disagrees with another profile's.
pub(super) fn for_every_profile(pathway: &Pathway, decisions: &mut [Decision]) {
    let Some(alert) = pathway.disagreement_alert else {
        return;
    };
    let disagreeing: Vec<bool> = {
        let all: Vec<(usize, &Decision)> = decisions.iter().enumerate().collect();
        (0..decisions.len())
            .map(|profile| text(pathway, profile, &all).is_some())
            .collect()
    };
    for (decision, disagrees) in decisions.iter_mut().zip(disagreeing) {
        if disagrees {
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

/// "Title: offered by A, B; avoided by C" for each option, in catalogue order, that `profile`'s
/// decision offers and another avoids, or avoids and another offers; `None` when there is none.
fn text(pathway: &Pathway, profile: usize, decisions: &[(usize, &Decision)]) -> Option<String> {
    let offers =
        |decision: &Decision, option: usize| decision.ranked.iter().any(|p| p.option == option);
    let avoids =
        |decision: &Decision, option: usize| decision.avoided.iter().any(|a| a.option == option);
    let this = decisions.iter().find(|(p, _)| *p == profile)?.1;
    let labels = |held: &dyn Fn(&Decision) -> bool| -> String {
        let names: Vec<&str> = decisions
            .iter()
            .filter(|(_, decision)| held(decision))
            .map(|(p, _)| pathway.profiles[*p].label.as_str())
            .collect();
        names.join(", ")
    };
    let mut parts = Vec::new();
    for option in 0..pathway.options.len() {
        let others = decisions.iter().filter(|(p, _)| *p != profile);
        let disagrees = (offers(this, option) && others.clone().any(|(_, d)| avoids(d, option)))
            || (avoids(this, option) && others.clone().any(|(_, d)| offers(d, option)));
        if disagrees {
            parts.push(format!(
                "{}: offered by {}; avoided by {}",
                pathway.options[option].title,
                labels(&|d| offers(d, option)),
                labels(&|d| avoids(d, option)),
            ));
        }
    }
    (!parts.is_empty()).then(|| parts.join(". ") + ".")
}

//! Writes a decision as the triage response's JSON straight into the body: the pathway's fixed
//! text comes pre-serialized ([`crate::pathway::ResponseJson`]), so only ranks, statuses and the words
//! that name the patient's facts are written per request. The bytes are exactly what serde_json
//! writes for [`super::TriageResponse`]; the tests compare both.

use super::{Decision, criterion_status, reported_criteria};
use crate::escape;
use crate::pathway::condition::Context;

pub(super) fn answer(ctx: &Context, decision: &Decision, out: &mut Vec<u8>) {
    let pathway = ctx.pathway;
    let json = &pathway.response_json;
    let slot = ctx.region_slot;
    let row = ctx.row();

    out.extend_from_slice(json.head(ctx.profile));
    out.extend_from_slice(json.assessment(decision.assessment));
    pathway.assessments[decision.assessment]
        .summary
        .render_json(ctx, out);
    out.extend_from_slice(b"\"},\"options\":[");
    for (position, pick) in decision.ranked.iter().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"rank\":");
        escape::uint(out, position as u64 + 1);
        out.extend_from_slice(json.option(pick.option, slot));
        let offer = &pathway.nodes[pick.node].offers[pick.offer];
        offer.rationale.render_json(ctx, out);
        out.extend_from_slice(b"\",\"criteria\":[");
        for (position, (index, criterion)) in
            reported_criteria(pathway, ctx.profile, &pathway.options[pick.option]).enumerate()
        {
            if position > 0 {
                out.push(b',');
            }
            out.extend_from_slice(json.criterion(index));
            out.extend_from_slice(criterion_status(criterion, ctx).as_str().as_bytes());
            out.extend_from_slice(json.criterion_text(index, row));
        }
        out.extend_from_slice(json.offer_tail(pick.node, pick.offer, slot));
    }
    out.extend_from_slice(b"],\"avoid\":[");
    for (position, avoided) in decision.avoided.iter().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        out.extend_from_slice(json.avoid_head(avoided.option));
        pathway.nodes[avoided.node].avoids[avoided.avoid]
            .reason
            .render_json(ctx, out);
        out.extend_from_slice(json.avoid_tail(avoided.node, avoided.avoid, slot));
    }
    out.extend_from_slice(b"],\"alerts\":[");
    for (position, alert) in decision.alerts.iter().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        out.extend_from_slice(json.alert(*alert));
        pathway.alerts[*alert].message.render_json(ctx, out);
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(json.tail());
}

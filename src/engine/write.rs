//! Writes a decision as the triage response's JSON straight into the body: the pathway's fixed
//! text comes pre-serialized per profile and region ([`crate::pathway::ResponseJson`]), so only
//! ranks, criterion statuses and the words that name the patient's facts are written per request.
//! The bytes are exactly what serde_json writes for [`super::TriageResponse`]; the tests compare both.

use super::{Decision, criterion_status};
use crate::escape;
use crate::facts::write_fact;
use crate::pathway::Fill;
use crate::pathway::condition::Context;

pub(super) fn answer(ctx: &Context, decision: &Decision, out: &mut Vec<u8>) {
    let json = &ctx.pathway.response_json;
    let row = ctx.row();
    json.write(json.opening(decision.assessment, row), out, |out, fill| {
        write_fill(ctx, 0, out, fill)
    });
    for (position, pick) in decision.ranked.iter().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        json.write(json.offer(pick.node, pick.offer, row), out, |out, fill| {
            write_fill(ctx, position + 1, out, fill)
        });
    }
    out.extend_from_slice(b"],\"avoid\":[");
    for (position, avoided) in decision.avoided.iter().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        json.write(
            json.avoid(avoided.node, avoided.avoid, row),
            out,
            |out, fill| write_fill(ctx, 0, out, fill),
        );
    }
    out.extend_from_slice(b"],\"alerts\":[");
    for (position, alert) in decision.alerts.iter().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        json.write(json.alert(*alert, row), out, |out, fill| {
            write_fill(ctx, 0, out, fill)
        });
    }
    out.extend_from_slice(json.tail());
}

/// Writes what the request fills into a piece; `rank` is the option's, in an offer.
#[inline]
fn write_fill(ctx: &Context, rank: usize, out: &mut Vec<u8>, fill: Fill) {
    match fill {
        Fill::End => {}
        Fill::Rank => escape::uint(out, rank as u64),
        Fill::Fact(field) => write_fact(&mut escape::Verbatim(out), field, ctx.facts.get(field)),
        Fill::Status(criterion) => out.extend_from_slice(
            criterion_status(&ctx.pathway.criteria[criterion], ctx)
                .as_str()
                .as_bytes(),
        ),
    }
}

//! Writes a decision as the triage response's JSON straight into the body: the pathway's fixed
//! text comes pre-serialized per profile and region ([`super::Pieces`]), so only ranks, criterion
//! statuses and the words that name the patient's facts are written per request. The bytes are
//! exactly what serde_json writes for [`crate::engine::TriageResponse`]; the tests compare both.
//! Kept instead of serializing that response with serde, which took 3.4 times the instructions per
//! triage (125,200 against 36,700; `docs/performance.md`).

use super::{Fill, Pieces};
use crate::engine::{Decided, criterion_status};
use crate::escape;
use crate::facts::{Field, write_fact};
use crate::pathway::condition::Context;

/// Appends the answer's JSON to `out`; `json` holds the pieces of the decided request's pathway.
pub fn answer(json: &Pieces, decided: &Decided, out: &mut Vec<u8>) {
    let ctx = decided.context();
    let row = ctx.row();
    let mut named = Named([None; Field::COUNT]);
    json.write(json.opening(decided.assessment(), row), out, |out, fill| {
        named.write_fill(ctx, 0, out, fill)
    });
    for (position, (node, offer)) in decided.offers().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        json.write(json.offer(node, offer, row), out, |out, fill| {
            named.write_fill(ctx, position + 1, out, fill)
        });
    }
    out.extend_from_slice(b"],\"avoid\":[");
    for (position, (node, avoid)) in decided.avoids().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        json.write(json.avoid(node, avoid, row), out, |out, fill| {
            named.write_fill(ctx, 0, out, fill)
        });
    }
    out.extend_from_slice(b"],\"alerts\":[");
    for (position, alert) in decided.alerts().iter().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        json.write(json.alert(*alert, row), out, |out, fill| {
            named.write_fill(ctx, 0, out, fill)
        });
        // The message is an alert's last field: any text that follows it goes before its `"}`.
        out.truncate(out.len() - 2);
        decided.after_message(*alert, |text| escape::inside_string(out, text));
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(json.tail());
}

/// Where each fact's words already stand in the answer: a fact named again is copied from there.
struct Named([Option<(usize, usize)>; Field::COUNT]);

impl Named {
    /// Writes what the request fills into a piece; `rank` is the option's, in an offer.
    #[inline]
    fn write_fill(&mut self, ctx: &Context, rank: usize, out: &mut Vec<u8>, fill: Fill) {
        match fill {
            Fill::End => {}
            Fill::Rank => escape::uint(out, rank as u64),
            Fill::Fact(field) => match self.0[field as usize] {
                Some((start, end)) => out.extend_from_within(start..end),
                None => {
                    let start = out.len();
                    write_fact(&mut escape::Verbatim(out), field, ctx.facts.get(field));
                    self.0[field as usize] = Some((start, out.len()));
                }
            },
            Fill::Status(criterion) => out.extend_from_slice(
                criterion_status(&ctx.pathway.criteria[criterion], ctx)
                    .as_str()
                    .as_bytes(),
            ),
        }
    }
}

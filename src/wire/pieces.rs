//! The compiled pathway's fixed text, serialized once at load as the pieces of JSON a triage answer
//! is made of, one per profile and region (a row): the opening with each assessment's summary, each
//! offer with its option's id, title, evidence, rationale, criteria, citations and codes, each avoid,
//! each alert. Parameters and profile labels are resolved into the text at load, so a piece is long
//! runs of fixed bytes broken only where the request fills something in: a fact's words, a
//! criterion's status, an option's rank. Writing an answer copies the runs and writes the fills.
//!
//! The pieces follow the shape of `engine::TriageResponse` field for field; the tests compare every
//! answer written from them with serde_json's serialization of that type.

use crate::facts::Field;
use crate::pathway::template::{Part, Template};
use crate::pathway::{Evidence, Node, Pathway};
use std::collections::HashMap;
use std::hash::Hash;

/// What a request writes into a piece after a run of fixed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fill {
    /// Nothing: the piece ends after this run.
    End,
    /// The offered option's rank.
    Rank,
    /// A fact's words; they never need escaping (the tests check every word a fact can produce).
    Fact(Field),
    /// The status of a criterion.
    Status(usize),
}

/// A run of fixed bytes (`start..end` of the shared buffer), then a fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Step {
    start: u32,
    end: u32,
    fill: Fill,
}

/// Pre-serialized pieces of a triage answer; see the module documentation.
#[derive(Debug, Default)]
pub struct Pieces {
    /// Profiles times region slots.
    rows: usize,
    bytes: Vec<u8>,
    steps: Vec<Step>,
    /// Per piece: its steps, `start..end` of `steps`.
    pieces: Vec<(u32, u32)>,
    /// Where each kind of piece starts in `pieces`; each has one piece per row per item.
    openings_from: usize,
    offers_from: usize,
    avoids_from: usize,
    alerts_from: usize,
    /// Per node, the index of its first offer and of its first avoid among all offers and avoids.
    node_offers_from: Vec<usize>,
    node_avoids_from: Vec<usize>,
    /// `],"disclaimer":"…"}`, `start..end` of `bytes`.
    tail: (usize, usize),
}

/// A piece of an answer, as [`Pieces`]'s accessors name it.
#[derive(Debug, Clone, Copy)]
pub struct Piece(usize);

/// Builds the runs and fills of the pieces into one buffer. Most pieces repeat, in whole or in
/// part, from one row to the next, so a run or a piece already built is shared rather than stored
/// again: an answer then reads a few kilobytes that all requests share instead of its row's own copy.
#[derive(Default)]
struct Builder {
    json: Pieces,
    /// Start of the open run in `bytes`, and of the open piece in `steps`.
    run_start: usize,
    piece_start: usize,
    /// Each distinct run and piece built so far, and where it stands.
    runs: HashMap<Vec<u8>, (u32, u32)>,
    pieces: HashMap<Vec<Step>, (u32, u32)>,
}

impl Builder {
    fn bytes(&mut self) -> &mut Vec<u8> {
        &mut self.json.bytes
    }

    /// Ends the open run with `fill`.
    fn fill(&mut self, fill: Fill) {
        let (start, end) = intern(&mut self.runs, &mut self.json.bytes, self.run_start);
        self.json.steps.push(Step { start, end, fill });
        self.run_start = self.json.bytes.len();
    }

    /// Ends the open piece.
    fn finish(&mut self) {
        self.fill(Fill::End);
        let piece = intern(&mut self.pieces, &mut self.json.steps, self.piece_start);
        self.json.pieces.push(piece);
        self.piece_start = self.json.steps.len();
    }

    /// Writes `"text"` escaped, as serde_json writes a string.
    fn string(&mut self, text: &str) {
        self.json(text);
    }

    /// Writes a value as serde_json serializes it.
    fn json<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        // The pathway's text and catalogue entries (strings, enums, booleans) always serialize.
        serde_json::to_writer(self.bytes(), value).expect("pathway text serializes to JSON");
    }

    /// Writes text escaped for the inside of a JSON string: as a string, without its quotes.
    fn escaped(&mut self, text: &str) {
        crate::escape::inside_string(&mut self.json.bytes, text);
    }

    /// Writes a template's text for one row, escaped for the inside of a JSON string.
    fn template(&mut self, pathway: &Pathway, template: &Template, profile: usize, slot: usize) {
        for part in template.parts() {
            match part {
                Part::Text(text) => self.escaped(text),
                Part::Param(param) => {
                    self.escaped(&pathway.param_value(profile, slot, *param).text())
                }
                Part::Profile => self.escaped(&pathway.profiles[profile].label),
                Part::Fact(field) => self.fill(Fill::Fact(*field)),
            }
        }
    }

    /// Writes `"a","b"` for source ids.
    fn citations(&mut self, pathway: &Pathway, sources: &[usize]) {
        for (i, source) in sources.iter().enumerate() {
            if i > 0 {
                self.bytes().push(b',');
            }
            self.string(&pathway.sources[*source].id);
        }
    }

    /// Adds one piece per row for each item, written by `write(builder, item, profile, slot)`.
    fn per_row<T>(
        &mut self,
        pathway: &Pathway,
        items: impl IntoIterator<Item = T>,
        write: impl Fn(&mut Builder, &T, usize, usize),
    ) -> usize {
        let from = self.json.pieces.len();
        for item in items {
            for profile in 0..pathway.profiles.len() {
                for slot in 0..pathway.regions.len() {
                    write(self, &item, profile, slot);
                    self.finish();
                }
            }
        }
        from
    }
}

/// Keeps `items[from..]`, just added, only if it is new; where an equal run was stored before, the new
/// copy is dropped. Returns where the run is stored, as `start..end` of `items`.
fn intern<T: Clone + Eq + Hash>(
    stored: &mut HashMap<Vec<T>, (u32, u32)>,
    items: &mut Vec<T>,
    from: usize,
) -> (u32, u32) {
    let added = &items[from..];
    if let Some(&range) = stored.get(added) {
        items.truncate(from);
        return range;
    }
    let range = (from as u32, items.len() as u32);
    stored.insert(added.to_vec(), range);
    range
}

impl Pieces {
    pub fn new(pathway: &Pathway) -> Pieces {
        let mut builder = Builder::default();
        builder.json.rows = pathway.profiles.len() * pathway.regions.len();
        builder.json.openings_from =
            builder.per_row(pathway, &pathway.assessments, |b, entry, profile, slot| {
                b.bytes().extend_from_slice(b"{\"pathway\":{\"id\":");
                b.string(&pathway.id);
                b.bytes().extend_from_slice(b",\"version\":");
                b.string(&pathway.version);
                b.bytes().extend_from_slice(b",\"digest\":");
                b.string(&pathway.digest);
                b.bytes().extend_from_slice(b"},\"profile\":");
                b.string(&pathway.profiles[profile].id);
                b.bytes()
                    .extend_from_slice(b",\"assessment\":{\"response\":");
                b.string(entry.response.as_str());
                b.bytes().extend_from_slice(b",\"summary\":\"");
                b.template(pathway, &entry.summary, profile, slot);
                b.bytes().extend_from_slice(b"\"},\"options\":[");
            });
        let offers = pathway.nodes.iter().flat_map(|node| &node.offers);
        builder.json.offers_from = builder.per_row(pathway, offers, |b, offer, profile, slot| {
            let option = &pathway.options[offer.option];
            b.bytes().extend_from_slice(b"{\"rank\":");
            b.fill(Fill::Rank);
            b.bytes().extend_from_slice(b",\"id\":");
            b.string(&option.id);
            b.bytes().extend_from_slice(b",\"title\":");
            b.string(&option.title);
            b.bytes().extend_from_slice(b",\"category\":");
            b.string(option.category.as_str());
            b.bytes().extend_from_slice(b",\"evidence\":");
            b.json(&option.evidence[slot]);
            b.bytes().extend_from_slice(b",\"rationale\":\"");
            b.template(pathway, &offer.rationale, profile, slot);
            b.bytes().extend_from_slice(b"\",\"criteria\":[");
            for (i, (index, criterion)) in pathway.reported_criteria(option, profile).enumerate() {
                if i > 0 {
                    b.bytes().push(b',');
                }
                b.bytes().extend_from_slice(b"{\"id\":");
                b.string(&criterion.id);
                b.bytes().extend_from_slice(b",\"status\":\"");
                b.fill(Fill::Status(index));
                b.bytes().extend_from_slice(b"\",\"text\":");
                b.string(&criterion.texts[pathway.row(profile, slot)]);
                b.bytes().push(b'}');
            }
            b.bytes().extend_from_slice(b"],\"citations\":[");
            b.citations(pathway, &pathway.offer_citations(offer, slot));
            b.bytes().push(b']');
            b.bytes().extend_from_slice(b",\"codes\":");
            b.json(&option.codes[slot]);
            b.bytes().push(b'}');
        });
        let avoids = pathway.nodes.iter().flat_map(|node| &node.avoids);
        builder.json.avoids_from = builder.per_row(pathway, avoids, |b, avoid, profile, slot| {
            let option = &pathway.options[avoid.option];
            b.bytes().extend_from_slice(b"{\"id\":");
            b.string(&option.id);
            b.bytes().extend_from_slice(b",\"title\":");
            b.string(&option.title);
            b.bytes().extend_from_slice(b",\"reason\":\"");
            b.template(pathway, &avoid.reason, profile, slot);
            b.bytes().extend_from_slice(b"\",\"citations\":[");
            b.citations(pathway, pathway.avoid_citations(avoid, slot));
            b.bytes().extend_from_slice(b"],\"evidence\":");
            b.json(
                &pathway
                    .avoid_evidence(avoid, slot)
                    .collect::<Vec<&Evidence>>(),
            );
            b.bytes().push(b'}');
        });
        builder.json.alerts_from =
            builder.per_row(pathway, &pathway.alerts, |b, alert, profile, slot| {
                b.bytes().extend_from_slice(b"{\"severity\":");
                b.string(alert.severity.as_str());
                b.bytes().extend_from_slice(b",\"code\":");
                b.string(&alert.code);
                // The message stays last: a request's writer may append to it.
                b.bytes().extend_from_slice(b",\"message\":\"");
                b.template(pathway, &alert.message, profile, slot);
                b.bytes().extend_from_slice(b"\"}");
            });
        let tail_start = builder.json.bytes.len();
        builder.bytes().extend_from_slice(b"],\"disclaimer\":");
        builder.string(&pathway.disclaimer);
        builder.bytes().push(b'}');
        builder.json.tail = (tail_start, builder.json.bytes.len());
        let starts = |count: fn(&Node) -> usize| {
            let mut next = 0;
            pathway
                .nodes
                .iter()
                .map(|node| {
                    let start = next;
                    next += count(node);
                    start
                })
                .collect::<Vec<_>>()
        };
        builder.json.node_offers_from = starts(|node| node.offers.len());
        builder.json.node_avoids_from = starts(|node| node.avoids.len());
        builder.json.bytes.shrink_to_fit();
        builder.json.steps.shrink_to_fit();
        builder.json
    }

    /// From the answer's start to the assessment summary's end and the options' opening bracket.
    /// `row` as [`Pathway::row`] gives it.
    pub fn opening(&self, assessment: usize, row: usize) -> Piece {
        Piece(self.openings_from + assessment * self.rows + row)
    }

    /// One offered option, `{"rank":…}`.
    pub fn offer(&self, node: usize, offer: usize, row: usize) -> Piece {
        Piece(self.offers_from + (self.node_offers_from[node] + offer) * self.rows + row)
    }

    /// One avoided option, `{"id":…,"reason":…,"citations":[…],"evidence":[…]}`.
    pub fn avoid(&self, node: usize, avoid: usize, row: usize) -> Piece {
        Piece(self.avoids_from + (self.node_avoids_from[node] + avoid) * self.rows + row)
    }

    /// One alert, `{"severity":…,"message":…}`.
    pub fn alert(&self, alert: usize, row: usize) -> Piece {
        Piece(self.alerts_from + alert * self.rows + row)
    }

    /// `],"disclaimer":"…"}`, after the alerts.
    pub fn tail(&self) -> &[u8] {
        &self.bytes[self.tail.0..self.tail.1]
    }

    /// Appends a piece to `out`, calling `fill` where the request fills something in.
    #[inline]
    pub fn write(&self, piece: Piece, out: &mut Vec<u8>, mut fill: impl FnMut(&mut Vec<u8>, Fill)) {
        let (start, end) = self.pieces[piece.0];
        for step in &self.steps[start as usize..end as usize] {
            out.extend_from_slice(&self.bytes[step.start as usize..step.end as usize]);
            if step.fill != Fill::End {
                fill(out, step.fill);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Step;
    use crate::escape::needs_escape;
    use crate::facts::{Fact, FactType, Field, write_fact};
    use crate::vocab::{Duration, DurationUnit};
    use std::collections::HashMap;

    /// Rows share what they have in common: each distinct run of bytes, and each distinct piece,
    /// is stored once.
    #[test]
    fn each_distinct_run_and_piece_is_stored_once() {
        let pathways = crate::pathway::PathwaySet::embedded().expect("embedded pathway");
        let pieces = super::Pieces::new(pathways.default_pathway());
        let json = &pieces;
        let mut runs = HashMap::new();
        for step in &json.steps {
            let bytes = &json.bytes[step.start as usize..step.end as usize];
            let range = (step.start, step.end);
            assert_eq!(*runs.entry(bytes).or_insert(range), range, "{bytes:?}");
        }
        let mut pieces: HashMap<&[Step], (u32, u32)> = HashMap::new();
        for &(start, end) in &json.pieces {
            let steps = &json.steps[start as usize..end as usize];
            assert_eq!(*pieces.entry(steps).or_insert((start, end)), (start, end));
        }
        assert!(
            pieces.len() < json.pieces.len() / 2,
            "rows share most pieces"
        );
    }

    /// [`super::Fill::Fact`] writes a fact's words as they are, so no word may need escaping.
    #[test]
    fn no_word_a_fact_can_produce_needs_escaping() {
        for field in Field::ALL {
            let facts: Vec<Fact> = match field.fact_type() {
                FactType::Number(_) => [0.0, 1.0, 2.5, 0.333, 80.0, 1e6].map(Fact::Number).to_vec(),
                FactType::Duration => DurationUnit::ALL
                    .iter()
                    .flat_map(|unit| {
                        [1.0, 2.0, 1.5].map(|value| Fact::Duration(Duration { value, unit: *unit }))
                    })
                    .collect(),
                FactType::Boolean => vec![Fact::Boolean(true), Fact::Boolean(false)],
                FactType::Choice(names) => {
                    (0..names.len()).map(|i| Fact::Choice(i as u8)).collect()
                }
                FactType::ChoiceSet(names) => vec![Fact::ChoiceSet((1 << names.len()) - 1)],
                FactType::Group => vec![Fact::Present],
            };
            for fact in facts.into_iter().chain([Fact::Absent]) {
                let mut words = String::new();
                write_fact(&mut words, *field, fact);
                assert!(!words.is_empty(), "{field:?}");
                assert!(!needs_escape(&words), "{field:?}: {words:?}");
            }
        }
    }
}

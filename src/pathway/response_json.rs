//! The compiled pathway's fixed text, serialized once at load as the pieces of JSON a triage answer
//! is made of: each option's id, title, evidence and codes, each criterion's text per profile and
//! region, citation lists, alert headings, parameter values as text names them. Writing an answer
//! copies these pieces and escapes only the words that name the patient's facts.
//!
//! The pieces follow the shape of `engine::TriageResponse` field for field; the tests compare every
//! answer written from them with serde_json's serialization of that type.

use super::{Node, Pathway};
use crate::escape;

/// Pre-serialized pieces of a triage answer. Each piece ends where a per-request value starts.
#[derive(Debug, Default)]
pub struct ResponseJson {
    slots: usize,
    /// Profiles times region slots.
    rows: usize,
    params: usize,
    /// Per profile: `{"pathway":{…},"profile":"…","assessment":{"response":`.
    head: Vec<Box<[u8]>>,
    /// Per assessment entry: `"partial","summary":"`.
    assessment: Vec<Box<[u8]>>,
    /// Per option and region slot: `,"id":…,"title":…,"category":…,"evidence":[…],"rationale":"`.
    option: Vec<Box<[u8]>>,
    /// Per criterion: `{"id":"…","status":"`.
    criterion: Vec<Box<[u8]>>,
    /// Per criterion and row (profile and region slot): `","text":"…"}`.
    criterion_text: Vec<Box<[u8]>>,
    /// Per node, the index of its first offer and of its first avoid in the lists below.
    offers_from: Vec<usize>,
    avoids_from: Vec<usize>,
    /// Per offer and region slot: `],"citations":[…],"codes":[…]}` (no codes where there are none).
    offer_tail: Vec<Box<[u8]>>,
    /// Per option: `{"id":"…","title":"…","reason":"`.
    avoid_head: Vec<Box<[u8]>>,
    /// Per avoid and region slot: `","citations":[…]}`.
    avoid_tail: Vec<Box<[u8]>>,
    /// Per alert: `{"severity":"…","code":"…","message":"`.
    alert: Vec<Box<[u8]>>,
    /// `],"disclaimer":"…"}`.
    tail: Box<[u8]>,
    /// Per row (profile and region slot) and parameter: the value as text names it, escaped.
    param_text: Vec<Box<[u8]>>,
    /// Per profile: its short label, escaped.
    profile_label: Vec<Box<[u8]>>,
}

/// Builds one piece.
fn piece(write: impl FnOnce(&mut Vec<u8>)) -> Box<[u8]> {
    let mut out = Vec::new();
    write(&mut out);
    out.into_boxed_slice()
}

/// Text escaped for the inside of a JSON string.
fn escaped(text: &str) -> Box<[u8]> {
    piece(|out| escape::escaped(out, text))
}

/// Writes `"a","b"` for source ids.
fn citations(out: &mut Vec<u8>, pathway: &Pathway, sources: impl IntoIterator<Item = usize>) {
    for (i, source) in sources.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        escape::string(out, &pathway.sources[source].id);
    }
}

impl ResponseJson {
    pub fn new(pathway: &Pathway) -> ResponseJson {
        let slots = pathway.regions.len();
        let head = pathway
            .profiles
            .iter()
            .map(|profile| {
                piece(|out| {
                    out.extend_from_slice(b"{\"pathway\":{\"id\":");
                    escape::string(out, &pathway.id);
                    out.extend_from_slice(b",\"version\":");
                    escape::string(out, &pathway.version);
                    out.extend_from_slice(b",\"digest\":");
                    escape::string(out, &pathway.digest);
                    out.extend_from_slice(b"},\"profile\":");
                    escape::string(out, &profile.id);
                    out.extend_from_slice(b",\"assessment\":{\"response\":");
                })
            })
            .collect();
        let assessment = pathway
            .assessments
            .iter()
            .map(|entry| {
                piece(|out| {
                    escape::string(out, entry.response.as_str());
                    out.extend_from_slice(b",\"summary\":\"");
                })
            })
            .collect();
        let option = pathway
            .options
            .iter()
            .flat_map(|option| {
                (0..slots).map(move |slot| {
                    piece(|out| {
                        out.extend_from_slice(b",\"id\":");
                        escape::string(out, &option.id);
                        out.extend_from_slice(b",\"title\":");
                        escape::string(out, &option.title);
                        out.extend_from_slice(b",\"category\":");
                        escape::string(out, option.category.as_str());
                        out.extend_from_slice(b",\"evidence\":");
                        out.extend_from_slice(option.evidence_json[slot].get().as_bytes());
                        out.extend_from_slice(b",\"rationale\":\"");
                    })
                })
            })
            .collect();
        let criterion = pathway
            .criteria
            .iter()
            .map(|criterion| {
                piece(|out| {
                    out.extend_from_slice(b"{\"id\":");
                    escape::string(out, &criterion.id);
                    out.extend_from_slice(b",\"status\":\"");
                })
            })
            .collect();
        let criterion_text = pathway
            .criteria
            .iter()
            .flat_map(|criterion| {
                criterion.texts.iter().map(|text| {
                    piece(|out| {
                        out.extend_from_slice(b"\",\"text\":");
                        escape::string(out, text);
                        out.push(b'}');
                    })
                })
            })
            .collect();
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
        let offer_tail = pathway
            .nodes
            .iter()
            .flat_map(|node| &node.offers)
            .flat_map(|offer| {
                let option = &pathway.options[offer.option];
                (0..slots).map(move |slot| {
                    piece(|out| {
                        out.extend_from_slice(b"],\"citations\":[");
                        citations(out, pathway, pathway.offer_citations(offer, slot));
                        out.push(b']');
                        if let Some(codes) = &option.codes_json[slot] {
                            out.extend_from_slice(b",\"codes\":");
                            out.extend_from_slice(codes.get().as_bytes());
                        }
                        out.push(b'}');
                    })
                })
            })
            .collect();
        let avoid_head = pathway
            .options
            .iter()
            .map(|option| {
                piece(|out| {
                    out.extend_from_slice(b"{\"id\":");
                    escape::string(out, &option.id);
                    out.extend_from_slice(b",\"title\":");
                    escape::string(out, &option.title);
                    out.extend_from_slice(b",\"reason\":\"");
                })
            })
            .collect();
        let avoid_tail = pathway
            .nodes
            .iter()
            .flat_map(|node| &node.avoids)
            .flat_map(|avoid| {
                (0..slots).map(move |slot| {
                    piece(|out| {
                        out.extend_from_slice(b"\",\"citations\":[");
                        let sources = pathway.avoid_citations(avoid, slot);
                        citations(out, pathway, sources.iter().copied());
                        out.extend_from_slice(b"]}");
                    })
                })
            })
            .collect();
        let alert = pathway
            .alerts
            .iter()
            .map(|alert| {
                piece(|out| {
                    out.extend_from_slice(b"{\"severity\":");
                    escape::string(out, alert.severity.as_str());
                    out.extend_from_slice(b",\"code\":");
                    escape::string(out, &alert.code);
                    out.extend_from_slice(b",\"message\":\"");
                })
            })
            .collect();
        ResponseJson {
            slots,
            rows: pathway.profiles.len() * slots,
            params: pathway.parameters.len(),
            head,
            assessment,
            option,
            criterion,
            criterion_text,
            offers_from: starts(|node| node.offers.len()),
            avoids_from: starts(|node| node.avoids.len()),
            offer_tail,
            avoid_head,
            avoid_tail,
            alert,
            tail: piece(|out| {
                out.extend_from_slice(b"],\"disclaimer\":");
                escape::string(out, &pathway.disclaimer);
                out.push(b'}');
            }),
            param_text: (0..pathway.profiles.len() * slots)
                .flat_map(|row| {
                    (0..pathway.parameters.len()).map(move |param| {
                        let value = pathway.param_value(row / slots, row % slots, param);
                        escaped(&value.text())
                    })
                })
                .collect(),
            profile_label: pathway
                .profiles
                .iter()
                .map(|profile| escaped(&profile.label))
                .collect(),
        }
    }

    pub fn head(&self, profile: usize) -> &[u8] {
        &self.head[profile]
    }

    pub fn assessment(&self, entry: usize) -> &[u8] {
        &self.assessment[entry]
    }

    pub fn option(&self, option: usize, slot: usize) -> &[u8] {
        &self.option[option * self.slots + slot]
    }

    pub fn criterion(&self, criterion: usize) -> &[u8] {
        &self.criterion[criterion]
    }

    /// `row` as [`Pathway::row`] gives it.
    pub fn criterion_text(&self, criterion: usize, row: usize) -> &[u8] {
        &self.criterion_text[criterion * self.rows + row]
    }

    pub fn offer_tail(&self, node: usize, offer: usize, slot: usize) -> &[u8] {
        &self.offer_tail[(self.offers_from[node] + offer) * self.slots + slot]
    }

    pub fn avoid_head(&self, option: usize) -> &[u8] {
        &self.avoid_head[option]
    }

    pub fn avoid_tail(&self, node: usize, avoid: usize, slot: usize) -> &[u8] {
        &self.avoid_tail[(self.avoids_from[node] + avoid) * self.slots + slot]
    }

    pub fn alert(&self, alert: usize) -> &[u8] {
        &self.alert[alert]
    }

    pub fn tail(&self) -> &[u8] {
        &self.tail
    }

    /// `row` as [`Pathway::row`] gives it.
    pub fn param_text(&self, row: usize, param: usize) -> &[u8] {
        &self.param_text[row * self.params + param]
    }

    pub fn profile_label(&self, profile: usize) -> &[u8] {
        &self.profile_label[profile]
    }
}

//! facet-triage: clinical decision support after a spinal facet joint intervention.
//!
//! Given how a patient responded to an intra-articular injection, a medial branch block or a
//! radiofrequency ablation, the service walks the facet-pain pathway (a decision graph loaded from
//! `pathways/`) and returns the ranked next options with evidence levels, what to avoid and alerts.
//!
//! - [`pathway`] owns the pathway file model, its validation and the compiled graph;
//! - [`engine`] evaluates a request against a compiled pathway;
//! - [`wire`] writes the triage answer's JSON from pieces serialized once per loaded pathway;
//! - [`request`], [`facts`] and [`vocab`] define the API's input and the facts a pathway can read;
//! - [`cds`] maps a CDS Hooks 2.0 call's FHIR prefetch to a triage request and the answer to cards;
//! - [`db`] stores CDS feedback and the JWT replay cache, shared by replicas.

pub mod auth;
pub mod cds;
pub mod cli;
pub mod config;
pub mod db;
pub mod engine;
pub mod escape;
pub mod facts;
pub mod http;
pub mod json;
pub mod pathway;
pub mod problem;
pub mod request;
pub mod store;
pub mod telemetry;
pub mod triage;
pub mod vocab;
pub mod wire;

//! The embedded pathway set, loaded once for every test module of this binary.

use facet_triage::pathway::PathwaySet;
use std::sync::OnceLock;

pub fn pathways() -> &'static PathwaySet {
    static SET: OnceLock<PathwaySet> = OnceLock::new();
    SET.get_or_init(|| PathwaySet::embedded().expect("the embedded pathway loads"))
}

//! The embedded pathway set with its answer pieces, loaded once for every test module of this binary.

use facet_triage::pathway::PathwaySet;
use facet_triage::wire::Served;
use std::sync::{Arc, OnceLock};

pub fn pathways() -> &'static Served {
    static SET: OnceLock<Served> = OnceLock::new();
    SET.get_or_init(|| {
        Served::new(Arc::new(
            PathwaySet::embedded().expect("the embedded pathway loads"),
        ))
    })
}

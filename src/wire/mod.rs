//! The triage answer's JSON as it goes on the wire, kept out of the domain: `pathway` and `engine`
//! hold no response bytes. Each loaded pathway's fixed text is serialized once into [`Pieces`], and
//! [`answer`] writes a decided request from them. [`Served`] pairs a loaded set with its pieces; it
//! is what the store swaps on a reload and what the triage use case answers from.

mod pieces;
mod write;

pub use pieces::{Fill, Pieces};
pub use write::answer;

use crate::pathway::{Pathway, PathwaySet};
use std::sync::Arc;

/// A loaded pathway set with the answer pieces of each of its pathways. Reads as the set it holds.
#[derive(Debug)]
pub struct Served {
    pathways: Arc<PathwaySet>,
    /// In the order of [`PathwaySet::iter`].
    pieces: Vec<Pieces>,
}

impl Served {
    /// Serializes the pieces of every pathway of the set.
    pub fn new(pathways: Arc<PathwaySet>) -> Served {
        let pieces = pathways
            .iter()
            .map(|pathway| Pieces::new(pathway))
            .collect();
        Served { pathways, pieces }
    }

    /// The pathway [`PathwaySet::get`] finds for `id`, with its pieces.
    pub fn answering(&self, id: Option<&str>) -> Option<(&Arc<Pathway>, &Pieces)> {
        let pathway = self.pathways.get(id)?;
        let position = (self.pathways.iter()).position(|own| Arc::ptr_eq(own, pathway))?;
        Some((pathway, &self.pieces[position]))
    }
}

impl std::ops::Deref for Served {
    type Target = PathwaySet;

    fn deref(&self) -> &PathwaySet {
        &self.pathways
    }
}

#[cfg(test)]
mod tests {
    use super::Served;
    use crate::pathway::PathwaySet;
    use std::sync::Arc;

    #[test]
    fn each_pathway_is_answered_with_its_own_pieces() {
        let mut second = crate::pathway::DEFAULT_PATHWAY.replacen(
            "id = \"facet-pain\"",
            "id = \"facet-pain-copy\"",
            1,
        );
        second = second.replacen("version = \"2.0.0\"", "version = \"9.9.9\"", 1);
        let set = PathwaySet::from_sources(vec![
            (
                "a.toml".to_owned(),
                crate::pathway::DEFAULT_PATHWAY.to_owned(),
            ),
            ("b.toml".to_owned(), second),
        ])
        .expect("both pathways load");
        let served = Served::new(Arc::new(set));
        for id in [None, Some("facet-pain"), Some("facet-pain-copy")] {
            let (pathway, pieces) = served.answering(id).expect("a loaded pathway");
            let mut opening = Vec::new();
            pieces.write(pieces.opening(0, 0), &mut opening, |_, _| {});
            let version = format!("\"version\":\"{}\"", pathway.version);
            assert!(
                opening
                    .windows(version.len())
                    .any(|w| w == version.as_bytes())
            );
        }
        assert!(served.answering(Some("unknown")).is_none());
    }
}

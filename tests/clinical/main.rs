//! The clinical engine and its data in one test binary: the vignettes through the router, the clinical
//! content and criteria of the embedded pathway, every capability and validation error of the pathway
//! format, pathways served from files by the real binary, property tests of the engine and the request
//! parser, and inputs the fuzz targets found.

mod clinical_content;
mod condition_reference;
mod contract_fields;
mod criteria;
mod embedded;
mod fuzz_regressions;
mod pathway_capabilities;
mod pathway_validation;
mod pathways_as_data;
mod properties;
mod request_parse;
mod vignettes;

//! The loaded pathways: the embedded default, or every `*.toml` file of a directory, with the FHIR
//! mapping files (`*.fhir.toml`) beside them.

use super::error::{LoadError, LoadErrors, Positions};
use super::fhir_mapping::{
    self, DEFAULT_MAPPING, DEFAULT_MAPPING_FILE_NAME, FhirMapping, MAPPING_SUFFIX,
};
use super::{Pathway, compile};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// File name of the default pathway, in `pathways/` and in error messages about the embedded copy.
pub const DEFAULT_FILE_NAME: &str = "pathways/facet-pain.toml";
/// Largest pathway file loaded by default (1 MiB); a larger one is refused before it is parsed.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The default pathway, embedded at compile time so the server runs with no files beside it.
pub const DEFAULT_PATHWAY: &str = include_str!("../../pathways/facet-pain.toml");

/// Every loaded pathway, by id, with the one a request gets when it names none.
#[derive(Debug, Clone)]
pub struct PathwaySet {
    pathways: Vec<Arc<Pathway>>,
    default: usize,
    /// The FHIR mappings, each for the pathway its `pathway` names.
    mappings: Vec<Arc<FhirMapping>>,
}

impl PathwaySet {
    /// The embedded default pathway and its FHIR mapping.
    pub fn embedded() -> Result<PathwaySet, LoadErrors> {
        PathwaySet::from_sources(vec![
            (DEFAULT_FILE_NAME.to_owned(), DEFAULT_PATHWAY.to_owned()),
            (
                DEFAULT_MAPPING_FILE_NAME.to_owned(),
                DEFAULT_MAPPING.to_owned(),
            ),
        ])
    }

    /// Every `*.toml` file of `dir`, in file-name order, each of at most [`DEFAULT_MAX_FILE_BYTES`]:
    /// `*.fhir.toml` files are FHIR mappings, the others pathways. Errors of all files are reported
    /// together.
    pub fn load_dir(dir: &Path) -> Result<PathwaySet, LoadErrors> {
        PathwaySet::load_dir_bounded(dir, DEFAULT_MAX_FILE_BYTES)
    }

    /// Every `*.toml` file of `dir`, in file-name order; a file over `max_file_bytes` is refused
    /// before it is read. Errors name files by their file name only, never the directory's path.
    pub fn load_dir_bounded(dir: &Path, max_file_bytes: u64) -> Result<PathwaySet, LoadErrors> {
        let error = |path: &Path, message: String| {
            LoadErrors(vec![LoadError {
                file: file_name(path),
                line: 1,
                column: 1,
                message,
            }])
        };
        let io_error = |path: &Path, e: std::io::Error| error(path, format!("cannot read: {e}"));
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io_error(dir, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml") && path.is_file())
            .collect();
        paths.sort();
        let mut sources = Vec::new();
        for path in paths {
            let too_large = || {
                let message = format!("the file is larger than {max_file_bytes} bytes");
                error(&path, message)
            };
            let size = std::fs::metadata(&path)
                .map_err(|e| io_error(&path, e))?
                .len();
            if size > max_file_bytes {
                return Err(too_large());
            }
            // Read through a bound too: the file may grow between the size check and the read.
            let mut text = String::new();
            std::fs::File::open(&path)
                .and_then(|file| file.take(max_file_bytes + 1).read_to_string(&mut text))
                .map_err(|e| io_error(&path, e))?;
            if text.len() as u64 > max_file_bytes {
                return Err(too_large());
            }
            sources.push((file_name(&path), text));
        }
        if sources
            .iter()
            .all(|(name, _)| name.ends_with(MAPPING_SUFFIX))
        {
            return Err(io_error(
                dir,
                std::io::Error::other("no pathway files (*.toml) in this directory"),
            ));
        }
        PathwaySet::from_sources(sources)
    }

    /// Compiles named file texts (a name ending in `.fhir.toml` is a FHIR mapping); fails with the
    /// errors of every file.
    pub fn from_sources(sources: Vec<(String, String)>) -> Result<PathwaySet, LoadErrors> {
        let mut pathways: Vec<Arc<Pathway>> = Vec::new();
        let mut errors = Vec::new();
        let (mapping_sources, sources): (Vec<_>, Vec<_>) = sources
            .into_iter()
            .partition(|(name, _)| name.ends_with(MAPPING_SUFFIX));
        for (name, text) in &sources {
            match compile(name, text) {
                Ok(pathway) => {
                    if pathways.iter().any(|p| p.id == pathway.id) {
                        errors.push(LoadError {
                            file: name.clone(),
                            line: 1,
                            column: 1,
                            message: format!(
                                "pathway id `{}` is already used by another file",
                                pathway.id
                            ),
                        });
                    }
                    pathways.push(Arc::new(pathway));
                }
                Err(LoadErrors(file_errors)) => errors.extend(file_errors),
            }
        }
        let mut mappings: Vec<Arc<FhirMapping>> = Vec::new();
        for (name, text) in &mapping_sources {
            match fhir_mapping::parse(name, text) {
                Ok(mapping) => {
                    let positions = Positions::new(name, text);
                    if !pathways.iter().any(|p| p.id == mapping.pathway) {
                        errors.push(positions.error(
                            mapping.pathway_offset,
                            format!("no loaded pathway has the id `{}`", mapping.pathway),
                        ));
                    } else if mappings.iter().any(|m| m.pathway == mapping.pathway) {
                        errors.push(positions.error(
                            mapping.pathway_offset,
                            format!(
                                "pathway `{}` already has a FHIR mapping file",
                                mapping.pathway
                            ),
                        ));
                    }
                    mappings.push(Arc::new(mapping));
                }
                Err(LoadErrors(file_errors)) => errors.extend(file_errors),
            }
        }
        if !errors.is_empty() {
            return Err(LoadErrors(errors));
        }
        let default_id = embedded_id();
        let default = pathways
            .iter()
            .position(|p| Some(p.id.as_str()) == default_id)
            .unwrap_or(0);
        Ok(PathwaySet {
            pathways,
            default,
            mappings,
        })
    }

    /// The pathway with this id, or the default one for `None`.
    pub fn get(&self, id: Option<&str>) -> Option<&Arc<Pathway>> {
        match id {
            None => Some(&self.pathways[self.default]),
            Some(id) => self.pathways.iter().find(|p| p.id == id),
        }
    }

    pub fn default_pathway(&self) -> &Arc<Pathway> {
        &self.pathways[self.default]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Pathway>> {
        self.pathways.iter()
    }

    /// The FHIR mapping of a pathway: its own mapping file, else the embedded default mapping
    /// (the mapping reads FHIR into request fields, which every pathway shares).
    pub fn fhir_mapping(&self, pathway_id: &str) -> Arc<FhirMapping> {
        self.mappings
            .iter()
            .find(|m| m.pathway == pathway_id)
            .cloned()
            .unwrap_or_else(|| Arc::clone(&EMBEDDED_MAPPING))
    }
}

/// The embedded default mapping, checked by the build's own tests.
static EMBEDDED_MAPPING: std::sync::LazyLock<Arc<FhirMapping>> = std::sync::LazyLock::new(|| {
    Arc::new(FhirMapping::embedded().expect("the embedded FHIR mapping is valid"))
});

/// The id of the embedded pathway, read from its `[pathway]` table once per process.
fn embedded_id() -> Option<&'static str> {
    static ID: std::sync::LazyLock<Option<String>> = std::sync::LazyLock::new(read_embedded_id);
    ID.as_deref()
}

fn read_embedded_id() -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        pathway: Meta,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        id: String,
    }
    toml::from_str::<toml::Table>(DEFAULT_PATHWAY)
        .ok()
        .and_then(|table| toml::Value::Table(table).try_into::<Head>().ok())
        .map(|head| head.pathway.id)
}

/// The last component of a path (the path itself when it has none), for error messages.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

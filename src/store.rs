//! The pathways a running server answers with, and how they are replaced without a restart.
//!
//! A reload parses and validates every file off the request path, then swaps the new set in atomically;
//! requests in flight keep the set they started with. An invalid file never replaces a good set: the
//! previous one keeps serving and the failure (`file:line:column: message` lines) is kept for
//! `/readyz` and counted in metrics. Reloads are triggered by changes in the pathway directory
//! (debounced) and by [`PathwayStore::reload`], which the server calls on SIGHUP.

use crate::pathway::{DEFAULT_MAX_FILE_BYTES, LoadErrors, PathwaySet};
use crate::wire::Served;
use arc_swap::{ArcSwap, Guard};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the pathways come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathwaySource {
    /// The copy embedded in the binary; never changes.
    Embedded,
    /// Every `*.toml` file of a directory.
    Directory(PathBuf),
}

impl PathwaySource {
    /// Loads the pathways, with files of at most [`DEFAULT_MAX_FILE_BYTES`].
    pub fn load(&self) -> Result<PathwaySet, LoadErrors> {
        self.load_bounded(DEFAULT_MAX_FILE_BYTES)
    }

    /// Loads the pathways; a file over `max_file_bytes` is refused before it is read.
    pub fn load_bounded(&self, max_file_bytes: u64) -> Result<PathwaySet, LoadErrors> {
        match self {
            PathwaySource::Embedded => PathwaySet::embedded(),
            PathwaySource::Directory(dir) => PathwaySet::load_dir_bounded(dir, max_file_bytes),
        }
    }
}

/// The last reload that failed, kept until a reload succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadFailure {
    /// One `file:line:column: message` line per error.
    pub errors: Vec<String>,
}

/// A check a new set must pass, beyond its own validation, before it may serve (for example: the
/// configured CDS profile still exists). Its error is one line of the rejection.
pub type AcceptCheck = Box<dyn Fn(&PathwaySet) -> Result<(), String> + Send + Sync>;

/// The current pathway set, with its answer pieces, swappable while the server runs.
pub struct PathwayStore {
    source: PathwaySource,
    current: ArcSwap<Served>,
    last_failure: Mutex<Option<ReloadFailure>>,
    accept: Option<AcceptCheck>,
    max_file_bytes: u64,
    /// Held while a reload runs: reloads run one at a time, and `/readyz` shows one in progress.
    reloading: Mutex<()>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The new set is serving.
    Replaced,
    /// The files did not validate; the previous set keeps serving.
    Rejected(ReloadFailure),
}

impl PathwayStore {
    /// Loads the source once; the server does not start on an invalid pathway.
    pub fn load(source: PathwaySource) -> Result<PathwayStore, LoadErrors> {
        PathwayStore::load_bounded(source, DEFAULT_MAX_FILE_BYTES)
    }

    /// Loads the source once with files of at most `max_file_bytes`, now and on every reload.
    pub fn load_bounded(
        source: PathwaySource,
        max_file_bytes: u64,
    ) -> Result<PathwayStore, LoadErrors> {
        let set = source.load_bounded(max_file_bytes)?;
        let mut store = PathwayStore::with_set(source, set);
        store.max_file_bytes = max_file_bytes;
        Ok(store)
    }

    /// A store holding an already loaded set.
    pub fn with_set(source: PathwaySource, set: PathwaySet) -> PathwayStore {
        PathwayStore::with_shared(source, Arc::new(set))
    }

    /// A store holding a set shared with others (tests that build many routers over one set).
    pub fn with_shared(source: PathwaySource, set: Arc<PathwaySet>) -> PathwayStore {
        PathwayStore {
            source,
            current: ArcSwap::from_pointee(Served::new(set)),
            last_failure: Mutex::new(None),
            accept: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            reloading: Mutex::new(()),
        }
    }

    /// Adds a check every reloaded set must pass before it replaces the serving one.
    pub fn accepting_only(mut self, check: AcceptCheck) -> PathwayStore {
        self.accept = Some(check);
        self
    }

    /// The set serving now. Cheap: no lock, no copy.
    pub fn current(&self) -> Guard<Arc<Served>> {
        self.current.load()
    }

    /// A handle on the set serving now, to keep past a swap.
    pub fn snapshot(&self) -> Arc<Served> {
        self.current.load_full()
    }

    pub fn source(&self) -> &PathwaySource {
        &self.source
    }

    /// The last failed reload, if no reload succeeded since.
    pub fn last_failure(&self) -> Option<ReloadFailure> {
        self.last_failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Whether a reload is running now.
    pub fn is_reloading(&self) -> bool {
        matches!(
            self.reloading.try_lock(),
            Err(std::sync::TryLockError::WouldBlock)
        )
    }

    /// Loads and validates the source again and swaps it in if it is valid; one reload runs at a
    /// time. Blocking: call it from a blocking thread, not from a request.
    pub fn reload(&self) -> ReloadOutcome {
        let _reloading = self
            .reloading
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let loaded = self
            .source
            .load_bounded(self.max_file_bytes)
            .map_err(|LoadErrors(errors)| errors.iter().map(ToString::to_string).collect())
            .and_then(|set| match &self.accept {
                Some(check) => check(&set).map(|()| set).map_err(|error| vec![error]),
                None => Ok(set),
            });
        let outcome = match loaded {
            Ok(set) => {
                self.current.store(Arc::new(Served::new(Arc::new(set))));
                *self
                    .last_failure
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
                ReloadOutcome::Replaced
            }
            Err(errors) => {
                let failure = ReloadFailure { errors };
                *self
                    .last_failure
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(failure.clone());
                ReloadOutcome::Rejected(failure)
            }
        };
        match &outcome {
            ReloadOutcome::Replaced => {
                metrics::counter!("pathway_reloads_total", "outcome" => "replaced").increment(1);
                let set = self.current();
                for pathway in set.iter() {
                    tracing::info!(pathway = %pathway.id, version = %pathway.version, digest = %pathway.digest, "pathway reloaded");
                }
            }
            ReloadOutcome::Rejected(failure) => {
                metrics::counter!("pathway_reloads_total", "outcome" => "rejected").increment(1);
                for error in &failure.errors {
                    tracing::error!(%error, "pathway reload rejected; the previous version keeps serving");
                }
            }
        }
        outcome
    }
}

/// How long the directory must be quiet before a change triggers a reload.
pub const RELOAD_DEBOUNCE: Duration = Duration::from_millis(250);

/// Reloads the store whenever its directory changes, until the returned watcher is dropped.
/// Events are debounced, and each reload runs on a blocking thread.
pub fn watch_directory(
    store: Arc<PathwayStore>,
    dir: &Path,
) -> notify::Result<notify::RecommendedWatcher> {
    use notify::Watcher;
    let (changed, mut changes) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|event| !event.kind.is_access()) {
            let _ = changed.send(());
        }
    })?;
    watcher.watch(dir, notify::RecursiveMode::NonRecursive)?;
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            // Wait for the directory to settle: editors and `cp` write in several steps.
            loop {
                match tokio::time::timeout(RELOAD_DEBOUNCE, changes.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_elapsed) => break,
                }
            }
            let store = store.clone();
            let _ = tokio::task::spawn_blocking(move || store.reload()).await;
        }
    });
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pathway::DEFAULT_PATHWAY;

    fn directory_with(text: &str) -> (tempdir::Dir, PathwayStore) {
        let dir = tempdir::Dir::new();
        std::fs::write(dir.path().join("facet-pain.toml"), text).unwrap();
        let store = PathwayStore::load(PathwaySource::Directory(dir.path().to_owned())).unwrap();
        (dir, store)
    }

    /// A throwaway directory under the system temp dir, removed on drop.
    mod tempdir {
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                static NEXT: std::sync::atomic::AtomicUsize =
                    std::sync::atomic::AtomicUsize::new(0);
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let path = std::env::temp_dir()
                    .join(format!("facet-triage-store-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&path).unwrap();
                Dir(path)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn a_valid_change_is_swapped_in() {
        let (dir, store) = directory_with(DEFAULT_PATHWAY);
        let before = store.snapshot().default_pathway().digest.clone();
        let edited = DEFAULT_PATHWAY.replacen("version = \"2.0.0\"", "version = \"2.0.1\"", 1);
        std::fs::write(dir.path().join("facet-pain.toml"), edited).unwrap();
        assert_eq!(store.reload(), ReloadOutcome::Replaced);
        let after = store.current();
        assert_eq!(after.default_pathway().version, "2.0.1");
        assert_ne!(after.default_pathway().digest, before);
        assert_eq!(store.last_failure(), None);
    }

    #[test]
    fn an_invalid_change_never_replaces_the_serving_set() {
        let (dir, store) = directory_with(DEFAULT_PATHWAY);
        let held = store.snapshot();
        std::fs::write(
            dir.path().join("facet-pain.toml"),
            DEFAULT_PATHWAY.replacen("version = \"2.0.0\"", "version = \"one\"", 1),
        )
        .unwrap();
        let ReloadOutcome::Rejected(failure) = store.reload() else {
            panic!("an invalid file was accepted")
        };
        assert!(
            failure.errors[0].contains("facet-pain.toml:"),
            "{failure:?}"
        );
        assert!(
            Arc::ptr_eq(&held, &store.snapshot()),
            "the previous set keeps serving"
        );
        assert_eq!(store.last_failure(), Some(failure));
        std::fs::write(dir.path().join("facet-pain.toml"), DEFAULT_PATHWAY).unwrap();
        assert_eq!(store.reload(), ReloadOutcome::Replaced);
        assert_eq!(
            store.last_failure(),
            None,
            "a good reload clears the failure"
        );
    }

    #[test]
    fn a_set_failing_the_accept_check_is_rejected() {
        let (dir, store) = directory_with(DEFAULT_PATHWAY);
        let store = store.accepting_only(Box::new(|set| {
            if set.default_pathway().version == "2.0.0" {
                Ok(())
            } else {
                Err("only version 2.0.0 may serve".to_owned())
            }
        }));
        let edited = DEFAULT_PATHWAY.replacen("version = \"2.0.0\"", "version = \"2.0.1\"", 1);
        std::fs::write(dir.path().join("facet-pain.toml"), edited).unwrap();
        assert_eq!(
            store.reload(),
            ReloadOutcome::Rejected(ReloadFailure {
                errors: vec!["only version 2.0.0 may serve".to_owned()]
            })
        );
        assert_eq!(store.current().default_pathway().version, "2.0.0");
    }

    #[test]
    fn requests_in_flight_keep_the_set_they_started_with() {
        let (dir, store) = directory_with(DEFAULT_PATHWAY);
        let in_flight = store.snapshot();
        let edited = DEFAULT_PATHWAY.replacen("version = \"2.0.0\"", "version = \"3.0.0\"", 1);
        std::fs::write(dir.path().join("facet-pain.toml"), edited).unwrap();
        store.reload();
        assert_eq!(in_flight.default_pathway().version, "2.0.0");
        assert_eq!(store.current().default_pathway().version, "3.0.0");
    }
}

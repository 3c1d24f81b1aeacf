//! The web console end to end (contract section 8): the real binary on 127.0.0.1 port 0, with an
//! API token so the page must ask for it, driven in headless Chromium (Debian's `chromium`) by
//! `tests/console/e2e.py` (PyPI `playwright`), with axe-core from `tests/console/node_modules`
//! (`npm ci --prefix tests/console`). Screenshots of both views at laptop and tablet widths go to
//! `<target dir>/console-screenshots/`. Without those parts the test says it is skipped, unless
//! `CI` is set, where it fails.

use crate::harness::Server;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TOKEN: &str = "console-e2e-token-5b1f0c9e7a24d36";

/// The parts the test needs, or what is missing.
fn parts() -> Result<(PathBuf, PathBuf), String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        return Err(format!("chromium ({}) not installed", chromium.display()));
    }
    let playwright = Command::new("python3")
        .args(["-c", "import playwright.sync_api"])
        .stderr(Stdio::null())
        .status();
    if !playwright.is_ok_and(|status| status.success()) {
        return Err("python3 with the playwright package not installed".to_owned());
    }
    let axe = manifest.join("tests/console/node_modules/axe-core/axe.min.js");
    if !axe.is_file() {
        return Err("axe-core not installed (npm ci --prefix tests/console)".to_owned());
    }
    Ok((chromium, axe))
}

#[test]
fn the_console_works_in_a_real_browser() {
    let (chromium, axe) = match parts() {
        Ok(parts) => parts,
        Err(missing) if std::env::var_os("CI").is_some() => {
            panic!("CI: {missing}; .ci/run installs it")
        }
        Err(missing) => {
            println!("skipped: {missing}");
            return;
        }
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("target"));
    let shots = target.join("console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let server = Server::start(&[], &[("FACET_TRIAGE_API_TOKENS", TOKEN)]);
    let output = Command::new("python3")
        .arg(manifest.join("tests/console/e2e.py"))
        .args([
            "--base",
            &format!("http://{}", server.addr),
            "--token",
            TOKEN,
        ])
        .arg("--axe")
        .arg(&axe)
        .arg("--shots")
        .arg(&shots)
        .arg("--chromium")
        .arg(&chromium)
        .output();
    drop(server);
    let output = output.expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for view in ["pathway", "case"] {
        for width in ["laptop", "tablet"] {
            let shot = shots.join(format!("{view}-{width}.png"));
            assert!(shot.is_file(), "no screenshot {}", shot.display());
        }
    }
}

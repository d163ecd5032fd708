//! The fixture mails the output dumpers read (`decision_outputs`,
//! `request_outputs`).

use std::path::{Path, PathBuf};

/// Every `.eml` under `dir`, sorted, recursively.
pub(crate) fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect(&p, files);
        } else if p.extension().is_some_and(|e| e == "eml") {
            files.push(p);
        }
    }
}

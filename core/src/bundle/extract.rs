//! Unpacking a bundle into a folder, and never outside it.
//!
//! Every name has passed [`super::zip::check_name`] before anything is written (no absolute paths,
//! no `..`, no backslashes or drive letters), the archive has passed the bomb checks, each folder
//! on the way is created here and checked not to be a symbolic link, and each file is created new
//! (nothing existing is overwritten). If any member fails, the files written so far are removed.

use std::{
    fs::{self, OpenOptions},
    io::BufWriter,
    path::{Path, PathBuf},
};

use super::{
    BundleError,
    zip::{Limits, ZipReader},
};
use crate::Result;

fn output(path: &Path, reason: impl Into<String>) -> BundleError {
    BundleError::Output { path: path.display().to_string(), reason: reason.into() }
}

/// Extracts every member of the bundle at `bundle` into `out_dir` (created if absent; must be
/// empty). Returns the member names written. Does not verify signatures: see [`crate::verify`].
pub fn extract(bundle: &Path, out_dir: &Path) -> Result<Vec<String>> {
    let file = fs::File::open(bundle).map_err(|e| output(bundle, e.to_string()))?;
    let mut zip = ZipReader::open(file, Limits::default())?;
    fs::create_dir_all(out_dir).map_err(|e| output(out_dir, e.to_string()))?;
    let root = out_dir.canonicalize().map_err(|e| output(out_dir, e.to_string()))?;
    if fs::read_dir(&root).map_err(|e| output(&root, e.to_string()))?.next().is_some() {
        return Err(output(&root, "the output folder is not empty").into());
    }
    let names: Vec<String> = zip.members().iter().map(|m| m.name.clone()).collect();
    let mut written: Vec<PathBuf> = Vec::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    let result = (|| -> Result<()> {
        for name in &names {
            let mut target = root.clone();
            let parts: Vec<&str> = name.split('/').collect();
            for dir in &parts[..parts.len() - 1] {
                target.push(dir);
                match fs::symlink_metadata(&target) {
                    Ok(meta) if meta.is_dir() && !meta.file_type().is_symlink() => {}
                    Ok(_) => return Err(output(&target, "exists and is not a folder").into()),
                    Err(_) => {
                        fs::create_dir(&target).map_err(|e| output(&target, e.to_string()))?;
                        dirs.push(target.clone());
                    }
                }
            }
            target.push(parts[parts.len() - 1]);
            if !target.starts_with(&root) {
                return Err(output(&target, "outside the output folder").into());
            }
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)
                .map_err(|e| output(&target, e.to_string()))?;
            written.push(target.clone());
            let mut sink = BufWriter::new(file);
            zip.copy_to(name, &mut sink)?;
            sink.into_inner().map_err(|e| output(&target, e.to_string()))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        for f in written.iter().rev() {
            let _ = fs::remove_file(f);
        }
        for d in dirs.iter().rev() {
            let _ = fs::remove_dir(d);
        }
        return Err(e);
    }
    Ok(names)
}

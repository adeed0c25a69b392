//! Policy bundles: a directory of `.rego` files plus data files, versioned by content.
//!
//! A bundle's version is the SHA-256 over its files in sorted relative-path
//! order; for each file the hash takes the `/`-separated relative path, a NUL
//! byte, the content length as a big-endian `u64`, and the content. Only the
//! files that make up the policy count (`.rego`, `.json`, `.yaml`, `.yml`), so
//! editing a README does not change the version. Hidden files and directories
//! (`.git`, editor swap files) are skipped.
//!
//! Loading compiles every Rego file (tests included) and data file up front:
//! a bundle that does not compile, or whose data does not parse or merge, is an
//! error naming the file and line, and is never half-loaded.

use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::data::{self, DataFormat};
use crate::engine::compile;
use crate::error::PolicyError;

/// Length of the short form of a bundle hash shown to people and in logs.
pub const SHORT_HASH_LEN: usize = 12;

/// Name used as the source of the embedded default bundle.
pub const DEFAULT_BUNDLE_SOURCE: &str = "<embedded default bundle>";

/// The shipped default bundle, embedded at build time (see `bundles/default/README.md`).
const DEFAULT_BUNDLE: &[(&str, &str)] = &[
    (
        "approval.rego",
        include_str!("../bundles/default/approval.rego"),
    ),
    (
        "common.rego",
        include_str!("../bundles/default/common.rego"),
    ),
    (
        "concurrency.rego",
        include_str!("../bundles/default/concurrency.rego"),
    ),
    ("data.yaml", include_str!("../bundles/default/data.yaml")),
    (
        "error_budget.rego",
        include_str!("../bundles/default/error_budget.rego"),
    ),
    (
        "freeze.rego",
        include_str!("../bundles/default/freeze.rego"),
    ),
    (
        "promoters.rego",
        include_str!("../bundles/default/promoters.rego"),
    ),
    (
        "rollguard_test.rego",
        include_str!("../bundles/default/rollguard_test.rego"),
    ),
    (
        "weights.rego",
        include_str!("../bundles/default/weights.rego"),
    ),
];

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Path relative to the bundle root, `/`-separated.
    pub path: String,
    /// The file's text.
    pub contents: String,
}

impl BundleFile {
    /// Whether this is a Rego module.
    pub fn is_rego(&self) -> bool {
        self.path.ends_with(".rego")
    }

    /// Whether this is a Rego test module (`*_test.rego`), loaded by the test
    /// runner but not by the decision engine.
    pub fn is_test(&self) -> bool {
        self.path.ends_with("_test.rego")
    }
}

/// A loaded, compiled, content-hashed policy bundle.
#[derive(Debug, Clone)]
pub struct PolicyBundle {
    source: String,
    files: Vec<BundleFile>,
    data: Value,
    hash: String,
    timezone: TimeZone,
}

impl PolicyBundle {
    /// Loads and compiles the bundle in directory `dir`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, PolicyError> {
        let dir = dir.as_ref();
        let mut files = Vec::new();
        walk(dir, dir, &mut files)?;
        Self::from_files(dir.display().to_string(), files)
    }

    /// The shipped default bundle (embedded in the binary).
    pub fn default_bundle() -> Result<Self, PolicyError> {
        let files = DEFAULT_BUNDLE
            .iter()
            .map(|(path, contents)| BundleFile {
                path: (*path).to_string(),
                contents: (*contents).to_string(),
            })
            .collect();
        Self::from_files(DEFAULT_BUNDLE_SOURCE, files)
    }

    /// Builds a bundle from files already in memory (`source` names it in errors).
    /// Files that are neither Rego nor data are ignored.
    pub fn from_files(
        source: impl Into<String>,
        files: Vec<BundleFile>,
    ) -> Result<Self, PolicyError> {
        let source = source.into();
        let mut files: Vec<BundleFile> = files
            .into_iter()
            .filter(|f| f.is_rego() || DataFormat::of(&f.path).is_some())
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        if !files.iter().any(BundleFile::is_rego) {
            return Err(PolicyError::Empty { dir: source });
        }
        let mut data_files = Vec::new();
        for file in &files {
            if let Some(format) = DataFormat::of(&file.path) {
                data_files.push((
                    file.path.as_str(),
                    data::parse(&file.path, format, &file.contents)?,
                ));
            }
        }
        let data = data::merge(data_files)?;
        let timezone = timezone_of(&data)?;
        let hash = content_hash(&files);
        let bundle = Self {
            source,
            files,
            data,
            hash,
            timezone,
        };
        // Compile everything, tests included, so errors surface at load time.
        compile(&bundle, true)?;
        Ok(bundle)
    }

    /// Where the bundle came from (a directory, or the embedded default).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The bundle's files, sorted by path.
    pub fn files(&self) -> &[BundleFile] {
        &self.files
    }

    /// The merged `data` document.
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// Full content hash (64 hex digits): the bundle's version.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The first [`SHORT_HASH_LEN`] hex digits of the hash.
    pub fn short_hash(&self) -> &str {
        self.hash.get(..SHORT_HASH_LEN).unwrap_or(&self.hash)
    }

    /// The time zone in which `environment.hour` / `weekday` are computed:
    /// `data.timezone` (an IANA name), UTC when unset.
    pub fn timezone(&self) -> &TimeZone {
        &self.timezone
    }
}

/// SHA-256 over the sorted files, as described in the module docs.
pub fn content_hash(files: &[BundleFile]) -> String {
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.path.as_bytes());
        hasher.update([0u8]);
        hasher.update((file.contents.len() as u64).to_be_bytes());
        hasher.update(file.contents.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn timezone_of(data: &Value) -> Result<TimeZone, PolicyError> {
    match data.get("timezone") {
        None | Some(Value::Null) => Ok(TimeZone::UTC),
        Some(Value::String(name)) => TimeZone::get(name).map_err(|e| PolicyError::TimeZone {
            name: name.clone(),
            message: e.to_string(),
        }),
        Some(other) => Err(PolicyError::TimeZone {
            name: other.to_string(),
            message: "expected a string such as \"Europe/Berlin\"".to_string(),
        }),
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<BundleFile>) -> Result<(), PolicyError> {
    let io = |path: &Path| {
        let path: PathBuf = path.to_path_buf();
        move |source| PolicyError::Io { path, source }
    };
    let entries = std::fs::read_dir(dir).map_err(io(dir))?;
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let metadata = std::fs::metadata(&path).map_err(io(&path))?;
        if metadata.is_dir() {
            walk(root, &path, out)?;
            continue;
        }
        let relative = relative_path(root, &path);
        if !relative.ends_with(".rego") && DataFormat::of(&relative).is_none() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let contents = String::from_utf8(bytes).map_err(|_| PolicyError::NotUtf8 {
            path: relative.clone(),
        })?;
        out.push(BundleFile {
            path: relative,
            contents,
        });
    }
    Ok(())
}

fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

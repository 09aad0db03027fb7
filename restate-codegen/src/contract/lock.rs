//! The contract lock: the snapshot a build compares its protos with, and writes on request.

use std::collections::HashMap;
use std::env;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::diff::{Finding, breaking_changes};
use super::rules::{Level, Rule};
use super::snapshot::Contract;

/// The environment variable that, set to `update`, makes the build write the lock (accepting
/// every change against it).
pub const UPDATE_ENV: &str = "RESTATE_CONTRACT_LOCK";

/// How the build checks the contract against its lock.
#[derive(Debug, Clone, Default)]
pub(crate) struct LockCheck {
    /// The lock file; relative paths are relative to the crate's manifest directory.
    pub(crate) path: PathBuf,
    /// Rules whose level is not the default ([`Level::Error`]).
    pub(crate) levels: HashMap<Rule, Level>,
    /// Changes accepted on purpose: a rule and a finding's subject.
    pub(crate) accepted: Vec<(Rule, String)>,
    /// Write the lock whatever changed (also `RESTATE_CONTRACT_LOCK=update`).
    pub(crate) update: bool,
}

impl LockCheck {
    /// The lock file's path.
    fn resolved_path(&self) -> PathBuf {
        if self.path.is_absolute() {
            return self.path.clone();
        }
        match env::var_os("CARGO_MANIFEST_DIR") {
            Some(dir) => Path::new(&dir).join(&self.path),
            None => self.path.clone(),
        }
    }

    fn level(&self, finding: &Finding) -> Level {
        if self
            .accepted
            .iter()
            .any(|(rule, subject)| *rule == finding.rule && *subject == finding.subject)
        {
            return Level::Off;
        }
        self.levels.get(&finding.rule).copied().unwrap_or_default()
    }

    /// Compares `contract` with the lock: an error listing every change a rule at level
    /// `Error` finds; changes at level `Warning` become `cargo:warning` lines. Writes the lock
    /// when it is missing, when the contract changed compatibly (so additions are locked too,
    /// as `Cargo.lock` records new dependencies), or on request (accepting every change).
    pub(crate) fn run(&self, contract: &Contract, emit_rerun_lines: bool) -> io::Result<()> {
        let path = self.resolved_path();
        let requested = env::var(UPDATE_ENV).ok();
        if let Some(value) = requested.as_deref().filter(|value| *value != "update") {
            warn(&format!(
                "{UPDATE_ENV}={value} is not understood (only `update` is); the lock is checked"
            ));
        }
        let update = self.update || requested.as_deref() == Some("update");
        if emit_rerun_lines {
            println!("cargo:rerun-if-changed={}", path.display());
            println!("cargo:rerun-if-env-changed={UPDATE_ENV}");
        }
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                // A crate built from a registry or a read-only vendor directory may not write
                // into its sources: the build goes on without a lock.
                match write(&path, contract) {
                    Ok(()) => warn(&format!(
                        "wrote the contract lock {}; commit it",
                        path.display()
                    )),
                    Err(error) => warn(&format!(
                        "no contract lock, and none could be written: {error}"
                    )),
                }
                return Ok(());
            }
            Err(error) => {
                return Err(io::Error::new(
                    error.kind(),
                    format!("{}: {error}", path.display()),
                ));
            }
        };
        if update {
            // Whatever the lock holds (even merge conflict markers), it is written anew.
            let locked = Contract::from_lock_text(&text).ok();
            for finding in locked
                .iter()
                .flat_map(|locked| breaking_changes(locked, contract))
            {
                warn(&format!("accepted ({UPDATE_ENV}=update): {finding}"));
            }
            if locked.as_ref() != Some(contract) {
                write(&path, contract)?;
            }
            return Ok(());
        }
        let locked = Contract::from_lock_text(&text).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: not a contract lock ({error}); write it anew with {UPDATE_ENV}=update",
                    path.display()
                ),
            )
        })?;
        if !locked.files.is_empty()
            && !contract.files.is_empty()
            && locked
                .files
                .keys()
                .all(|file| !contract.files.contains_key(file))
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} locks other files ({}) than this compile call compiles ({}): give each \
                     compile call a lock of its own",
                    path.display(),
                    locked.files.keys().cloned().collect::<Vec<_>>().join(", "),
                    contract
                        .files
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let findings = breaking_changes(&locked, contract);
        let mut errors = Vec::new();
        for finding in &findings {
            match self.level(finding) {
                Level::Error => errors.push(finding),
                Level::Warning => warn(&format!("contract change: {finding}")),
                Level::Off => {}
            }
        }
        if errors.is_empty() {
            if locked != *contract {
                write(&path, contract)?;
                warn(&format!(
                    "recorded the contract's compatible changes in {}; commit it",
                    path.display()
                ));
            }
            return Ok(());
        }
        let mut message = format!(
            "the protos break the contract locked in {} ({} change{}):",
            path.display(),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        for finding in &errors {
            message.push_str("\n  ");
            message.push_str(&finding.to_string());
        }
        let first = errors[0];
        message.push_str(&format!(
            "\nTo make such a change on purpose, accept it in build.rs \
             (`.accept_change(restate_codegen::contract::Rule::{:?}, \"{}\")`, one per \
             change), lower the rule's level (`.contract_rule(..)`), or write the lock anew: \
             {UPDATE_ENV}=update cargo build",
            first.rule, first.subject
        ));
        Err(io::Error::new(io::ErrorKind::InvalidInput, message))
    }
}

/// A line Cargo shows as a warning of the build script.
fn warn(message: &str) {
    println!("cargo:warning={message}");
}

/// Writes the lock through a temporary file renamed into place, so that a reader never sees
/// half of it.
fn write(path: &Path, contract: &Contract) -> io::Result<()> {
    let located =
        |error: io::Error| io::Error::new(error.kind(), format!("{}: {error}", path.display()));
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut staged = tempfile::NamedTempFile::new_in(dir).map_err(located)?;
    io::Write::write_all(&mut staged, contract.to_lock_text().as_bytes()).map_err(located)?;
    staged.persist(path).map_err(|error| located(error.error))?;
    Ok(())
}

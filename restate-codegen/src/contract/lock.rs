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
    /// when it is missing or on request.
    pub(crate) fn run(&self, contract: &Contract, emit_cargo_lines: bool) -> io::Result<()> {
        let path = self.resolved_path();
        let update = self.update || env::var(UPDATE_ENV).is_ok_and(|value| value == "update");
        if emit_cargo_lines {
            println!("cargo:rerun-if-changed={}", path.display());
            println!("cargo:rerun-if-env-changed={UPDATE_ENV}");
        }
        let locked = match fs::read_to_string(&path) {
            Ok(text) => Contract::from_lock_text(&text).map_err(|error| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{}: not a contract lock ({error}); write it anew with \
                         {UPDATE_ENV}=update",
                        path.display()
                    ),
                )
            })?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                write(&path, contract)?;
                if emit_cargo_lines {
                    println!(
                        "cargo:warning=wrote the contract lock {}; commit it",
                        path.display()
                    );
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
        let findings = breaking_changes(&locked, contract);
        if update {
            if locked != *contract {
                write(&path, contract)?;
            }
            if emit_cargo_lines {
                for finding in &findings {
                    println!("cargo:warning=accepted ({UPDATE_ENV}=update): {finding}");
                }
            }
            return Ok(());
        }
        let mut errors = Vec::new();
        for finding in &findings {
            match self.level(finding) {
                Level::Error => errors.push(finding),
                Level::Warning if emit_cargo_lines => {
                    println!("cargo:warning=contract change: {finding}");
                }
                Level::Warning | Level::Off => {}
            }
        }
        if errors.is_empty() {
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

fn write(path: &Path, contract: &Contract) -> io::Result<()> {
    fs::write(path, contract.to_lock_text())
        .map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))
}

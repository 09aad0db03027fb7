//! The record of side effects: one line per execution, appended to a file that outlives the
//! endpoint process.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

/// Appends `kind id token` lines, one per side-effect execution.
#[derive(Debug)]
pub struct Ledger {
    file: Mutex<File>,
}

impl Ledger {
    /// Opens (or creates) the ledger file for appending.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    /// Records one execution of side effect `kind` for `id` and returns its token, a random
    /// value that tells this execution from any other.
    pub fn record(&self, kind: &str, id: &str) -> io::Result<String> {
        let token = format!("{:016x}", StdRng::from_os_rng().next_u64());
        // One write per line: a process killed mid-way leaves whole lines or nothing.
        let line = format!("{kind} {id} {token}\n");
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes())?;
        Ok(token)
    }
}

/// A ledger file read back: the tokens of every execution, by kind and id.
#[derive(Debug, Default)]
pub struct LedgerEntries {
    executions: HashMap<(String, String), Vec<String>>,
}

impl LedgerEntries {
    /// Reads the ledger at `path`; a missing file is an empty ledger.
    pub fn read(path: impl AsRef<Path>) -> io::Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => String::new(),
            Err(error) => return Err(error),
        };
        let mut entries = Self::default();
        for line in text.lines() {
            let mut fields = line.split(' ');
            let (Some(kind), Some(id), Some(token), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("malformed ledger line {line:?}"),
                ));
            };
            entries
                .executions
                .entry((kind.to_owned(), id.to_owned()))
                .or_default()
                .push(token.to_owned());
        }
        Ok(entries)
    }

    /// The tokens of every execution of `kind` for `id`, oldest first.
    pub fn executions(&self, kind: &str, id: &str) -> &[String] {
        self.executions
            .get(&(kind.to_owned(), id.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// How many executions of `kind` for `ids` repeated an earlier one for the same id.
    pub fn repeats<'a>(&self, kind: &str, ids: impl IntoIterator<Item = &'a str>) -> usize {
        ids.into_iter()
            .map(|id| self.executions(kind, id).len().saturating_sub(1))
            .sum()
    }
}

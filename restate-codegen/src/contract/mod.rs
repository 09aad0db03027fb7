//! The contract lock: refuse proto changes that break what is in flight.
//!
//! Invocations, queued sends and stored state outlive deploys, and so do callers in other
//! languages. With [`Builder::contract_lock`](crate::Builder::contract_lock), the build keeps
//! a snapshot of the compiled contract in a committed file (like `Cargo.lock`) and compares the
//! protos with it on every build: services and their types, codecs, handlers with their types,
//! key fields, input and output types, and every message's fields (numbers, names, JSON names,
//! types, cardinality, oneofs) and every enum's values, with what is reserved.
//!
//! A change that breaks something is a finding of a [`Rule`]: buf's `WIRE_JSON` category under
//! buf's names (a field renamed breaks ProtoJSON, the default codec, even where the binary
//! encoding is unchanged), and Restate's own (`RESTATE_…`: a service or handler removed or
//! renamed, a service type, codec, handler type or key field changed), which buf cannot know.
//! Each finding names the file, the service or message, the handler or field, the rule and what
//! it breaks. Every rule fails the build unless lowered to a warning or switched off
//! ([`Builder::contract_rule`](crate::Builder::contract_rule)); one change can be accepted on
//! purpose ([`Builder::accept_change`](crate::Builder::accept_change)), and
//! `RESTATE_CONTRACT_LOCK=update` (or [`Builder::update_contract_lock`](crate::Builder::update_contract_lock))
//! writes the lock anew, accepting everything.
//!
//! The check is also a library: [`contract_of`] reads the contract of some protos,
//! [`breaking_changes`] compares two.

mod diff;
mod lock;
mod rules;
mod snapshot;

use std::path::{Path, PathBuf};

pub use diff::{Finding, breaking_changes};
pub(crate) use lock::LockCheck;
pub use lock::UPDATE_ENV;
pub use rules::{Level, Rule};
pub use snapshot::Contract;

use crate::model::{self, Codec};
use crate::{Error, protoc};

/// The contract of `protos` (with `includes` as import paths), as the build would lock it;
/// services without a codec option use `default_codec`, and services without a
/// `(restate.service_name)` their full proto names (a build with short service names locks
/// those instead).
///
/// # Errors
///
/// As [`compile`](crate::compile): protoc rejects the files, or a service breaks Restate's
/// rules.
pub fn contract_of(
    protos: &[impl AsRef<Path>],
    includes: &[impl AsRef<Path>],
    default_codec: Codec,
) -> Result<Contract, Error> {
    let protos: Vec<PathBuf> = protos.iter().map(|p| p.as_ref().to_owned()).collect();
    let includes: Vec<PathBuf> = includes.iter().map(|p| p.as_ref().to_owned()).collect();
    let descriptors = protoc::run(&protos, &includes)?;
    let pool = model::decode_pool(&descriptors.bytes)?;
    let mut services = model::from_pool(&pool, &descriptors.files)?;
    // Without short service names: a build that uses them records those in its lock.
    model::resolve_names(&mut services, false)?;
    Ok(Contract::of(
        &pool,
        &descriptors.files,
        &services,
        default_codec,
    ))
}

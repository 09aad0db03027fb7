//! A simulated Restate, in process, with a clock the test controls: unit tests of handlers in
//! milliseconds, a three-day sleep included.
//!
//! The simulator drives an [`Endpoint`] through its public request handler exactly as
//! restate-server drives a deployment registered for request-response: every attempt carries
//! the whole journal, the endpoint's protocol state machine replays it and runs the handler
//! until it needs something not journaled yet, and suspends. The simulator completes what it
//! can (a `run`'s proposed result, a call's answer, a timer once the virtual clock reaches it)
//! and invokes again with the longer journal. Every step is therefore a replay: a handler that
//! does not do the same thing twice fails with the state machine's own journal-mismatch error,
//! which the simulator reports as [`SimError::Journal`].
//!
//! ```no_run
//! # async fn example(endpoint: restate_runtime::Endpoint) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use restate_test::sim::Simulator;
//! use restate_runtime::{Codec, Target};
//!
//! let mut sim = Simulator::new(endpoint).await?;
//! let reminder = Target::new("reminders.Reminder", "RemindIn3Days", Codec::Json);
//! let id = sim.send(reminder, &"buy milk".to_owned())?;
//! sim.advance(Duration::from_secs(3 * 24 * 3600)).await?; // fires the handler's sleep
//! let done: String = sim.output(&id)?.expect("finished")?;
//! # Ok(()) }
//! ```
//!
//! Modelled: plain services, virtual objects (state, one exclusive invocation per key at a
//! time, shared handlers alongside), workflows (one run per id, promises, shared handlers),
//! `run`, sleeps, awakeables, named signals, cancellation ([`Simulator::cancel`], or from a
//! handler; the handler's SDK cancels its calls), attach and output from handlers, calls and
//! one-way sends between bound services (delayed sends too), idempotency keys (kept forever),
//! retries of failed attempts, terminal errors with their codes and metadata, stubs for services
//! that are not bound ([`Simulator::stub`]), crash points ([`Simulator::crash_after`]); through
//! [`SharedSimulator::ingress`], the ingress's calls, sends, attach and output. Not modelled
//! yet: killing, lazy state, retention, and everything of the admin API (deployments,
//! pausing); a handler using a command not modelled fails the simulation with
//! [`SimError::Unsupported`].
//!
//! Time: inside an attempt the endpoint reads the virtual clock for its timers, so a sleep fires
//! at exactly the virtual time it asked for; a task the handler spawns reads the real clock.
//! After a [`SimError`] the simulation is not meant to go on: start a new simulator. An endpoint
//! with a request identity key cannot be simulated (the simulator does not sign requests), and
//! a test must not hold [`SharedSimulator::lock`] across a request through its ingress.

mod attempt;
mod ingress;
mod interpret;
mod invocation;
mod scheduler;
mod services;
mod stub;

pub use ingress::SharedSimulator;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use restate_runtime::codegen::CodecError;
use restate_runtime::test_support::wire as protocol;
use restate_runtime::{Endpoint, Payload, Target, TerminalError};

use invocation::{Invocation, Object, Status, terminal};
use scheduler::{Timer, millis};
use services::ServiceInfo;
use stub::Stub;

/// Why the simulation could not go on. A handler's own failure is not one: it is the
/// invocation's result, a [`TerminalError`].
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The endpoint answered discovery or an attempt with something the protocol does not allow.
    #[error("the endpoint broke the protocol: {0}")]
    Protocol(String),
    /// The state machine found that the handler did not replay its journal: it is not
    /// deterministic.
    #[error("invocation {invocation} did not replay its journal ({code}): {message}")]
    Journal {
        /// The invocation.
        invocation: String,
        /// The state machine's code (570 for a journal mismatch).
        code: u32,
        /// What differed.
        message: String,
    },
    /// A handler used a feature the simulator does not model.
    #[error("invocation {invocation} used {feature}, which the simulator does not model")]
    Unsupported {
        /// The invocation.
        invocation: String,
        /// The feature.
        feature: String,
    },
    /// No service or handler of that name is bound to the endpoint.
    #[error("no handler {0} is bound to the endpoint")]
    UnknownTarget(String),
    /// No invocation has that id.
    #[error("no invocation {0}")]
    UnknownInvocation(String),
    /// The invocation waits for something nothing will ever complete.
    #[error("invocation {0} waits, and nothing is left to run or to fire")]
    Stuck(String),
    /// The invocation used up its attempts, and its retry policy pauses it.
    #[error("invocation {0} is paused: its attempts are used up")]
    Paused(String),
    /// A payload could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// The journal of one invocation, as [`Simulator::journals`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Journal {
    /// The invocation.
    pub invocation_id: String,
    /// Its service.
    pub service: String,
    /// Its handler.
    pub handler: String,
    /// Its entries in order, named as restate-server's `sys_journal` names them.
    pub entries: Vec<String>,
}

/// The result of an invocation: its output, or the terminal error it failed with.
pub type Outcome = Result<Bytes, TerminalError>;

/// The id of an invocation in the simulator.
pub type InvocationId = String;

/// An in-process Restate for unit tests; see the [module](self) documentation.
#[derive(Debug)]
pub struct Simulator {
    endpoint: Endpoint,
    services: HashMap<String, ServiceInfo>,
    invocations: Vec<Invocation>,
    by_id: HashMap<String, usize>,
    objects: HashMap<(String, String), Object>,
    runnable: VecDeque<usize>,
    timers: BinaryHeap<Reverse<(u64, u64, Timer)>>,
    timer_seq: u64,
    /// Virtual time, in milliseconds since the Unix epoch.
    now: u64,
    max_attempts: u32,
    /// Answers for services that are not bound, by (service, handler), with their call counts.
    stubs: HashMap<(String, String), Stub>,
    /// One-shot crash points: the next attempt of (service, handler) breaks off after this many
    /// new journal entries.
    crashes: HashMap<(String, String), usize>,
    /// Invocations requested with an idempotency key: (service, key, handler, idempotency key).
    idempotent: HashMap<(String, String, String, String), usize>,
}

/// The default of [`Simulator::max_attempts`].
const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// The most timers `run_until_done` fires while waiting: more means something keeps
/// rescheduling itself while the invocation waits for what never comes.
const MAX_TIMERS_PER_WAIT: usize = 100_000;

impl Simulator {
    /// A simulator serving `endpoint`, whose services it learns by discovery. The virtual
    /// clock starts at the real time.
    pub async fn new(endpoint: Endpoint) -> Result<Self, SimError> {
        let services = services::services(&endpoint);
        Ok(Self {
            endpoint,
            services,
            invocations: Vec::new(),
            by_id: HashMap::new(),
            objects: HashMap::new(),
            runnable: VecDeque::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            now: millis(SystemTime::now()),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            stubs: HashMap::new(),
            crashes: HashMap::new(),
            idempotent: HashMap::new(),
        })
    }

    /// How many attempts in a row may fail, with no journal progress between them, before the
    /// invocation fails with the last attempt's error, for handlers whose retry policy sets no
    /// limit (10 by default). A handler's policy (`retry_policy` in its proto, or
    /// `ServiceOptions` at bind time) decides otherwise: its attempts, its waits, and whether it
    /// is killed or paused ([`SimError::Paused`]) at the end.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Answers calls and sends to `target`'s handler, which the endpoint does not bind, with
    /// `answer`: a stand-in for a downstream service. [`stub_calls`](Self::stub_calls) counts
    /// them.
    pub fn stub<Req, Res, F>(&mut self, target: Target, answer: F)
    where
        Req: Payload,
        Res: Payload,
        F: FnMut(Req) -> Result<Res, TerminalError> + Send + 'static,
    {
        let stub = Stub::new(target.codec(), answer);
        let key = (target.service().to_owned(), target.handler().to_owned());
        self.services
            .entry(key.0.clone())
            .or_insert_with(|| ServiceInfo {
                keyed: target.key().is_some(),
                handlers: HashMap::new(),
                workflow_run: None,
                retry: HashMap::new(),
            })
            .handlers
            .insert(key.1.clone(), true);
        self.stubs.insert(key, stub);
    }

    /// How many calls and sends the stub of `service`/`handler` answered.
    pub fn stub_calls(&self, service: &str, handler: &str) -> usize {
        self.stubs
            .get(&(service.to_owned(), handler.to_owned()))
            .map_or(0, |stub| stub.calls)
    }

    /// Makes the next attempt of `service`/`handler` break off after `entries` new journal
    /// entries, as if the endpoint crashed there: what it journaled before stays, the rest is
    /// lost, and the invocation is retried. For testing retries and compensations.
    pub fn crash_after(&mut self, service: &str, handler: &str, entries: usize) {
        self.crashes
            .insert((service.to_owned(), handler.to_owned()), entries);
    }

    /// The virtual time.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.now)
    }

    /// Calls `target` with `input` and runs the simulation until the call has its result,
    /// moving the clock forward whenever nothing else can progress.
    pub async fn call<Req: Payload, Res: Payload>(
        &mut self,
        target: Target,
        input: &Req,
    ) -> Result<Result<Res, TerminalError>, SimError> {
        let codec = target.codec();
        let id = self.send(target, input)?;
        let outcome = self.run_until_done(&id).await?;
        Ok(match outcome {
            Ok(bytes) => Ok(Res::decode_payload(codec, &bytes)?),
            Err(error) => Err(error),
        })
    }

    /// Sends `input` to `target` without running anything: the invocation starts on the next
    /// [`advance`](Self::advance), [`run_until_idle`](Self::run_until_idle) or call.
    pub fn send<Req: Payload>(
        &mut self,
        target: Target,
        input: &Req,
    ) -> Result<InvocationId, SimError> {
        let input = input.encode_payload(target.codec())?;
        let key = target.key().unwrap_or_default().to_owned();
        let index = self.invoke(target.service(), target.handler(), &key, input, Vec::new())?;
        self.invocations[index].codec = target.codec();
        self.start(index);
        Ok(self.invocations[index].id.clone())
    }

    /// The result of invocation `id`: `None` while it runs.
    pub fn output<Res: Payload>(
        &self,
        id: &str,
    ) -> Result<Option<Result<Res, TerminalError>>, SimError> {
        let invocation = self.invocation(id)?;
        let Status::Completed(result) = &invocation.status else {
            return Ok(None);
        };
        let codec = invocation.codec;
        Ok(Some(match result {
            Ok(bytes) => Ok(Res::decode_payload(codec, bytes)?),
            Err(failure) => Err(terminal(failure)),
        }))
    }

    /// How many attempts invocation `id` has taken so far.
    pub fn attempts(&self, id: &str) -> Result<u32, SimError> {
        Ok(self.invocation(id)?.attempts)
    }

    /// How many journal entries the attempts of invocation `id` were sent, added up: what its
    /// replays cost.
    pub fn replayed_entries(&self, id: &str) -> Result<usize, SimError> {
        Ok(self.invocation(id)?.replayed)
    }

    /// The journal of every invocation so far, entries named as restate-server's `sys_journal`
    /// names them (`Command: Run`, `Notification: Sleep`, ...), for comparing the two.
    pub fn journals(&self) -> Vec<Journal> {
        self.invocations
            .iter()
            .filter(|invocation| {
                // A stub's invocation has no journal of its own in Restate.
                !self
                    .stubs
                    .contains_key(&(invocation.service.clone(), invocation.handler.clone()))
            })
            .map(|invocation| Journal {
                invocation_id: invocation.id.clone(),
                service: invocation.service.clone(),
                handler: invocation.handler.clone(),
                entries: invocation
                    .journal
                    .iter()
                    .map(|frame| protocol::entry_type_name(frame.ty))
                    .collect(),
            })
            .collect()
    }

    /// How many entries the journal of invocation `id` holds, its input included.
    pub fn journal_len(&self, id: &str) -> Result<usize, SimError> {
        Ok(self.invocation(id)?.journal.len())
    }

    /// The state of object `key` of `service`, by name, values as stored (encoded).
    pub fn state(&self, service: &str, key: &str) -> BTreeMap<String, Bytes> {
        self.objects
            .get(&(service.to_owned(), key.to_owned()))
            .map(|object| {
                object
                    .state
                    .iter()
                    .map(|(name, value)| {
                        (String::from_utf8_lossy(name).into_owned(), value.clone())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The promise `name` of workflow `key` of `service`: `None` while nothing completed it,
    /// else its value (encoded) or the error it was rejected with.
    pub fn promise(&self, service: &str, key: &str, name: &str) -> Option<Outcome> {
        self.objects
            .get(&(service.to_owned(), key.to_owned()))
            .and_then(|object| object.promises.get(name))
            .map(|result| result.clone().map_err(|failure| terminal(&failure)))
    }

    /// Runs every invocation that can run now, at the current virtual time.
    pub async fn run_until_idle(&mut self) -> Result<(), SimError> {
        while let Some(index) = self.runnable.pop_front() {
            if self.invocations[index].status == Status::Runnable {
                self.attempt(index).await?;
            }
        }
        Ok(())
    }

    /// Moves the clock forward by `duration`, firing what falls due in order and running what
    /// it wakes.
    pub async fn advance(&mut self, duration: Duration) -> Result<(), SimError> {
        let until = self.after(duration);
        self.run_until_idle().await?;
        while let Some(Reverse((due, _, _))) = self.timers.peek() {
            if *due > until {
                break;
            }
            self.fire_next();
            self.run_until_idle().await?;
        }
        self.now = until;
        Ok(())
    }

    /// Runs until invocation `id` has its result, moving the clock to the next timer whenever
    /// nothing else can progress.
    pub async fn run_until_done(&mut self, id: &str) -> Result<Outcome, SimError> {
        let index = self.index_of(id)?;
        for _ in 0..MAX_TIMERS_PER_WAIT {
            self.run_until_idle().await?;
            match &self.invocations[index].status {
                Status::Completed(result) => {
                    return Ok(result.clone().map_err(|failure| terminal(&failure)));
                }
                Status::Paused => return Err(SimError::Paused(id.to_owned())),
                _ => {}
            }
            if self.timers.is_empty() {
                break;
            }
            self.fire_next();
        }
        Err(SimError::Stuck(id.to_owned()))
    }

    /// Cancels invocation `id`, as Restate's admin API does: it gets the cancellation signal,
    /// and its handler decides (by default it ends with 409 and cancels the calls it made).
    pub fn cancel(&mut self, id: &str) -> Result<(), SimError> {
        let index = self.index_of(id)?;
        self.cancel_index(index);
        Ok(())
    }
}

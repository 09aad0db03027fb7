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

mod ingress;
mod services;

pub use ingress::SharedSimulator;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};

use protocol::{Frame, NotificationResult, ty};
use restate_runtime::test_support::wire as protocol;

use restate_runtime::codegen::{Codec, CodecError};
use restate_runtime::{Endpoint, Payload, Target, TerminalError};
use services::ServiceInfo;

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

/// One invocation and its journal.
#[derive(Debug)]
struct Invocation {
    id: String,
    service: String,
    handler: String,
    key: String,
    shared: bool,
    /// The codec of the payloads, for reading the output.
    codec: Codec,
    /// The input command, then every command and notification, in order.
    journal: Vec<Frame>,
    attempts: u32,
    /// Journal entries sent with every attempt so far, added up.
    replayed: usize,
    retry_count: u32,
    status: Status,
    /// Invocations waiting for this one's result: (invocation index, completion id).
    callers: Vec<(usize, u32)>,
    /// Invocations attached to this one: (invocation index, completion id).
    attachers: Vec<(usize, u32)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Status {
    /// Waiting for its key's lock, or for its delayed start.
    Waiting,
    /// Ready for an attempt.
    Runnable,
    /// Waiting for a notification.
    Suspended,
    /// Waiting to retry a failed attempt.
    Backoff,
    /// Out of attempts, and its retry policy says to pause: it waits for an operator.
    Paused,
    /// Done.
    Completed(Result<Bytes, protocol::Failure>),
}

/// State and the queue of exclusive invocations of one object.
#[derive(Debug, Default)]
struct Object {
    state: BTreeMap<Bytes, Bytes>,
    /// The exclusive invocation holding the key.
    holder: Option<usize>,
    queue: VecDeque<usize>,
    /// For a workflow: its run, once requested.
    run: Option<usize>,
    /// For a workflow: its completed promises.
    promises: HashMap<String, Result<Bytes, protocol::Failure>>,
    /// Invocations waiting on a promise: (promise, invocation, completion id).
    promise_waiters: Vec<(String, usize, u32)>,
}

/// What a call or send asks for.
struct ChildRequest<'a> {
    service: &'a str,
    handler: &'a str,
    key: &'a str,
    parameter: Bytes,
    headers: Vec<protocol::Header>,
    idempotency_key: Option<String>,
    id_notification: u32,
}

/// Something due at a virtual time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// A sleep of invocation `.0` completes `.1`.
    Sleep(usize, u32),
    /// A delayed send starts, or a failed attempt is retried.
    Wake(usize),
}

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

/// A stub's answer to an encoded request.
type StubAnswer = Box<dyn FnMut(&[u8]) -> Result<Bytes, protocol::Failure> + Send>;

/// A stand-in for a handler that is not bound.
struct Stub {
    answer: StubAnswer,
    calls: usize,
}

impl std::fmt::Debug for Stub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stub")
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

/// The built-in signal index of cancellation.
const CANCEL_SIGNAL: u32 = 1;
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
    pub fn stub<Req, Res, F>(&mut self, target: Target, mut answer: F)
    where
        Req: Payload,
        Res: Payload,
        F: FnMut(Req) -> Result<Res, TerminalError> + Send + 'static,
    {
        let codec = target.codec();
        let failure = |error: TerminalError| protocol::Failure {
            code: u32::from(error.code()),
            message: error.message().to_owned(),
            metadata: error
                .metadata()
                .iter()
                .map(|(key, value)| protocol::FailureMetadata {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
        };
        let answer = move |input: &[u8]| -> Result<Bytes, protocol::Failure> {
            let request = Req::decode_payload(codec, input).map_err(|e| {
                failure(TerminalError::new(
                    400,
                    format!("the stub cannot read its input: {e}"),
                ))
            })?;
            let response = answer(request).map_err(failure)?;
            response.encode_payload(codec).map_err(|e| {
                failure(TerminalError::new(
                    500,
                    format!("the stub cannot answer: {e}"),
                ))
            })
        };
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
        self.stubs.insert(
            key,
            Stub {
                answer: Box::new(answer),
                calls: 0,
            },
        );
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
        let until = self
            .now
            .saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
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
        let index = *self
            .by_id
            .get(id)
            .ok_or_else(|| SimError::UnknownInvocation(id.to_owned()))?;
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

    fn invocation(&self, id: &str) -> Result<&Invocation, SimError> {
        self.by_id
            .get(id)
            .map(|index| &self.invocations[*index])
            .ok_or_else(|| SimError::UnknownInvocation(id.to_owned()))
    }

    /// Creates an invocation, waiting to start.
    fn invoke(
        &mut self,
        service: &str,
        handler: &str,
        key: &str,
        input: Bytes,
        headers: Vec<protocol::Header>,
    ) -> Result<usize, SimError> {
        let info = self
            .services
            .get(service)
            .ok_or_else(|| SimError::UnknownTarget(format!("{service}/{handler}")))?;
        let shared = *info
            .handlers
            .get(handler)
            .ok_or_else(|| SimError::UnknownTarget(format!("{service}/{handler}")))?;
        let key = if info.keyed {
            key.to_owned()
        } else {
            String::new()
        };
        let is_run = info.workflow_run.as_deref() == Some(handler);
        if is_run {
            // A workflow runs once per id: a second request joins the first.
            let object = self
                .objects
                .entry((service.to_owned(), key.clone()))
                .or_default();
            if let Some(run) = object.run {
                return Ok(run);
            }
            object.run = Some(self.invocations.len());
        }
        let index = self.invocations.len();
        let id = format!("inv_sim_{index}");
        let stubbed = self
            .stubs
            .get_mut(&(service.to_owned(), handler.to_owned()))
            .map(|stub| {
                stub.calls += 1;
                (stub.answer)(&input)
            });
        let input = protocol::InputCommand {
            headers,
            value: Some(protocol::Value { content: input }),
        };
        self.invocations.push(Invocation {
            id: id.clone(),
            service: service.to_owned(),
            handler: handler.to_owned(),
            key,
            shared: shared || !info.keyed,
            codec: Codec::Json,
            journal: vec![Frame::new(ty::INPUT, &input)],
            attempts: 0,
            replayed: 0,
            retry_count: 0,
            status: stubbed.map_or(Status::Waiting, Status::Completed),
            callers: Vec::new(),
            attachers: Vec::new(),
        });
        self.by_id.insert(id, index);
        Ok(index)
    }

    /// As [`invoke`](Self::invoke), but a request with an idempotency key seen before joins the
    /// invocation it started, as in Restate; whether it did.
    fn invoke_idempotent(
        &mut self,
        service: &str,
        handler: &str,
        key: &str,
        input: Bytes,
        headers: Vec<protocol::Header>,
        idempotency_key: Option<String>,
    ) -> Result<(usize, bool), SimError> {
        let Some(idempotency_key) = idempotency_key else {
            let before = self.invocations.len();
            let index = self.invoke(service, handler, key, input, headers)?;
            return Ok((index, index < before));
        };
        let id = (
            service.to_owned(),
            key.to_owned(),
            handler.to_owned(),
            idempotency_key,
        );
        if let Some(index) = self.idempotent.get(&id) {
            return Ok((*index, true));
        }
        let before = self.invocations.len();
        let index = self.invoke(service, handler, key, input, headers)?;
        self.idempotent.insert(id, index);
        Ok((index, index < before))
    }

    /// The invocation started with `idempotency_key` for this handler, if any.
    pub(crate) fn by_idempotency_key(
        &self,
        service: &str,
        key: &str,
        handler: &str,
        idempotency_key: &str,
    ) -> Option<usize> {
        self.idempotent
            .get(&(
                service.to_owned(),
                key.to_owned(),
                handler.to_owned(),
                idempotency_key.to_owned(),
            ))
            .copied()
    }

    /// Lets invocation `index` run: at once if it needs no lock or its key's lock is free,
    /// otherwise once the invocations queued before it on the key are done.
    fn start(&mut self, index: usize) {
        let invocation = &self.invocations[index];
        if invocation.status != Status::Waiting || invocation.attempts > 0 {
            // Already started: a workflow's run requested again.
            return;
        }
        if !invocation.shared {
            let object = self
                .objects
                .entry((invocation.service.clone(), invocation.key.clone()))
                .or_default();
            if object.holder.is_some() {
                object.queue.push_back(index);
                return;
            }
            object.holder = Some(index);
        }
        self.make_runnable(index);
    }

    fn make_runnable(&mut self, index: usize) {
        let invocation = &mut self.invocations[index];
        if matches!(invocation.status, Status::Completed(_)) {
            return;
        }
        invocation.status = Status::Runnable;
        self.runnable.push_back(index);
    }

    fn schedule(&mut self, due: u64, timer: Timer) {
        self.timer_seq += 1;
        self.timers.push(Reverse((due, self.timer_seq, timer)));
    }

    /// Moves the clock to the next timer (never back) and fires it.
    fn fire_next(&mut self) {
        let Some(Reverse((due, _, timer))) = self.timers.pop() else {
            return;
        };
        self.now = self.now.max(due);
        match timer {
            Timer::Sleep(index, completion_id) => {
                self.notify(
                    index,
                    completion_id,
                    NotificationResult::Void(protocol::Void {}),
                    ty::SLEEP_COMPLETION,
                );
            }
            Timer::Wake(index) => {
                if self.invocations[index].attempts == 0 {
                    self.start(index);
                } else {
                    self.make_runnable(index);
                }
            }
        }
    }

    /// Appends a notification to invocation `index`'s journal and wakes it.
    fn notify(&mut self, index: usize, completion_id: u32, result: NotificationResult, ty: u16) {
        let notification = protocol::Notification {
            completion_id,
            result: Some(result),
        };
        let invocation = &mut self.invocations[index];
        if matches!(invocation.status, Status::Completed(_)) {
            // Restate keeps nothing more for an invocation that has ended.
            return;
        }
        invocation.journal.push(Frame::new(ty, &notification));
        invocation.retry_count = 0;
        if invocation.status == Status::Suspended {
            self.make_runnable(index);
        }
    }

    /// One attempt of invocation `index`: the whole journal in, the endpoint's answer applied.
    async fn attempt(&mut self, index: usize) -> Result<(), SimError> {
        let body = self.request_body(index);
        let invocation = &mut self.invocations[index];
        invocation.attempts += 1;
        invocation.replayed += invocation.journal.len();
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!(
                "/invoke/{}/{}",
                invocation.service, invocation.handler
            ))
            .version(http::Version::HTTP_11)
            .header(header::CONTENT_TYPE, protocol::CONTENT_TYPE)
            .header(header::ACCEPT, protocol::CONTENT_TYPE)
            .header("x-restate-invocation-id", invocation.id.as_str())
            .body(Full::new(body))
            .map_err(|e| SimError::Protocol(e.to_string()))?;
        // The endpoint reads the virtual time for its timers: a sleep's wake-up time is
        // exactly the virtual time it asks for.
        let endpoint = self.endpoint.clone();
        let now = Duration::from_millis(self.now);
        let (status, body) = restate_runtime::test_support::VIRTUAL_NOW
            .scope(now, async move {
                let response = endpoint.handle(request).await;
                let status = response.status();
                let body = match response.into_body().collect().await {
                    Ok(collected) => collected.to_bytes(),
                    Err(never) => match never {},
                };
                (status, body)
            })
            .await;
        if status != StatusCode::OK {
            return Err(SimError::Protocol(format!(
                "an attempt of {} answered {status}: {}",
                self.invocations[index].id,
                String::from_utf8_lossy(&body)
            )));
        }
        let frames = protocol::read_frames(body).map_err(SimError::Protocol)?;
        self.apply(index, frames)
    }

    /// The start message, then the journal.
    fn request_body(&self, index: usize) -> Bytes {
        let invocation = &self.invocations[index];
        let state_map = self
            .objects
            .get(&(invocation.service.clone(), invocation.key.clone()))
            .map(|object| {
                object
                    .state
                    .iter()
                    .map(|(key, value)| protocol::StateEntry {
                        key: key.clone(),
                        value: value.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let start = protocol::StartMessage {
            id: Bytes::from(format!("sim-invocation-{index:08}").into_bytes()),
            debug_id: invocation.id.clone(),
            known_entries: u32::try_from(invocation.journal.len()).unwrap_or(u32::MAX),
            state_map,
            partial_state: false,
            key: invocation.key.clone(),
            retry_count_since_last_stored_entry: invocation.retry_count,
            duration_since_last_stored_entry: 0,
            random_seed: u64::try_from(index)
                .unwrap_or_default()
                .wrapping_mul(0x9E37_79B9_7F4A_7C15),
        };
        let mut body = BytesMut::new();
        Frame::new(ty::START, &start).write(&mut body);
        for frame in &invocation.journal {
            frame.write(&mut body);
        }
        body.freeze()
    }

    /// Applies what an attempt answered.
    fn apply(&mut self, index: usize, frames: Vec<Frame>) -> Result<(), SimError> {
        let mut ended = false;
        let mut suspended = false;
        let mut woken = false;
        let crash_key = (
            self.invocations[index].service.clone(),
            self.invocations[index].handler.clone(),
        );
        let mut crash_after = self.crashes.remove(&crash_key);
        for frame in frames {
            if crash_after == Some(0) {
                // The attempt breaks off here: the rest of its answer never arrives.
                return self.failed_attempt(
                    index,
                    protocol::ErrorMessage {
                        code: 503,
                        message: "the endpoint crashed (a crash point of the test)".to_owned(),
                        ..Default::default()
                    },
                );
            }
            if protocol::is_journal_entry(frame.ty) {
                crash_after = crash_after.map(|left| left.saturating_sub(1));
            }
            let invocation_id = self.invocations[index].id.clone();
            let malformed =
                |e: prost::DecodeError| SimError::Protocol(format!("{invocation_id}: {e}"));
            if protocol::is_journal_entry(frame.ty) {
                self.invocations[index].journal.push(frame.clone());
                self.invocations[index].retry_count = 0;
            }
            match frame.ty {
                ty::SET_STATE => {
                    let set: protocol::SetStateCommand = frame.decode().map_err(malformed)?;
                    let value = set.value.map(|v| v.content).unwrap_or_default();
                    self.object_mut(index).state.insert(set.key, value);
                }
                ty::CLEAR_STATE => {
                    let clear: protocol::ClearStateCommand = frame.decode().map_err(malformed)?;
                    self.object_mut(index).state.remove(&clear.key);
                }
                ty::CLEAR_ALL_STATE => self.object_mut(index).state.clear(),
                ty::SLEEP => {
                    let sleep: protocol::SleepCommand = frame.decode().map_err(malformed)?;
                    let due = sleep.wake_up_time.max(self.now);
                    self.schedule(due, Timer::Sleep(index, sleep.result_completion_id));
                }
                ty::CALL => {
                    let call: protocol::CallCommand = frame.decode().map_err(malformed)?;
                    let child = self.invoke_child(
                        index,
                        ChildRequest {
                            service: &call.service_name,
                            handler: &call.handler_name,
                            key: &call.key,
                            parameter: call.parameter,
                            headers: call.headers,
                            idempotency_key: call.idempotency_key,
                            id_notification: call.invocation_id_notification_idx,
                        },
                    )?;
                    self.invocations[child]
                        .callers
                        .push((index, call.result_completion_id));
                    if matches!(self.invocations[child].status, Status::Completed(_)) {
                        // A stub, or a workflow's run requested again after it finished.
                        self.completed(child);
                    } else {
                        self.start(child);
                    }
                    woken = true;
                }
                ty::ONE_WAY_CALL => {
                    let send: protocol::OneWayCallCommand = frame.decode().map_err(malformed)?;
                    let child = self.invoke_child(
                        index,
                        ChildRequest {
                            service: &send.service_name,
                            handler: &send.handler_name,
                            key: &send.key,
                            parameter: send.parameter,
                            headers: send.headers,
                            idempotency_key: send.idempotency_key,
                            id_notification: send.invocation_id_notification_idx,
                        },
                    )?;
                    woken = true;
                    if send.invoke_time > self.now {
                        self.schedule(send.invoke_time, Timer::Wake(child));
                    } else {
                        self.start(child);
                    }
                }
                ty::GET_PROMISE | ty::PEEK_PROMISE => {
                    let get: protocol::PromiseCommand = frame.decode().map_err(malformed)?;
                    let completed = self.object_mut(index).promises.get(&get.key).cloned();
                    let peek = frame.ty == ty::PEEK_PROMISE;
                    let answer = if peek {
                        ty::PEEK_PROMISE_COMPLETION
                    } else {
                        ty::GET_PROMISE_COMPLETION
                    };
                    match completed {
                        Some(result) => {
                            self.notify(index, get.result_completion_id, outcome(result), answer);
                            woken = true;
                        }
                        None if peek => {
                            let void = NotificationResult::Void(protocol::Void {});
                            self.notify(index, get.result_completion_id, void, answer);
                            woken = true;
                        }
                        None => self.object_mut(index).promise_waiters.push((
                            get.key,
                            index,
                            get.result_completion_id,
                        )),
                    }
                }
                ty::COMPLETE_PROMISE => {
                    let complete: protocol::CompletePromiseCommand =
                        frame.decode().map_err(malformed)?;
                    let result = match complete.completion {
                        Some(protocol::PromiseCompletion::Value(value)) => Ok(value.content),
                        Some(protocol::PromiseCompletion::Failure(failure)) => Err(failure),
                        None => Ok(Bytes::new()),
                    };
                    let answer = self.complete_promise(index, complete.key, result);
                    self.notify(
                        index,
                        complete.result_completion_id,
                        answer,
                        ty::COMPLETE_PROMISE_COMPLETION,
                    );
                    woken = true;
                }
                ty::COMPLETE_AWAKEABLE => {
                    let complete: protocol::CompleteAwakeableCommand =
                        frame.decode().map_err(malformed)?;
                    let result = match complete.result {
                        Some(protocol::AwakeableResult::Value(value)) => Ok(value.content),
                        Some(protocol::AwakeableResult::Failure(failure)) => Err(failure),
                        None => Ok(Bytes::new()),
                    };
                    // An id that is no awakeable's changes nothing, as in Restate.
                    if self.complete_awakeable(&complete.awakeable_id, result).ok() == Some(index) {
                        // Its own: it need not wait for it.
                        woken = true;
                    }
                }
                ty::SEND_SIGNAL => {
                    let send: protocol::SendSignalCommand = frame.decode().map_err(malformed)?;
                    // A signal for an invocation that does not exist is dropped, as in Restate.
                    if let (Some(target), Some(signal_id)) = (
                        self.by_id.get(&send.target_invocation_id).copied(),
                        send.signal_id,
                    ) {
                        if signal_id == protocol::SignalId::Idx(CANCEL_SIGNAL) {
                            self.cancel_index(target);
                        } else {
                            let result = send
                                .result
                                .unwrap_or(NotificationResult::Void(protocol::Void {}));
                            self.signal(target, signal_id, result);
                        }
                        if target == index {
                            woken = true;
                        }
                    }
                }
                ty::ATTACH_INVOCATION | ty::GET_INVOCATION_OUTPUT => {
                    let command: protocol::InvocationTargetCommand =
                        frame.decode().map_err(malformed)?;
                    let target = command
                        .target
                        .and_then(|target| self.target_index(target))
                        .ok_or_else(|| SimError::Unsupported {
                            invocation: invocation_id.clone(),
                            feature: "attaching to an invocation the simulator does not know"
                                .to_owned(),
                        })?;
                    let completed = match &self.invocations[target].status {
                        Status::Completed(result) => Some(result.clone()),
                        _ => None,
                    };
                    match (frame.ty, completed) {
                        (ty::ATTACH_INVOCATION, Some(result)) => {
                            self.notify(
                                index,
                                command.result_completion_id,
                                outcome(result),
                                ty::ATTACH_INVOCATION_COMPLETION,
                            );
                            woken = true;
                        }
                        (ty::ATTACH_INVOCATION, None) => {
                            self.invocations[target]
                                .attachers
                                .push((index, command.result_completion_id));
                        }
                        (_, completed) => {
                            let result = completed
                                .map_or(NotificationResult::Void(protocol::Void {}), outcome);
                            self.notify(
                                index,
                                command.result_completion_id,
                                result,
                                ty::GET_INVOCATION_OUTPUT_COMPLETION,
                            );
                            woken = true;
                        }
                    }
                }
                ty::OUTPUT => {
                    let output: protocol::OutputCommand = frame.decode().map_err(malformed)?;
                    let result = match output.result {
                        Some(protocol::OutputResult::Value(value)) => Ok(value.content),
                        Some(protocol::OutputResult::Failure(failure)) => Err(failure),
                        None => Ok(Bytes::new()),
                    };
                    self.invocations[index].status = Status::Completed(result);
                }
                ty::PROPOSE_RUN_COMPLETION => {
                    let proposal: protocol::ProposeRunCompletion =
                        frame.decode().map_err(malformed)?;
                    let result = match proposal.result {
                        Some(protocol::ProposedResult::Value(content)) => {
                            NotificationResult::Value(protocol::Value { content })
                        }
                        Some(protocol::ProposedResult::Failure(failure)) => {
                            NotificationResult::Failure(failure)
                        }
                        None => NotificationResult::Value(protocol::Value::default()),
                    };
                    self.notify(
                        index,
                        proposal.result_completion_id,
                        result,
                        ty::RUN_COMPLETION,
                    );
                    woken = true;
                }
                ty::SUSPENSION => suspended = true,
                ty::END => ended = true,
                ty::ERROR => {
                    let error: protocol::ErrorMessage = frame.decode().map_err(malformed)?;
                    return self.failed_attempt(index, error);
                }
                // Commands the simulator only journals: eager state reads, and runs (their
                // result comes with the proposal).
                ty::GET_EAGER_STATE | ty::GET_EAGER_STATE_KEYS | ty::RUN => {}
                ty if protocol::is_command(ty) => {
                    return Err(SimError::Unsupported {
                        invocation: invocation_id,
                        feature: format!("command {ty:#06x}"),
                    });
                }
                other => {
                    // The simulator speaks protocol v6 as restate-server 1.7.12 pins it: a
                    // message it does not know means the two have drifted apart.
                    return Err(SimError::Protocol(format!(
                        "{invocation_id}: unexpected message type {other:#06x}"
                    )));
                }
            }
        }
        if let Some(left) = crash_after.filter(|left| *left > 0) {
            // The attempt ended before the crash point: the next attempt keeps counting.
            self.crashes.insert(crash_key, left);
        }
        if ended {
            if !matches!(self.invocations[index].status, Status::Completed(_)) {
                self.invocations[index].status = Status::Completed(Ok(Bytes::new()));
            }
            self.completed(index);
        } else if suspended && !woken {
            self.invocations[index].status = Status::Suspended;
        } else if suspended {
            // The attempt ended waiting for what it was just given: run it again.
            self.make_runnable(index);
        } else {
            return Err(SimError::Protocol(format!(
                "an attempt of {} ended without an end, a suspension or an error",
                self.invocations[index].id
            )));
        }
        Ok(())
    }

    /// An attempt that ended with an error: a journal mismatch stops the simulation; anything
    /// else is retried, until the attempts are used up.
    fn failed_attempt(
        &mut self,
        index: usize,
        error: protocol::ErrorMessage,
    ) -> Result<(), SimError> {
        let invocation = &mut self.invocations[index];
        if error.code == 573 {
            return Err(SimError::Unsupported {
                invocation: invocation.id.clone(),
                feature: error.message,
            });
        }
        if matches!(error.code, 570..=572) {
            return Err(SimError::Journal {
                invocation: invocation.id.clone(),
                code: error.code,
                message: error.message,
            });
        }
        let policy = self
            .services
            .get(&invocation.service)
            .and_then(|service| service.retry.get(&invocation.handler))
            .cloned()
            .unwrap_or_default();
        if invocation.retry_count + 1 >= policy.max_attempts.unwrap_or(self.max_attempts) {
            if services::pauses(&policy) {
                invocation.status = Status::Paused;
                return Ok(());
            }
            invocation.status = Status::Completed(Err(protocol::Failure {
                code: error.code,
                message: format!(
                    "failed after {} attempts in a row: {}",
                    invocation.retry_count + 1,
                    error.message
                ),
                metadata: Vec::new(),
            }));
            self.completed(index);
            return Ok(());
        }
        let delay = error
            .next_retry_delay
            .unwrap_or_else(|| services::retry_delay(&policy, invocation.retry_count));
        invocation.retry_count += 1;
        invocation.status = Status::Backoff;
        self.schedule(self.now.saturating_add(delay), Timer::Wake(index));
        Ok(())
    }

    /// Invocation `index` has its result: answers its callers and frees its key.
    fn completed(&mut self, index: usize) {
        let Status::Completed(result) = self.invocations[index].status.clone() else {
            return;
        };
        for (attacher, completion_id) in std::mem::take(&mut self.invocations[index].attachers) {
            self.notify(
                attacher,
                completion_id,
                outcome(result.clone()),
                ty::ATTACH_INVOCATION_COMPLETION,
            );
        }
        for (caller, completion_id) in std::mem::take(&mut self.invocations[index].callers) {
            let result = match &result {
                Ok(content) => NotificationResult::Value(protocol::Value {
                    content: content.clone(),
                }),
                Err(failure) => NotificationResult::Failure(failure.clone()),
            };
            self.notify(caller, completion_id, result, ty::CALL_COMPLETION);
        }
        let invocation = &self.invocations[index];
        if !invocation.shared {
            let object = self
                .objects
                .entry((invocation.service.clone(), invocation.key.clone()))
                .or_default();
            if object.holder == Some(index) {
                object.holder = object.queue.pop_front();
                if let Some(next) = object.holder {
                    self.make_runnable(next);
                }
            }
        }
    }

    /// Creates the invocation a call or send of invocation `index` asks for, and tells `index`
    /// its id.
    fn invoke_child(&mut self, index: usize, request: ChildRequest<'_>) -> Result<usize, SimError> {
        let (child, _) = self.invoke_idempotent(
            request.service,
            request.handler,
            request.key,
            request.parameter,
            request.headers,
            request.idempotency_key,
        )?;
        let child_id = self.invocations[child].id.clone();
        self.notify(
            index,
            request.id_notification,
            NotificationResult::InvocationId(child_id),
            ty::CALL_INVOCATION_ID_COMPLETION,
        );
        Ok(child)
    }

    /// The invocation an attach or output command names.
    fn target_index(&self, target: protocol::InvocationTarget) -> Option<usize> {
        match target {
            protocol::InvocationTarget::InvocationId(id) => self.by_id.get(&id).copied(),
            protocol::InvocationTarget::Workflow(workflow) => self
                .objects
                .get(&(workflow.workflow_name, workflow.workflow_key))
                .and_then(|object| object.run),
            protocol::InvocationTarget::Idempotent(request) => self.by_idempotency_key(
                &request.service_name,
                request.service_key.as_deref().unwrap_or_default(),
                &request.handler_name,
                &request.idempotency_key,
            ),
        }
    }

    /// Completes the awakeable `id` (as `ctx.awakeable()` made it) with `result`.
    pub(crate) fn complete_awakeable(
        &mut self,
        id: &str,
        result: Result<Bytes, protocol::Failure>,
    ) -> Result<usize, SimError> {
        use base64::Engine as _;
        let unknown = || SimError::UnknownInvocation(format!("awakeable {id}"));
        let encoded = id.strip_prefix("sign_1").ok_or_else(unknown)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|_| unknown())?;
        let (invocation, idx) = bytes
            .len()
            .checked_sub(4)
            .map(|at| bytes.split_at(at))
            .ok_or_else(unknown)?;
        let idx = u32::from_be_bytes(idx.try_into().map_err(|_| unknown())?);
        let index = std::str::from_utf8(invocation)
            .ok()
            .and_then(|id| id.strip_prefix("sim-invocation-"))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|index| *index < self.invocations.len())
            .ok_or_else(unknown)?;
        self.signal(index, protocol::SignalId::Idx(idx), outcome(result));
        Ok(index)
    }

    /// Delivers a signal to invocation `index` and wakes it; nothing for one that has ended.
    fn signal(&mut self, index: usize, id: protocol::SignalId, result: NotificationResult) {
        let signal = protocol::SignalNotification {
            signal_id: Some(id),
            result: Some(result),
        };
        let invocation = &mut self.invocations[index];
        if !matches!(invocation.status, Status::Completed(_)) {
            invocation.journal.push(Frame::new(ty::SIGNAL, &signal));
            invocation.retry_count = 0;
            if invocation.status == Status::Suspended {
                self.make_runnable(index);
            }
        }
    }

    /// Cancels invocation `id`, as Restate's admin API does: it gets the cancellation signal,
    /// and its handler decides (by default it ends with 409 and cancels the calls it made).
    pub fn cancel(&mut self, id: &str) -> Result<(), SimError> {
        let index = *self
            .by_id
            .get(id)
            .ok_or_else(|| SimError::UnknownInvocation(id.to_owned()))?;
        self.cancel_index(index);
        Ok(())
    }

    fn cancel_index(&mut self, index: usize) {
        // As in Restate, the signal joins the journal even of an invocation that has not run
        // yet: it starts, and its handler sees the cancellation at once.
        self.signal(
            index,
            protocol::SignalId::Idx(CANCEL_SIGNAL),
            NotificationResult::Void(protocol::Void {}),
        );
    }

    /// Completes promise `key` of invocation `index`'s workflow and wakes who waits on it; the
    /// answer to the completer (a failure if the promise was completed before).
    fn complete_promise(
        &mut self,
        index: usize,
        key: String,
        result: Result<Bytes, protocol::Failure>,
    ) -> NotificationResult {
        let object = self.object_mut(index);
        if object.promises.contains_key(&key) {
            return NotificationResult::Failure(protocol::Failure {
                code: 409,
                message: format!("promise {key} is already completed"),
                metadata: Vec::new(),
            });
        }
        object.promises.insert(key.clone(), result.clone());
        let (waiting, others): (Vec<_>, Vec<_>) = std::mem::take(&mut object.promise_waiters)
            .into_iter()
            .partition(|(promise, _, _)| *promise == key);
        object.promise_waiters = others;
        for (_, waiter, completion_id) in waiting {
            self.notify(
                waiter,
                completion_id,
                outcome(result.clone()),
                ty::GET_PROMISE_COMPLETION,
            );
        }
        NotificationResult::Void(protocol::Void {})
    }

    fn object_mut(&mut self, index: usize) -> &mut Object {
        let invocation = &self.invocations[index];
        self.objects
            .entry((invocation.service.clone(), invocation.key.clone()))
            .or_default()
    }
}

/// A stored result as a notification's.
fn outcome(result: Result<Bytes, protocol::Failure>) -> NotificationResult {
    match result {
        Ok(content) => NotificationResult::Value(protocol::Value { content }),
        Err(failure) => NotificationResult::Failure(failure),
    }
}

fn terminal(failure: &protocol::Failure) -> TerminalError {
    let code = u16::try_from(failure.code).unwrap_or(500);
    let mut error = TerminalError::new(code, failure.message.clone());
    for entry in &failure.metadata {
        error = error.with_metadata(entry.key.clone(), entry.value.clone());
    }
    error
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

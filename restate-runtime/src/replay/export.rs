//! Recording invocations from a running restate-server through its admin SQL API
//! (`POST /query`): `sys_invocation` for what each invocation is and is pinned to, `sys_journal`
//! for its journal's protocol messages, `state` for the state its next attempt gets.
//!
//! The three queries are not one snapshot: a journal may have grown past the status recorded
//! with it, and state is read last. Neither can make a replay mismatch: a replay takes every
//! value it compares from the journal, and state only serves reads past the journal's end.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::ReplayError;
use super::record::{FORMAT_VERSION, RecordedEntry, RecordedInvocation, RecordedState, from_hex};

/// Which invocations to record: all that match every condition given. With none given, every
/// invocation the server has, in flight or completed (completed ones keep their journals for the
/// journal retention, 24 hours unless configured).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    id: Option<String>,
    services: Vec<String>,
    handler: Option<String>,
    deployment: Option<String>,
    statuses: Vec<String>,
    in_flight: bool,
}

impl Selection {
    /// Every invocation.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only the invocation `id` (`inv_1…`).
    pub fn invocation(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Only invocations of `service`; call it again to allow several.
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.services.push(service.into());
        self
    }

    /// Whether only some services are selected.
    pub fn names_services(&self) -> bool {
        !self.services.is_empty()
    }

    /// Only invocations of `handler` (of any service, unless [`Selection::service`] says).
    pub fn handler(mut self, handler: impl Into<String>) -> Self {
        self.handler = Some(handler.into());
        self
    }

    /// Only invocations pinned to deployment `id` (`dp_…`): what must drain before it goes.
    pub fn deployment(mut self, id: impl Into<String>) -> Self {
        self.deployment = Some(id.into());
        self
    }

    /// Only invocations with status `status` (`running`, `suspended`, `backing-off`, `paused`,
    /// `completed`, ...); call it again to allow several.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.statuses.push(status.into());
        self
    }

    /// Only invocations not completed yet.
    pub fn in_flight() -> Self {
        Self::all().in_flight_only()
    }

    /// Leaves completed invocations out.
    pub fn in_flight_only(mut self) -> Self {
        self.in_flight = true;
        self
    }

    /// Whether `recorded` is among the invocations this selects: the same conditions, applied
    /// to invocations recorded earlier (read from a file, say).
    pub fn matches(&self, recorded: &RecordedInvocation) -> bool {
        let is = |wanted: &Option<String>, value: Option<&str>| {
            wanted.as_deref().is_none_or(|wanted| Some(wanted) == value)
        };
        let among =
            |wanted: &[String], value: &str| wanted.is_empty() || wanted.iter().any(|w| w == value);
        is(&self.id, Some(&recorded.id))
            && is(&self.handler, Some(&recorded.handler))
            && is(&self.deployment, recorded.deployment.as_deref())
            && among(&self.services, &recorded.service)
            && among(&self.statuses, &recorded.status)
            && !(self.in_flight && recorded.status == "completed")
    }

    /// The SQL condition on `sys_invocation` (aliased `alias`).
    fn condition(&self, alias: &str) -> String {
        let mut conditions = vec!["TRUE".to_owned()];
        let mut equals = |column: &str, value: &Option<String>| {
            if let Some(value) = value {
                conditions.push(format!("{alias}.{column} = {}", literal(value)));
            }
        };
        equals("id", &self.id);
        equals("target_handler_name", &self.handler);
        equals("pinned_deployment_id", &self.deployment);
        let mut one_of = |column: &str, values: &[String]| {
            if !values.is_empty() {
                let list: Vec<String> = values.iter().map(|v| literal(v)).collect();
                conditions.push(format!("{alias}.{column} IN ({})", list.join(", ")));
            }
        };
        one_of("target_service_name", &self.services);
        one_of("status", &self.statuses);
        if self.in_flight {
            conditions.push(format!("{alias}.status != 'completed'"));
        }
        conditions.join(" AND ")
    }
}

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Records the invocations `selection` picks from the restate-server whose admin API is at
/// `admin_url` (`http://localhost:9070`), ordered by id.
///
/// ```no_run
/// # async fn example() -> Result<(), restate_runtime::replay::ReplayError> {
/// use restate_runtime::replay::{Selection, export};
///
/// let recorded = export("http://localhost:9070", &Selection::in_flight().service("approval.Approval")).await?;
/// # Ok(())
/// # }
/// ```
pub async fn export(
    admin_url: &str,
    selection: &Selection,
) -> Result<Vec<RecordedInvocation>, ReplayError> {
    let admin = Admin::new(admin_url)?;
    let invocations = admin
        .query(&format!(
            "SELECT id, target_service_name, target_service_key, target_handler_name, status, \
             pinned_deployment_id, pinned_service_protocol_version \
             FROM sys_invocation i WHERE {} ORDER BY id",
            selection.condition("i")
        ))
        .await?;
    let journal_rows = admin
        .query(&format!(
            "SELECT j.id, j.index, j.entry_type, j.name, j.version, j.raw \
             FROM sys_journal j JOIN sys_invocation i ON j.id = i.id WHERE {} \
             ORDER BY j.id, j.index",
            selection.condition("i")
        ))
        .await?;
    let mut journals: HashMap<String, BTreeMap<u64, (u32, RecordedEntry)>> = HashMap::new();
    for row in &journal_rows {
        let raw = from_hex(text(row, "raw")).map_err(|e| {
            ReplayError::Admin(format!("sys_journal.raw of {}: {e}", text(row, "id")))
        })?;
        let entry = RecordedEntry {
            entry_type: text(row, "entry_type").to_owned(),
            name: text(row, "name").to_owned(),
            raw,
        };
        let version = u32::try_from(number(row, "version")).unwrap_or(u32::MAX);
        journals
            .entry(text(row, "id").to_owned())
            .or_default()
            .insert(number(row, "index"), (version, entry));
    }
    // The state each keyed invocation's next attempt gets: its object's or workflow's, in its
    // scope.
    let state_rows = admin
        .query(&format!(
            "SELECT i.id, s.key, s.value FROM state s JOIN sys_invocation i \
             ON s.service_name = i.target_service_name AND s.service_key = i.target_service_key \
             AND s.scope IS NOT DISTINCT FROM i.scope WHERE {} ORDER BY i.id, s.key",
            selection.condition("i")
        ))
        .await?;
    let mut states: HashMap<String, Vec<RecordedState>> = HashMap::new();
    for row in &state_rows {
        let value = from_hex(text(row, "value"))
            .map_err(|e| ReplayError::Admin(format!("state.value of {}: {e}", text(row, "key"))))?;
        states
            .entry(text(row, "id").to_owned())
            .or_default()
            .push(RecordedState {
                key: text(row, "key").to_owned(),
                value,
            });
    }
    invocations
        .iter()
        .map(|row| {
            let id = text(row, "id").to_owned();
            let service = text(row, "target_service_name").to_owned();
            let key = text(row, "target_service_key").to_owned();
            let journal = journals.remove(&id).unwrap_or_default();
            let journal_version = journal.values().map(|(version, _)| *version).max();
            let random_seed = super::invocation_id::decode(&id)
                .ok()
                .map(|bytes| super::invocation_id::random_seed(&bytes));
            Ok(RecordedInvocation {
                format: FORMAT_VERSION,
                state: states.remove(&id).unwrap_or_default(),
                handler: text(row, "target_handler_name").to_owned(),
                status: text(row, "status").to_owned(),
                deployment: Some(text(row, "pinned_deployment_id"))
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned),
                protocol_version: row["pinned_service_protocol_version"]
                    .as_u64()
                    .and_then(|v| u32::try_from(v).ok()),
                journal_version: journal_version.unwrap_or(2),
                random_seed,
                entries: journal.into_values().map(|(_, entry)| entry).collect(),
                id,
                service,
                key,
            })
        })
        .collect()
}

/// A column's text, empty when null.
fn text<'a>(row: &'a Value, column: &str) -> &'a str {
    row[column].as_str().unwrap_or_default()
}

/// A column's number, 0 when null.
fn number(row: &Value, column: &str) -> u64 {
    row[column].as_u64().unwrap_or_default()
}

/// The admin API's SQL endpoint.
struct Admin {
    http: reqwest::Client,
    url: String,
}

impl Admin {
    fn new(admin_url: &str) -> Result<Self, ReplayError> {
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| ReplayError::Admin(e.to_string()))?;
        Ok(Self {
            http,
            url: format!("{}/query", admin_url.trim_end_matches('/')),
        })
    }

    /// The rows `sql` answers.
    async fn query(&self, sql: &str) -> Result<Vec<Value>, ReplayError> {
        let response = self
            .http
            .post(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&serde_json::json!({ "query": sql }))
            .send()
            .await
            .map_err(|e| ReplayError::Admin(format!("{}: {e}", self.url)))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| ReplayError::Admin(format!("{}: {e}", self.url)))?;
        if !status.is_success() {
            return Err(ReplayError::Admin(format!(
                "{} answered {status}: {body}",
                self.url
            )));
        }
        let mut answer: Value = serde_json::from_str(&body)
            .map_err(|e| ReplayError::Admin(format!("{} answered no JSON: {e}", self.url)))?;
        match answer["rows"].take() {
            Value::Array(rows) => Ok(rows),
            _ => Err(ReplayError::Admin(format!(
                "{} answered no rows: {body:.200}",
                self.url
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_quote_what_users_give() {
        let selection = Selection::all()
            .service("it's.Svc")
            .handler("Run")
            .deployment("dp_1")
            .status("suspended")
            .status("paused");
        assert_eq!(
            selection.condition("i"),
            "TRUE AND i.target_handler_name = 'Run' AND i.pinned_deployment_id = 'dp_1' \
             AND i.target_service_name IN ('it''s.Svc') AND i.status IN ('suspended', 'paused')"
        );
        assert_eq!(Selection::all().condition("i"), "TRUE");
        assert_eq!(
            Selection::in_flight()
                .service("s")
                .service("t")
                .condition("j"),
            "TRUE AND j.target_service_name IN ('s', 't') AND j.status != 'completed'"
        );
    }

    #[test]
    fn a_selection_matches_recorded_invocations_as_the_server_would() {
        let recorded = RecordedInvocation {
            format: FORMAT_VERSION,
            id: "inv_1a".to_owned(),
            service: "s.A".to_owned(),
            handler: "Run".to_owned(),
            key: "k".to_owned(),
            status: "suspended".to_owned(),
            deployment: Some("dp_1".to_owned()),
            protocol_version: Some(6),
            journal_version: 2,
            random_seed: None,
            entries: Vec::new(),
            state: Vec::new(),
        };
        assert!(Selection::all().matches(&recorded));
        assert!(
            Selection::in_flight()
                .service("s.B")
                .service("s.A")
                .matches(&recorded)
        );
        assert!(
            Selection::all()
                .deployment("dp_1")
                .status("suspended")
                .matches(&recorded)
        );
        assert!(!Selection::all().service("s.B").matches(&recorded));
        assert!(!Selection::all().handler("Other").matches(&recorded));
        assert!(!Selection::all().deployment("dp_2").matches(&recorded));
        assert!(!Selection::all().invocation("inv_1b").matches(&recorded));
        let completed = RecordedInvocation {
            status: "completed".to_owned(),
            ..recorded
        };
        assert!(!Selection::in_flight().matches(&completed));
        assert!(Selection::all().status("completed").matches(&completed));
    }
}

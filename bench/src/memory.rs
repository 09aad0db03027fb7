//! Memory: the endpoint's resident set with many invocations in flight, each handler parked on
//! an awakeable nobody completes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::endpoint::EndpointProcess;
use crate::procfs;

/// How long the invocations get to reach the endpoint.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(240);

/// Resident memory of one endpoint before and with the invocations in flight.
#[derive(Debug, Clone)]
pub struct MemoryResult {
    pub in_flight: usize,
    pub rss_idle_kib: u64,
    pub rss_loaded_kib: u64,
    /// What the admin API's `sys_invocation` table says is running on the waiter service.
    pub running_per_restate: Option<u64>,
    pub fill_time: Duration,
}

impl MemoryResult {
    /// Extra resident memory per in-flight invocation, in KiB.
    pub fn kib_per_invocation(&self) -> f64 {
        (self.rss_loaded_kib as f64 - self.rss_idle_kib as f64) / self.in_flight.max(1) as f64
    }
}

/// Sends `count` invocations of the waiter `(service, handler)` with `/send`, waits until the
/// endpoint holds all of them, and reads its resident set.
pub async fn measure(
    client: &reqwest::Client,
    ingress: &str,
    admin: &str,
    endpoint: &EndpointProcess,
    (service, handler): (&str, &str),
    count: usize,
    concurrency: usize,
) -> std::io::Result<MemoryResult> {
    let rss_idle_kib = procfs::status_kib(endpoint.pid, "VmRSS")?;
    let started = Instant::now();
    let url = format!("{ingress}/{service}/{handler}/send");
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..concurrency {
        let (client, url, next) = (client.clone(), url.clone(), Arc::clone(&next));
        senders.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let response = client.post(&url).send().await.map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    return Err(format!("{status}: {body}"));
                }
            }
            Ok(())
        }));
    }
    for sender in senders {
        sender
            .await
            .map_err(std::io::Error::other)?
            .map_err(|e| std::io::Error::other(format!("sending to {service} failed: {e}")))?;
    }

    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let waiting = endpoint.waiting()?;
        if waiting >= count {
            break;
        }
        if Instant::now() > deadline {
            return Err(std::io::Error::other(format!(
                "only {waiting} of {count} invocations of {service} reached the endpoint"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fill_time = started.elapsed();
    // Let buffers the last invocations touched settle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_loaded_kib = procfs::status_kib(endpoint.pid, "VmRSS")?;
    let running_per_restate = running_invocations(client, admin, service).await;
    Ok(MemoryResult {
        in_flight: endpoint.waiting()?,
        rss_idle_kib,
        rss_loaded_kib,
        running_per_restate,
        fill_time,
    })
}

/// The number of running invocations of `service`, from the admin API's SQL interface.
async fn running_invocations(client: &reqwest::Client, admin: &str, service: &str) -> Option<u64> {
    let query = format!(
        "SELECT count(*) AS running FROM sys_invocation \
         WHERE target_service_name = '{service}' AND status = 'running'"
    );
    let response = client
        .post(format!("{admin}/query"))
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(serde_json::json!({ "query": query }).to_string())
        .send()
        .await
        .ok()?;
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.ok()?).ok()?;
    body["rows"][0]["running"].as_u64()
}

//! The printed report: machine facts, one table per comparison, and the targets.

use std::time::Duration;

use crate::codegen::median;
use crate::endpoint::{Logging, Sdk};
use crate::load::{Codec, Handler, Measurement, Scenario};
use crate::{Options, Results, procfs};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One target: a ratio ours / theirs and the bound it must keep.
struct Target {
    what: String,
    ratio: f64,
    bound: f64,
    /// `true`: ratio ≤ bound; `false`: ratio ≥ bound.
    at_most: bool,
}

impl Target {
    fn verdict(&self) -> String {
        if !self.ratio.is_finite() {
            return "not measured".to_owned();
        }
        let met = if self.at_most {
            self.ratio <= self.bound
        } else {
            self.ratio >= self.bound
        };
        if met {
            "met".to_owned()
        } else {
            let miss = if self.at_most {
                (self.ratio / self.bound - 1.0) * 100.0
            } else {
                (1.0 - self.ratio / self.bound) * 100.0
            };
            format!("MISSED by {miss:.0}%")
        }
    }
}

pub fn print(options: &Options, results: &Results) {
    let (cpus, model) = procfs::machine();
    let memory = procfs::mem_total_kib().map_or(String::new(), |kib| {
        format!(", {:.1} GiB memory", kib as f64 / 1024.0 / 1024.0)
    });
    println!();
    println!("==================================================================================");
    println!("restate-proto-rust benchmark");
    println!("machine: {cpus} CPUs (nproc), {model}{memory}");
    println!(
        "restate-server {}, one node; endpoints and load generator on the same machine",
        restate_test::RESTATE_SERVER_VERSION
    );
    println!("==================================================================================");

    let mut targets = Vec::new();
    if !results.load.is_empty() {
        print_load(options, &results.load, &mut targets);
    }
    if !results.journals.is_empty() {
        for (what, ratio) in crate::journals::print(&results.journals) {
            targets.push(Target {
                what,
                ratio,
                bound: 1.0,
                at_most: true,
            });
        }
    }
    if let Some(gateway) = &results.gateway {
        print_gateway(options, gateway, &mut targets);
    }
    if !results.memory.is_empty() {
        print_memory(options, &results.memory);
    }
    if let Some(codegen) = &results.codegen {
        print_codegen(codegen, &mut targets);
    }
    if let Some(sim) = &results.sim {
        crate::sim::print(sim);
        // The first journal of about 20 entries: a test of it should take under 10 ms.
        if let Some(case) = sim.iter().find(|case| case.journal_entries >= 19) {
            targets.push(Target {
                what: format!(
                    "simulator ms per test, {}-entry journal",
                    case.journal_entries
                ),
                ratio: case.per_test.as_secs_f64() * 1e3,
                bound: 10.0,
                at_most: true,
            });
        }
    }
    if let Some(replay) = &results.replay {
        crate::replay::print(replay);
        targets.push(Target {
            what: format!(
                "replay check s, {} journals of {} entries",
                replay.invocations, replay.entries_per_journal
            ),
            ratio: replay.check.as_secs_f64(),
            bound: 2.0,
            at_most: true,
        });
    }
    if !targets.is_empty() {
        println!();
        println!("Targets (ratio = ours / theirs, or the figure itself)");
        println!("{:<58} {:>7} {:>8}  verdict", "target", "ratio", "bound");
        for target in &targets {
            println!(
                "{:<58} {:>7.2} {:>8}  {}",
                target.what,
                target.ratio,
                format!(
                    "{} {:.1}",
                    if target.at_most { "≤" } else { "≥" },
                    target.bound
                ),
                target.verdict()
            );
        }
    }
}

fn print_load(options: &Options, load: &[(Scenario, Measurement)], targets: &mut Vec<Target>) {
    println!();
    println!(
        "Load: {} invocations per service in {} interleaved rounds, concurrency {} ({} warm-up each);",
        options.invocations, options.rounds, options.concurrency, options.warmup
    );
    println!(
        "HTTP/1.1 to the ingress from the runner process; CPU = endpoint process utime+stime (sys % = stime share)."
    );
    println!(
        "Each service runs twice: on endpoints with no subscriber, then logging as users run the examples"
    );
    println!(
        "(ours: serve_from_env, RUST_LOG or info; restate-sdk: tracing_subscriber::fmt::init(), RUST_LOG or error)."
    );
    println!(
        "{:<16} {:<17} {:<13} {:<15} {:>9} {:>8} {:>8} {:>11} {:>6} {:>7} {:>7} {:>6}",
        "handler",
        "implementation",
        "codec",
        "logging",
        "inv/s",
        "p50 ms",
        "p99 ms",
        "CPU µs/inv",
        "sys %",
        "thr ×",
        "CPU ×",
        "errors"
    );
    for (handler, logging) in [
        (Handler::Greeter, Logging::None),
        (Handler::Greeter, Logging::Default),
        (Handler::CounterAdd, Logging::None),
        (Handler::CounterAdd, Logging::Default),
    ] {
        let official = load
            .iter()
            .find(|(s, _)| s.handler == handler && s.logging == logging && s.sdk == Sdk::Official)
            .map(|(_, m)| m);
        for (scenario, measured) in load
            .iter()
            .filter(|(s, _)| s.handler == handler && s.logging == logging)
        {
            let (thr_ratio, cpu_ratio) = official.map_or((f64::NAN, f64::NAN), |o| {
                (
                    measured.throughput() / o.throughput(),
                    measured.cpu_micros_per_invocation() / o.cpu_micros_per_invocation(),
                )
            });
            println!(
                "{:<16} {:<17} {:<13} {:<15} {:>9.0} {:>8.2} {:>8.2} {:>11.1} {:>6.0} {:>7.2} {:>7.2} {:>6}",
                scenario.handler_label(),
                scenario.sdk_label(),
                scenario.codec_label(),
                scenario.logging.label(),
                measured.throughput(),
                ms(measured.latency_quantile(0.5)),
                ms(measured.latency_quantile(0.99)),
                measured.cpu_micros_per_invocation(),
                measured.system_percent(),
                thr_ratio,
                cpu_ratio,
                measured.errors,
            );
            if scenario.sdk == Sdk::Ours {
                // Well ahead of the official SDK in both codecs, logging or not.
                let (codec, bound) = match scenario.codec {
                    Codec::Protobuf => ("Protobuf", 0.7),
                    Codec::Json => ("ProtoJSON", 0.7),
                };
                let name = match handler {
                    Handler::Greeter => "greeter".to_owned(),
                    _ => scenario.handler_label(),
                };
                let logging = logging.label();
                targets.push(Target {
                    what: format!("endpoint CPU/invocation, {name}, {codec}, {logging}"),
                    ratio: cpu_ratio,
                    bound,
                    at_most: true,
                });
                targets.push(Target {
                    what: format!("throughput, {name}, {codec}, {logging}"),
                    ratio: thr_ratio,
                    bound: 1.0,
                    at_most: false,
                });
            }
        }
    }
    for (scenario, measured) in load {
        if let Some(error) = &measured.first_error {
            println!(
                "  first error of {} {} {} ({}): {error}",
                scenario.handler_label(),
                scenario.sdk_label(),
                scenario.codec_label(),
                scenario.logging.label()
            );
        }
    }
}

fn print_gateway(options: &Options, results: &crate::GatewayResults, targets: &mut Vec<Target>) {
    let (direct, gateway) = (&results.loaded.0, &results.loaded.1);
    println!();
    println!(
        "gRPC gateway: the ProtoJSON greeter, {} calls each way in {} alternating rounds, concurrency {};",
        options.invocations, options.rounds, options.concurrency
    );
    println!(
        "HTTP/1.1 to the ingress, or gRPC (HTTP/2, one connection per concurrent caller) to the gateway process (one thread), which forwards to the ingress"
    );
    println!(
        "{:<22} {:>9} {:>8} {:>8} {:>18} {:>18} {:>6}",
        "path", "calls/s", "p50 ms", "p99 ms", "endpoint µs/inv", "gateway µs/call", "errors"
    );
    println!(
        "{:<22} {:>9.0} {:>8.2} {:>8.2} {:>18.1} {:>18} {:>6}",
        "through the ingress",
        direct.throughput(),
        ms(direct.latency_quantile(0.5)),
        ms(direct.latency_quantile(0.99)),
        direct.cpu_micros_per_invocation(),
        "-",
        direct.errors
    );
    let calls = &gateway.calls;
    println!(
        "{:<22} {:>9.0} {:>8.2} {:>8.2} {:>18.1} {:>18.1} {:>6}",
        "through the gateway",
        calls.throughput(),
        ms(calls.latency_quantile(0.5)),
        ms(calls.latency_quantile(0.99)),
        calls.cpu_micros_per_invocation(),
        gateway.gateway_micros_per_call(),
        calls.errors
    );
    let added_p50 = ms(calls.latency_quantile(0.5)) - ms(direct.latency_quantile(0.5));
    let added_p99 = ms(calls.latency_quantile(0.99)) - ms(direct.latency_quantile(0.99));
    println!("  added by the gateway: p50 {added_p50:.2} ms, p99 {added_p99:.2} ms");
    let (alone, through) = (&results.unloaded.0, &results.unloaded.1.calls);
    println!(
        "  one call at a time ({} calls each way): ingress p50 {:.2} ms, gateway p50 {:.2} ms, added {:.2} ms",
        alone.count(),
        ms(alone.latency_quantile(0.5)),
        ms(through.latency_quantile(0.5)),
        ms(through.latency_quantile(0.5)) - ms(alone.latency_quantile(0.5)),
    );
    let (alone, delay) = &results.tonic_alone;
    println!(
        "  for scale, tonic alone (a tonic server answering the greeter itself after {:.1} ms, {:.0} calls/s): {:.1} µs/call, {:.2}× the endpoint's CPU/invocation",
        delay.as_secs_f64() * 1e3,
        alone.calls.throughput(),
        alone.gateway_micros_per_call(),
        alone.gateway_micros_per_call() / direct.cpu_micros_per_invocation(),
    );
    if let Some(error) = &calls.first_error {
        println!("  first error through the gateway: {error}");
    }
    if let Some(error) = &alone.calls.first_error {
        println!("  first error from tonic alone: {error}");
    }
    targets.push(Target {
        what: "gateway CPU/call vs endpoint CPU/invocation".to_owned(),
        ratio: gateway.gateway_micros_per_call() / direct.cpu_micros_per_invocation(),
        bound: 0.5,
        at_most: true,
    });
    targets.push(Target {
        what: "latency the gateway adds at p50, ms".to_owned(),
        ratio: added_p50,
        bound: 1.0,
        at_most: true,
    });
}

fn print_memory(options: &Options, memory: &[(Sdk, crate::memory::MemoryResult)]) {
    println!();
    println!(
        "Memory: endpoint resident set (VmRSS) with {} waiter invocations in flight, each parked on an awakeable",
        options.in_flight
    );
    println!(
        "{:<17} {:>10} {:>14} {:>12} {:>16} {:>9} {:>8}",
        "implementation",
        "idle MiB",
        "in flight MiB",
        "KiB / inv",
        "Restate: running",
        "fill s",
        "RSS ×"
    );
    let official = memory
        .iter()
        .find(|(sdk, _)| *sdk == Sdk::Official)
        .map(|(_, m)| m);
    for (sdk, result) in memory {
        let ratio = official.map_or(f64::NAN, |o| {
            result.rss_loaded_kib as f64 / o.rss_loaded_kib as f64
        });
        println!(
            "{:<17} {:>10.1} {:>14.1} {:>12.1} {:>16} {:>9.1} {:>8.2}",
            match sdk {
                Sdk::Ours => "ours",
                Sdk::Official => "restate-sdk 0.13",
            },
            mib(result.rss_idle_kib),
            mib(result.rss_loaded_kib),
            result.kib_per_invocation(),
            result
                .running_per_restate
                .map_or("?".to_owned(), |n| n.to_string()),
            result.fill_time.as_secs_f64(),
            ratio,
        );
    }
    if let (Some((_, ours)), Some(official)) =
        (memory.iter().find(|(sdk, _)| *sdk == Sdk::Ours), official)
    {
        println!(
            "  per in-flight invocation (RSS growth): ours / official = {:.2}",
            ours.kib_per_invocation() / official.kib_per_invocation()
        );
    }
}

fn print_codegen(codegen: &crate::codegen::CodegenResult, targets: &mut Vec<Target>) {
    let (ours_gen, tonic_gen) = (
        median(&codegen.ours_generate),
        median(&codegen.tonic_generate),
    );
    println!();
    println!(
        "Codegen: one proto, {} services × {} rpcs, {} messages; same protoc for both;",
        crate::codegen::SERVICES,
        crate::codegen::RPCS,
        codegen.messages
    );
    println!(
        "generation median of {} runs; compile = `cargo build --profile P` of a crate holding only the output, deps prebuilt, median of {}",
        codegen.ours_generate.len(),
        codegen.compiles.first().map_or(0, |c| c.ours.len())
    );
    println!(
        "in this process (optimized, warm), and in a build script (a fresh process each run, the generator unoptimized"
    );
    println!("as Cargo builds build scripts: what users wait for)");
    println!(
        "{:<28} {:>16} {:>16} {:>8}",
        "", "restate-codegen", "tonic-build", "ratio"
    );
    println!(
        "{:<28} {:>16.0} {:>16.0} {:>8.2}",
        "generation wall time, ms",
        ms(ours_gen),
        ms(tonic_gen),
        ours_gen.as_secs_f64() / tonic_gen.as_secs_f64()
    );
    if !codegen.ours_locked_generate.is_empty() {
        let locked = median(&codegen.ours_locked_generate);
        let overhead = locked.as_secs_f64() / ours_gen.as_secs_f64() - 1.0;
        println!(
            "{:<28} {:>16.0} {:>16} {:>8}",
            "  with the contract lock, ms",
            ms(locked),
            "",
            format!("{:+.1}%", overhead * 100.0)
        );
        targets.push(Target {
            what: "contract lock check, % added to generation".to_owned(),
            ratio: overhead * 100.0,
            bound: 5.0,
            at_most: true,
        });
    }
    if !codegen.ours_build_script.is_empty() {
        let (ours, tonic) = (
            median(&codegen.ours_build_script),
            median(&codegen.tonic_build_script),
        );
        let ratio = ours.as_secs_f64() / tonic.as_secs_f64();
        println!(
            "{:<28} {:>16.0} {:>16.0} {:>8.2}",
            "  the same in build.rs, ms",
            ms(ours),
            ms(tonic),
            ratio
        );
        targets.push(Target {
            what: "codegen wall time in build.rs vs tonic-build".to_owned(),
            ratio,
            bound: 1.0,
            at_most: true,
        });
    }
    for compiles in &codegen.compiles {
        let (ours, tonic) = (median(&compiles.ours), median(&compiles.tonic));
        let ratio = ours.as_secs_f64() / tonic.as_secs_f64();
        println!(
            "{:<28} {:>16.1} {:>16.1} {:>8.2}",
            format!("compile of the output ({}), s", compiles.profile.name()),
            ours.as_secs_f64(),
            tonic.as_secs_f64(),
            ratio
        );
        targets.push(Target {
            what: format!(
                "compile of generated code ({}) vs tonic-build",
                compiles.profile.name()
            ),
            ratio,
            bound: 1.0,
            at_most: true,
        });
    }
    println!(
        "{:<28} {:>16} {:>16} {:>8.2}",
        "generated lines",
        codegen.ours_lines,
        codegen.tonic_lines,
        codegen.ours_lines as f64 / codegen.tonic_lines as f64
    );
    println!(
        "  (restate-codegen also emits the package's descriptors, a payload impl per message, JSON Schemas, traits, servers\n   and clients; tonic-build emits gRPC clients and servers)"
    );
    targets.push(Target {
        what: "codegen wall time vs tonic-build".to_owned(),
        ratio: ours_gen.as_secs_f64() / tonic_gen.as_secs_f64(),
        bound: 1.0,
        at_most: true,
    });
}

//! The README's walkthrough is this crate: its files are the README's code blocks, and the
//! service they build answers through a real restate-server as step 4 says.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use restate_test::RestateServer;

/// The fenced code blocks of the README's walkthrough, in order, as (language, text).
fn walkthrough_blocks() -> Vec<(String, String)> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(readme).expect("the README is readable");
    let start = readme
        .find("## Walkthrough")
        .expect("a walkthrough section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut blocks = Vec::new();
    let mut lines = section[..end].lines();
    while let Some(line) = lines.next() {
        let Some(language) = line.strip_prefix("```") else {
            continue;
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        blocks.push((language.to_owned(), body.join("\n") + "\n"));
    }
    blocks
}

fn crate_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_readme_shows_this_crate_file_for_file() {
    let blocks = walkthrough_blocks();
    let of = |language: &str| -> Vec<&String> {
        blocks
            .iter()
            .filter(|(l, _)| l == language)
            .map(|(_, body)| body)
            .collect()
    };
    assert_eq!(*of("proto")[0], crate_file("proto/greeter.proto"), "step 1");
    let rust = of("rust,ignore");
    assert_eq!(*rust[0], crate_file("build.rs"), "step 2");
    assert_eq!(*rust[1], crate_file("src/main.rs"), "step 3");
    // Step 2's dependency lines, each in this crate's manifest (with a `path` into the
    // workspace where the README names a version of ours).
    let manifest = crate_file("Cargo.toml");
    let mut section = "";
    for line in of("toml")[0].lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with('[') {
            section = line;
            assert!(manifest.contains(line), "{line} in Cargo.toml");
            continue;
        }
        let (name, spec) = line.split_once(" = ").expect("a dependency line");
        let ours = format!("{name} = {{ version = {spec}, path = \"../../{name}\" }}");
        let after_header = &manifest[manifest.find(section).expect("the section")..];
        let section_end = after_header[1..]
            .find("\n[")
            .map_or(after_header.len(), |i| i + 1);
        let after_section = &after_header[..section_end];
        assert!(
            after_section.contains(line) || after_section.contains(&ours),
            "`{line}` of {section} in Cargo.toml"
        );
    }
}

/// The walkthrough's binary, serving on `port`; killed on drop.
struct Greeter(Child);

impl Drop for Greeter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn step_four_greets_ada_through_a_real_server() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let _greeter = Greeter(
        Command::new(env!("CARGO_BIN_EXE_walkthrough"))
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("the walkthrough starts"),
    );
    let server = RestateServer::start().expect("restate-server starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut registered = server.register(&endpoint).await;
    for _ in 0..100 {
        if registered.is_ok() {
            break;
        }
        // The binary may still be binding its port.
        tokio::time::sleep(Duration::from_millis(100)).await;
        registered = server.register(&endpoint).await;
    }
    registered.expect("the endpoint registers");

    let client = reqwest::Client::new();
    let url = format!("{}/helloworld.Greeter/SayHello", server.ingress_url());
    let response = client
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"name":"Ada"}"#)
        .send()
        .await
        .expect("the ingress answers");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"message":"Hello, Ada!"}"#
    );

    // "A body that is not a valid HelloRequest gets HTTP 400 and is not retried."
    let response = client
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"name":42}"#)
        .send()
        .await
        .expect("the ingress answers");
    assert_eq!(response.status(), 400);
}

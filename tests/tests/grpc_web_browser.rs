//! gRPC-Web in a real browser: a page using connect-web (from the npm registry, pinned) calls
//! the greeter's durable handler through the gateway, cross-origin, so CORS is exercised too.
//! Headless Chromium (Debian's package, which CI installs; `CHROMIUM_BIN` names another)
//! loads the page, and the test reads the answer from the page's DOM.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine as _;
use greeter::helloworld::GreeterGateway;
use prost::Message as _;
use restate_runtime::grpc::{Gateway, GatewayService};
use restate_test::TestEnvironment;

/// The npm packages the page imports, pinned.
const PACKAGES: [&str; 3] = [
    "@connectrpc/connect-web@2.2.0",
    "@connectrpc/connect@2.2.0",
    "@bufbuild/protobuf@2.17.0",
];

/// `node_modules` with the pinned packages, installed once under the target directory.
fn node_modules() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let prefix = parent.join("connect-web-2.2.0");
        let modules = prefix.join("node_modules");
        if modules
            .join("@connectrpc/connect-web/package.json")
            .exists()
        {
            return modules;
        }
        restate_test::npm_install(&PACKAGES, &prefix).expect("the page's packages install");
        modules
    })
}

/// The browser: `CHROMIUM_BIN`, else `chromium` on the PATH, installed from Debian's packages
/// (`apt-get`, as root) when missing, as the harness installs restate-server.
fn chromium() -> PathBuf {
    let runs = |binary: &Path| {
        Command::new(binary)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Some(binary) = std::env::var_os("CHROMIUM_BIN").map(PathBuf::from) {
        assert!(
            runs(&binary),
            "CHROMIUM_BIN={} does not run",
            binary.display()
        );
        return binary;
    }
    let binary = PathBuf::from("chromium");
    if !runs(&binary) {
        let apt = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|status| status.success())
        };
        let installed =
            apt(&["update"]) && apt(&["install", "-y", "--no-install-recommends", "chromium"]);
        assert!(
            installed && runs(&binary),
            "no chromium, and apt-get could not install it: install Debian's `chromium` \
             package or set CHROMIUM_BIN"
        );
    }
    binary
}

/// The import map of the packages' ES modules, from each package's `exports`.
fn import_map(modules: &Path) -> serde_json::Value {
    let mut imports = serde_json::Map::new();
    for package in [
        "@bufbuild/protobuf",
        "@connectrpc/connect",
        "@connectrpc/connect-web",
    ] {
        let manifest = std::fs::read_to_string(modules.join(package).join("package.json")).unwrap();
        let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        for (subpath, target) in manifest["exports"].as_object().unwrap() {
            let file = match target {
                serde_json::Value::String(file) => Some(file.as_str()),
                other => other["import"]
                    .as_str()
                    .or_else(|| other["import"]["default"].as_str()),
            };
            if let Some(file) = file {
                let specifier = format!("{package}{}", subpath.trim_start_matches('.'));
                let url = format!("/node_modules/{package}/{}", file.trim_start_matches("./"));
                imports.insert(specifier, url.into());
            }
        }
    }
    serde_json::json!({ "imports": imports })
}

/// The greeter's proto as protobuf-es takes it: an encoded `FileDescriptorProto`, base64.
fn greeter_descriptor() -> String {
    let set = prost_types::FileDescriptorSet::decode(GreeterGateway::descriptors().encoded())
        .expect("the generated descriptors decode");
    let mut file = set
        .file
        .into_iter()
        .find(|file| file.name() == "greeter.proto")
        .expect("greeter.proto among the descriptors");
    file.source_code_info = None;
    base64::engine::general_purpose::STANDARD.encode(file.encode_to_vec())
}

/// The page: calls `SayHello` through the gateway at `gateway`, writes the answer into `#out`.
fn page(modules: &Path, gateway: &str) -> String {
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8">
<script type="importmap">{imports}</script>
</head><body><pre id="out">waiting</pre>
<script type="module">
import {{ fileDesc, serviceDesc }} from "@bufbuild/protobuf/codegenv2";
import {{ createClient }} from "@connectrpc/connect";
import {{ createGrpcWebTransport }} from "@connectrpc/connect-web";
const out = document.getElementById("out");
try {{
  const greeter = serviceDesc(fileDesc("{descriptor}"), 0);
  const transport = createGrpcWebTransport({{ baseUrl: "{gateway}" }});
  const reply = await createClient(greeter, transport).sayHello({{ name: "Browser" }});
  out.textContent = "answer: " + reply.message;
}} catch (error) {{
  out.textContent = "error: " + error;
}}
</script></body></html>"#,
        imports = import_map(modules),
        descriptor = greeter_descriptor(),
    )
}

/// Serves `page` at `/` and the files under `modules` at `/node_modules/`, one thread per
/// connection, until the test ends.
fn serve_page(listener: TcpListener, page: String, modules: PathBuf) {
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (page, modules) = (page.clone(), modules.clone());
            std::thread::spawn(move || answer(stream, &page, &modules));
        }
    });
}

fn answer(mut stream: TcpStream, page: &str, modules: &Path) {
    let mut request_line = String::new();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // The rest of the head.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request_line.split(' ').nth(1).unwrap_or("/");
    let (status, content_type, body) = if path == "/" {
        ("200 OK", "text/html", page.as_bytes().to_vec())
    } else if let Some(file) = path.strip_prefix("/node_modules/") {
        let relative = Path::new(file);
        let inside = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        match std::fs::read(modules.join(relative))
            .ok()
            .filter(|_| inside)
        {
            Some(body) => ("200 OK", "text/javascript", body),
            None => ("404 Not Found", "text/plain", b"not found".to_vec()),
        }
    } else {
        ("404 Not Found", "text/plain", b"not found".to_vec())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

#[test]
fn a_browser_calls_a_durable_handler_through_grpc_web() {
    let browser = chromium();
    let modules = node_modules().to_owned();
    let env = TestEnvironment::start(greeter::endpoint()).expect("the test environment starts");

    let page_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let page_origin = format!("http://{}", page_listener.local_addr().unwrap());
    // The gateway on a runtime of its own, allowing the page's origin.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let gateway: SocketAddr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let gateway = Gateway::builder(env.ingress_url())
            .add::<GreeterGateway>()
            .grpc_web(true)
            .cors_allow_origin(&page_origin)
            .build();
        tokio::spawn(gateway.serve_with_shutdown(listener, std::future::pending()));
        address
    });
    serve_page(
        page_listener,
        page(&modules, &format!("http://{gateway}")),
        modules,
    );

    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=30000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("{page_origin}/"))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("answer: Hello, Browser!"),
        "the page shows: {dom}\nchromium says: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

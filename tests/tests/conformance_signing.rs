//! Restate's SDK conformance scenario `ProxyRequestSigning`, plus the refusals it implies: a
//! restate-server signs its requests with an Ed25519 key, and the endpoint accepts only
//! requests signed with it.

use std::io::Write;
use std::sync::LazyLock;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use restate_e2e::conformance::conformance_endpoint_with_identity_key;
use restate_e2e::raw_ingress::{RawIngress, random_key};
use restate_runtime::rand::{RngCore, SeedableRng};
use restate_test::TestEnvironment;

const PRIVATE_KEY_ENV: &str = "RESTATE_WORKER__INVOKER__REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE";

/// A fresh Ed25519 key pair: the private key as a PKCS#8 PEM file, and the public key as
/// Restate prints it (`publickeyv1_` and the base58 of its 32 bytes).
struct KeyPair {
    pem_file: tempfile::NamedTempFile,
    public_key: String,
}

impl KeyPair {
    fn generate() -> Self {
        let mut seed = [0u8; 32];
        restate_runtime::rand::rngs::StdRng::from_os_rng().fill_bytes(&mut seed);
        let signing_key = SigningKey::from_bytes(&seed);
        let pem = signing_key
            .to_pkcs8_pem(LineEnding::LF)
            .expect("a PKCS#8 PEM");
        let mut pem_file = tempfile::NamedTempFile::new().expect("a temporary file");
        pem_file
            .write_all(pem.as_bytes())
            .expect("the key is written");
        let public_key = format!(
            "publickeyv1_{}",
            bs58::encode(signing_key.verifying_key().to_bytes()).into_string()
        );
        Self {
            pem_file,
            public_key,
        }
    }

    fn pem_path(&self) -> String {
        self.pem_file.path().display().to_string()
    }
}

/// The key restate-server signs with.
static KEY: LazyLock<KeyPair> = LazyLock::new(KeyPair::generate);

/// A restate-server signing its requests with [`KEY`], and an endpoint that requires it.
static ENV: LazyLock<TestEnvironment> = LazyLock::new(|| {
    let endpoint = conformance_endpoint_with_identity_key(&KEY.public_key).expect("a valid key");
    TestEnvironment::builder(endpoint)
        .server_env(PRIVATE_KEY_ENV, KEY.pem_path())
        .start()
        .expect("the signed endpoint registers")
});

fn ingress() -> RawIngress {
    RawIngress::new(ENV.ingress_url(), ENV.admin_url())
}

/// `ProxyRequestSigning.requestSigningPass`: signed requests reach the handlers.
#[tokio::test]
async fn request_signing_pass() {
    let ingress = ingress();
    let key = random_key();
    let _: serde_json::Value = ingress
        .call(&format!("conformance.Counter/{key}/add"), &1)
        .await
        .expect("Counter.add");
    let value: i64 = ingress
        .call_void::<pbjson_types::Int64Value>(&format!("conformance.Counter/{key}/get"))
        .await
        .expect("Counter.get")
        .value;
    assert_eq!(value, 1);
}

/// Requests straight to the endpoint, without Restate's signature, get 401.
#[tokio::test]
async fn unsigned_requests_get_401() {
    let http = restate_e2e::raw_ingress::http_client();
    let endpoint = ENV.endpoint_url();

    let health = http
        .get(format!("{endpoint}/health"))
        .send()
        .await
        .expect("the endpoint answers");
    assert_eq!(health.status().as_u16(), 200, "the endpoint is up");

    let discover = http
        .get(format!("{endpoint}/discover"))
        .header("accept", "application/vnd.restate.endpointmanifest.v3+json")
        .send()
        .await
        .expect("the endpoint answers");
    assert_eq!(discover.status().as_u16(), 401);

    let invoke = http
        .post(format!("{endpoint}/invoke/conformance.Counter/add"))
        .header("content-type", "application/vnd.restate.invocation.v5")
        .body(Vec::new())
        .send()
        .await
        .expect("the endpoint answers");
    assert_eq!(invoke.status().as_u16(), 401);
}

/// An endpoint that trusts another key refuses the server's requests, so it cannot be
/// registered.
#[tokio::test]
async fn endpoint_trusting_another_key_is_refused() {
    let other = KeyPair::generate();
    let endpoint = conformance_endpoint_with_identity_key(&other.public_key).expect("a valid key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("a local address");
    let serving = tokio::spawn(endpoint.serve_with_shutdown(listener, std::future::pending()));

    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
        .post(format!("{}/deployments", ENV.admin_url()))
        .json(&serde_json::json!({ "uri": format!("http://{address}"), "force": true }))
        .send()
        .await
        .expect("the admin API answers");
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    serving.abort();
    assert!(
        status >= 400,
        "the endpoint was registered ({status}): {body}"
    );
    assert!(body.contains("401"), "{status}: {body}");
}

/// A server without the private key cannot register the endpoint at all.
#[test]
fn server_without_the_key_is_refused() {
    let endpoint = conformance_endpoint_with_identity_key(&KEY.public_key).expect("a valid key");
    match TestEnvironment::start(endpoint) {
        Ok(_) => panic!("an endpoint requiring signed requests registered with an unsigned server"),
        Err(error) => assert!(error.to_string().contains("401"), "{error}"),
    }
}

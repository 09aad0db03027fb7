//! What the gateway checks and sets on a call to a generated service before tonic routes it:
//! the user's interceptors (tonic's interceptor shape) and the default deadline. Health and
//! reflection calls pass untouched, so load balancers and tools need no credentials.

use std::sync::Arc;
use std::time::Duration;

use http::Request;
use tonic::Status;

/// Checks a call before it is forwarded: returns the request, its metadata changed if need be,
/// or the status that refuses the call.
pub(crate) type CallInterceptor =
    Arc<dyn Fn(tonic::Request<()>) -> Result<tonic::Request<()>, Status> + Send + Sync>;

/// The deadline of a call that sends no `grpc-timeout`, carried to the forwarder in the
/// request's extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DefaultDeadline(pub(crate) Duration);

/// The policy applied to the calls of the gateway's services.
#[derive(Clone, Default)]
pub(crate) struct CallPolicy {
    /// `/{service}/` of each generated service served.
    prefixes: Vec<String>,
    interceptors: Vec<CallInterceptor>,
    default_deadline: Option<Duration>,
}

impl CallPolicy {
    pub(crate) fn new(
        services: &[&'static str],
        interceptors: Vec<CallInterceptor>,
        default_deadline: Option<Duration>,
    ) -> Self {
        Self {
            prefixes: services.iter().map(|name| format!("/{name}/")).collect(),
            interceptors,
            default_deadline,
        }
    }

    /// `request` as it goes on to the service, or the status refusing it.
    pub(crate) fn apply<B>(&self, request: Request<B>) -> Result<Request<B>, Status> {
        let path = request.uri().path();
        if !self
            .prefixes
            .iter()
            .any(|prefix| path.starts_with(prefix.as_str()))
        {
            return Ok(request);
        }
        let (mut parts, body) = request.into_parts();
        if !self.interceptors.is_empty() {
            let (method, uri, version) = (parts.method.clone(), parts.uri.clone(), parts.version);
            let mut call = tonic::Request::from_http(Request::from_parts(parts, ()));
            for interceptor in &self.interceptors {
                call = interceptor(call)?;
            }
            let (metadata, extensions, ()) = call.into_parts();
            let (mut rebuilt, ()) = Request::new(()).into_parts();
            rebuilt.method = method;
            rebuilt.uri = uri;
            rebuilt.version = version;
            rebuilt.headers = metadata.into_headers();
            rebuilt.extensions = extensions;
            parts = rebuilt;
        }
        if let Some(deadline) = self.default_deadline {
            parts.extensions.insert(DefaultDeadline(deadline));
        }
        Ok(Request::from_parts(parts, body))
    }
}

/// A refused call's answer: its status in the response headers (a trailers-only response),
/// with the request's content type, so gRPC-Web clients read it as gRPC clients do.
pub(crate) fn refusal<B: Default>(
    status: &Status,
    content_type: Option<http::HeaderValue>,
) -> http::Response<B> {
    let mut response = status.clone().into_http::<B>();
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, content_type);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(path: &str) -> Request<()> {
        Request::post(path)
            .header("authorization", "Bearer good")
            .body(())
            .unwrap()
    }

    #[test]
    fn interceptors_see_only_the_services_calls_and_may_refuse_or_add() {
        let auth: CallInterceptor =
            Arc::new(
                |request: tonic::Request<()>| match request.metadata().get("authorization") {
                    Some(token) if token == "Bearer good" => {
                        let mut request = request;
                        request
                            .metadata_mut()
                            .insert("x-caller", "checked".parse().unwrap());
                        Ok(request)
                    }
                    _ => Err(Status::unauthenticated("who are you?")),
                },
            );
        let policy = CallPolicy::new(&["shop.Cart"], vec![auth], Some(Duration::from_secs(5)));
        let passed = policy.apply(call("/shop.Cart/Add")).unwrap();
        assert_eq!(passed.headers()["x-caller"], "checked");
        assert_eq!(passed.uri().path(), "/shop.Cart/Add");
        assert!(passed.extensions().get::<DefaultDeadline>().is_some());

        let mut anonymous = call("/shop.Cart/Add");
        anonymous.headers_mut().remove("authorization");
        let refused = policy.apply(anonymous).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);

        // Health checks pass without credentials, and untouched.
        let mut health = call("/grpc.health.v1.Health/Check");
        health.headers_mut().remove("authorization");
        let health = policy.apply(health).unwrap();
        assert!(health.headers().get("x-caller").is_none());
        assert!(health.extensions().get::<DefaultDeadline>().is_none());
    }
}

//! Requests through an [`Ingress`]: HTTP to Restate's ingress, from outside any handler.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use http::Method;

use super::{Request, Target, WorkflowHandle};
use crate::codec::Payload;
use crate::ingress::{
    HttpRequest, Ingress, IngressError, IngressInvocation, SendResponse, encode_segment,
    success_body,
};

impl<Req: Payload, Res: Payload> Request<Ingress, Req, Res> {
    /// Calls the handler and waits for its response.
    pub async fn call(self) -> Result<Res, IngressError> {
        let path = self.path("call");
        let (codec, ingress) = (self.target.codec, self.caller.clone());
        let response = ingress.send(self.into_http(path)?).await?;
        let body = success_body(response)?;
        Ok(Res::decode_payload(codec, &body)?)
    }

    /// Enqueues the request without waiting for it to run.
    pub async fn send(self) -> Result<SendResponse, IngressError> {
        let path = self.path("send");
        self.send_to(path).await
    }

    /// Enqueues the request to run after `delay`.
    pub async fn send_after(self, delay: Duration) -> Result<SendResponse, IngressError> {
        let path = format!("{}?delay={}ms", self.path("send"), delay.as_millis());
        self.send_to(path).await
    }

    /// The ingress path of a `call` or `send` (`verb`): `{target}` or `{target}/send`, or in a
    /// scope `restate/scope/{scope}/{verb}/{target}`.
    fn path(&self, verb: &str) -> String {
        let target = target_path(&self.target);
        match (&self.scope, verb) {
            (Some(scope), _) => format!("restate/scope/{}/{verb}/{target}", encode_segment(scope)),
            (None, "send") => format!("{target}/send"),
            (None, _) => target,
        }
    }

    /// With an [idempotency key](Request::idempotency_key): waits for the result of the
    /// invocation this request started (or would have started), without sending it again.
    pub async fn attach(self) -> Result<Res, IngressError> {
        self.by_idempotency_key()?.attach(self.target.codec).await
    }

    /// With an [idempotency key](Request::idempotency_key): the result of the invocation this
    /// request started, if it finished; `None` if it has not.
    pub async fn get_output(self) -> Result<Option<Res>, IngressError> {
        self.by_idempotency_key()?
            .get_output(self.target.codec)
            .await
    }

    fn by_idempotency_key(&self) -> Result<IngressInvocation, IngressError> {
        if self.scope.is_some() {
            return Err(IngressError::Protocol(
                "attaching to a scoped request by idempotency key is not supported; attach by \
                 the invocation id `send` returned"
                    .to_owned(),
            ));
        }
        let Some(idempotency_key) = &self.idempotency_key else {
            return Err(IngressError::Protocol(
                "attaching by idempotency key needs an idempotency key on the request".to_owned(),
            ));
        };
        let target = &self.target;
        let mut path = format!("restate/invocation/{}", encode_segment(&target.service));
        if let Some(key) = &target.key {
            path = format!("{path}/{}", encode_segment(key));
        }
        path = format!(
            "{path}/{}/{}",
            encode_segment(&target.handler),
            encode_segment(idempotency_key)
        );
        Ok(IngressInvocation::new(self.caller.clone(), path))
    }

    async fn send_to(self, path: String) -> Result<SendResponse, IngressError> {
        let ingress = self.caller.clone();
        let response = ingress.send(self.into_http(path)?).await?;
        let body = success_body(response)?;
        serde_json::from_slice(&body)
            .map_err(|e| IngressError::Protocol(format!("cannot read the send response: {e}")))
    }

    fn into_http(self, path: String) -> Result<HttpRequest, IngressError> {
        let body = self
            .input
            .encode_payload(self.target.codec)
            .map_err(IngressError::Request)?;
        let mut headers = self.headers;
        // The ingress refuses an empty body that claims a content type.
        if !body.is_empty() {
            headers.push((
                "content-type".to_owned(),
                self.target.codec.content_type().to_owned(),
            ));
        }
        if let Some(key) = self.idempotency_key {
            headers.push(("idempotency-key".to_owned(), key));
        }
        if let Some(limit_key) = self.limit_key {
            headers.push(("x-restate-limit-key".to_owned(), limit_key));
        }
        crate::telemetry::inject_trace(&mut headers);
        Ok(HttpRequest {
            method: Method::POST,
            url: self.caller.url(&path),
            headers,
            body,
        })
    }
}

impl<Req: Payload, Res: Payload> IntoFuture for Request<Ingress, Req, Res> {
    type Output = Result<Res, IngressError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.call())
    }
}

impl<Res: Payload> WorkflowHandle<Ingress, Res> {
    /// Waits for the workflow's run handler to finish and returns its result.
    pub async fn attach(&self) -> Result<Res, IngressError> {
        self.invocation().attach(self.target.codec).await
    }

    /// The workflow's result if its run handler finished, `None` if it has not.
    pub async fn get_output(&self) -> Result<Option<Res>, IngressError> {
        self.invocation().get_output(self.target.codec).await
    }

    fn invocation(&self) -> IngressInvocation {
        self.caller.workflow(&self.target.service, self.key())
    }
}

/// The ingress path of a handler: `{service}/{handler}`, or `{service}/{key}/{handler}`.
fn target_path(target: &Target) -> String {
    // On every request: pieces pushed into one allocation, not `format!`.
    let service = encode_segment(&target.service);
    let key = target.key.as_deref().map(encode_segment);
    let handler = encode_segment(&target.handler);
    let length = service.len() + key.as_ref().map_or(0, |key| key.len() + 1) + 1 + handler.len();
    let mut path = String::with_capacity(length);
    path.push_str(&service);
    if let Some(key) = &key {
        path.push('/');
        path.push_str(key);
    }
    path.push('/');
    path.push_str(&handler);
    path
}

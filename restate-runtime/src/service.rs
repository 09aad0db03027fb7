//! What a service is to an [`Endpoint`](crate::Endpoint): the [`Service`] trait generated
//! server wrappers (`GreeterServer`) implement, and the discovery metadata they declare.
//!
//! Handler code rarely names any of this: bind the generated wrapper with
//! [`EndpointBuilder::bind`](crate::EndpointBuilder::bind). It is public so that the endpoint's
//! API has no hidden types, and for services written by hand (a proxy, say).

pub use crate::codegen::{
    HandlerDefinition, HandlerFuture, HandlerType, Invocation, OnMaxAttempts, PayloadDefinition,
    RetryPolicy, Service, ServiceDefinition, ServiceType, Settings,
};

//! The bridge from prost-build to the emitter: prost calls the generator for each service of
//! each compiled file, inside the module of its package, with the Rust paths of the message
//! types.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::emit::{self, MethodTypes};
use crate::model::{Codec, Service};

/// Errors the emitter met, kept until prost returns (a service generator cannot fail).
pub(crate) type Failures = Rc<RefCell<Vec<emit::Error>>>;

/// Emits the Restate code of the modelled services into prost's package files.
pub(crate) struct RestateServiceGenerator {
    services: HashMap<String, Service>,
    default_codec: Codec,
    grpc_gateway: bool,
    failures: Failures,
}

impl RestateServiceGenerator {
    /// A generator for `services`; emitter errors are pushed to `failures`.
    pub(crate) fn new(
        services: Vec<Service>,
        default_codec: Codec,
        grpc_gateway: bool,
        failures: Failures,
    ) -> Self {
        Self {
            services: services
                .into_iter()
                .map(|service| (service.full_name.clone(), service))
                .collect(),
            default_codec,
            grpc_gateway,
            failures,
        }
    }
}

impl prost_build::ServiceGenerator for RestateServiceGenerator {
    fn generate(&mut self, service: prost_build::Service, buf: &mut String) {
        let full_name = if service.package.is_empty() {
            service.proto_name.clone()
        } else {
            format!("{}.{}", service.package, service.proto_name)
        };
        // Services of imported files are not part of the model: no code for them.
        let Some(model) = self.services.get(&full_name) else {
            return;
        };
        let types: HashMap<String, MethodTypes> = service
            .methods
            .into_iter()
            .map(|method| {
                let types = MethodTypes {
                    input: method.input_type,
                    output: method.output_type,
                };
                (method.proto_name, types)
            })
            .collect();
        // prost-build formats the whole package file afterwards.
        match emit::service_unformatted(model, self.default_codec, &types, self.grpc_gateway) {
            Ok(code) => buf.push_str(&code),
            Err(error) => self.failures.borrow_mut().push(error),
        }
    }
}

//! Handler types: the defaults of each kind of service and the rules of workflows.

use super::options::HandlerAnnotation;
use super::{HandlerType, ServiceType};

/// The name of the rpc that is a workflow's run handler when no rpc is marked `WORKFLOW_RUN`.
const DEFAULT_RUN_HANDLER: &str = "Run";

/// An rpc as the handler type rules see it.
pub(super) struct Rpc<'a> {
    /// The rpc name as written.
    pub(super) name: &'a str,
    /// Its handler type annotation, if any.
    pub(super) annotation: Option<HandlerAnnotation>,
}

/// A broken rule: the rpc it concerns, if it concerns one, and what is wrong.
pub(super) type Violation = (Option<String>, String);

/// The handler type of each rpc of a service of type `ty`, in order, with defaults applied.
pub(super) fn resolve(
    ty: ServiceType,
    rpcs: &[Rpc<'_>],
) -> Result<Vec<Option<HandlerType>>, Vec<Violation>> {
    match ty {
        ServiceType::Service => plain_service(rpcs),
        ServiceType::VirtualObject => virtual_object(rpcs),
        ServiceType::Workflow => workflow(rpcs),
    }
}

/// Handlers of plain services have no type, and may not be annotated with one.
fn plain_service(rpcs: &[Rpc<'_>]) -> Result<Vec<Option<HandlerType>>, Vec<Violation>> {
    let violations: Vec<Violation> = rpcs
        .iter()
        .filter(|rpc| rpc.annotation.is_some())
        .map(|rpc| {
            (
                Some(rpc.name.to_owned()),
                "handler types are only allowed in virtual objects and workflows; annotate the \
                 service with (restate.service_type) to make it one"
                    .to_owned(),
            )
        })
        .collect();
    if violations.is_empty() {
        Ok(vec![None; rpcs.len()])
    } else {
        Err(violations)
    }
}

/// Handlers of virtual objects are exclusive unless marked shared.
fn virtual_object(rpcs: &[Rpc<'_>]) -> Result<Vec<Option<HandlerType>>, Vec<Violation>> {
    let mut violations = Vec::new();
    let mut types = Vec::with_capacity(rpcs.len());
    for rpc in rpcs {
        let ty = match rpc.annotation {
            None | Some(HandlerAnnotation::Exclusive) => HandlerType::Exclusive,
            Some(HandlerAnnotation::Shared) => HandlerType::Shared,
            Some(HandlerAnnotation::WorkflowRun) => {
                violations.push((
                    Some(rpc.name.to_owned()),
                    "WORKFLOW_RUN is only allowed in workflows; handlers of a virtual object are \
                     EXCLUSIVE or SHARED"
                        .to_owned(),
                ));
                HandlerType::Exclusive
            }
        };
        types.push(Some(ty));
    }
    if violations.is_empty() {
        Ok(types)
    } else {
        Err(violations)
    }
}

/// A workflow has exactly one run handler: the rpc marked `WORKFLOW_RUN`, or, when none is, the
/// rpc named `Run`. Every other handler is shared.
fn workflow(rpcs: &[Rpc<'_>]) -> Result<Vec<Option<HandlerType>>, Vec<Violation>> {
    let mut violations = Vec::new();
    for rpc in rpcs {
        if rpc.annotation == Some(HandlerAnnotation::Exclusive) {
            violations.push((
                Some(rpc.name.to_owned()),
                "handlers of a workflow cannot be EXCLUSIVE; the run handler is WORKFLOW_RUN and \
                 the others are SHARED"
                    .to_owned(),
            ));
        }
    }

    let marked: Vec<&str> = rpcs
        .iter()
        .filter(|rpc| rpc.annotation == Some(HandlerAnnotation::WorkflowRun))
        .map(|rpc| rpc.name)
        .collect();
    let is_run = |rpc: &Rpc<'_>| {
        if marked.is_empty() {
            rpc.name == DEFAULT_RUN_HANDLER && rpc.annotation.is_none()
        } else {
            rpc.annotation == Some(HandlerAnnotation::WorkflowRun)
        }
    };

    if let [first, others @ ..] = marked.as_slice() {
        for other in others {
            violations.push((
                Some((*other).to_owned()),
                format!(
                    "a workflow has exactly one run handler, but {first} is marked WORKFLOW_RUN too"
                ),
            ));
        }
    } else if !rpcs.iter().any(is_run) {
        violations.push(missing_run_handler(rpcs));
    }

    let types = rpcs
        .iter()
        .map(|rpc| {
            Some(if is_run(rpc) {
                HandlerType::WorkflowRun
            } else {
                HandlerType::Shared
            })
        })
        .collect();
    if violations.is_empty() {
        Ok(types)
    } else {
        Err(violations)
    }
}

/// Explains why a workflow has no run handler.
fn missing_run_handler(rpcs: &[Rpc<'_>]) -> Violation {
    let shared_run = rpcs.iter().any(|rpc| {
        rpc.name == DEFAULT_RUN_HANDLER && rpc.annotation == Some(HandlerAnnotation::Shared)
    });
    if shared_run {
        (
            Some(DEFAULT_RUN_HANDLER.to_owned()),
            "the run handler of a workflow cannot be SHARED; drop the annotation, or mark another \
             rpc WORKFLOW_RUN"
                .to_owned(),
        )
    } else {
        (
            None,
            "a workflow needs a run handler: name an rpc `Run`, or annotate one with \
             (restate.handler_type) = WORKFLOW_RUN"
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc(name: &str, annotation: Option<HandlerAnnotation>) -> Rpc<'_> {
        Rpc { name, annotation }
    }

    #[test]
    fn workflow_run_is_found_by_name() {
        let rpcs = [rpc("Run", None), rpc("Status", None)];
        assert_eq!(
            resolve(ServiceType::Workflow, &rpcs).unwrap(),
            [Some(HandlerType::WorkflowRun), Some(HandlerType::Shared)]
        );
    }

    #[test]
    fn a_marked_run_handler_wins_over_the_name() {
        let rpcs = [
            rpc("Run", None),
            rpc("Start", Some(HandlerAnnotation::WorkflowRun)),
        ];
        assert_eq!(
            resolve(ServiceType::Workflow, &rpcs).unwrap(),
            [Some(HandlerType::Shared), Some(HandlerType::WorkflowRun)]
        );
    }

    #[test]
    fn objects_default_to_exclusive() {
        let rpcs = [
            rpc("Add", None),
            rpc("Get", Some(HandlerAnnotation::Shared)),
        ];
        assert_eq!(
            resolve(ServiceType::VirtualObject, &rpcs).unwrap(),
            [Some(HandlerType::Exclusive), Some(HandlerType::Shared)]
        );
    }
}

//! Spawning unnamed actors: durable instances of a template, by name.

use super::core::Inner;
use super::failure::InvokeFailure;
use crate::protocol::spawn::{self as pb, actors};
use crate::protocol::wit::types as wit;

impl Inner {
    pub(super) async fn spawn(&self, request: pb::SpawnRequest) -> Result<(), InvokeFailure> {
        if request.actors.is_empty() {
            return Err(InvokeFailure::BadRequest("the SpawnRequest lists no actors".into()));
        }
        for id in &request.actors {
            self.check_system(&id.system)?;
            if id.name.is_empty() || id.parent.is_empty() {
                return Err(InvokeFailure::BadRequest("each spawned ActorId needs a name and a parent".into()));
            }
        }
        for id in request.actors {
            self.spawn_one(&id.name, &id.parent).await?;
        }
        Ok(())
    }

    /// Records instance `name` of the unnamed actor `parent` (durably), unless it exists.
    pub(super) async fn spawn_one(&self, name: &str, parent: &str) -> Result<(), InvokeFailure> {
        if self.spawned.template_of(name).is_some_and(|existing| &*existing == parent) {
            return Ok(());
        }
        let registry = self.modules.registry();
        let template = registry.get(parent).ok_or_else(|| self.not_found(parent))?;
        if template.definition().kind != wit::Kind::Unnamed {
            return Err(InvokeFailure::BadRequest(format!("`{parent}` is not an unnamed actor; it cannot be spawned")));
        }
        if registry.get(name).is_some() {
            return Err(InvokeFailure::BadRequest(format!("`{name}` is the name of a loaded actor; choose another")));
        }
        // One new instance at a time, and known only once stored: a concurrent spawn of the
        // same name waits for this one's write (and fails with another parent, or tries
        // again if this write failed), and nothing answers or invokes an instance that
        // might not be durable.
        let _spawning = self.spawned.one_at_a_time().await;
        if let Some(existing) = self.spawned.template_of(name) {
            if &*existing == parent {
                return Ok(());
            }
            return Err(InvokeFailure::BadRequest(format!(
                "`{name}` is already an instance of `{existing}`, not of `{parent}`"
            )));
        }
        let id = actors::ActorId { name: name.to_owned(), system: self.system.clone(), parent: parent.to_owned() };
        self.store.record_spawn(id).await.map_err(|error| InvokeFailure::Failed {
            actor: name.to_owned(),
            action: "spawn".into(),
            cause: error.to_string(),
        })?;
        self.spawned.insert(name, parent);
        Ok(())
    }
}

//! State history and restore: reading an actor's stored revisions, and making an older one
//! its current state again.
//!
//! Both go through the actor's mailbox when it is active ([`Control`]), in order with its
//! calls: reading first stores its pending change (a snapshot taken early, so that what is
//! read is what was last written), and restoring stores it too (so that the state being
//! replaced is a revision of its own, and the restore can be undone), writes the old
//! revision as a new one, and activates the actor afresh from it (its warm instance
//! dropped, `init` run again): its next turn sees the restored state.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::actor::{Actor, Control, Turn};
use super::core::Inner;
use super::failure::InvokeFailure;
use super::store::{Revision, RevisionSummary, StateKey, StoreError};
use crate::protocol::spawn as pb;
use crate::wasm::chain::CallChain;

impl Inner {
    /// Revision `revision` of instance `name` (`None`: its current state; revision 0 with
    /// no state if it never stored one).
    pub(super) async fn state_at(
        self: &Arc<Self>,
        name: &str,
        revision: Option<i64>,
    ) -> Result<Revision, InvokeFailure> {
        let key = self.flushed(name).await?;
        match self.store.revision(key, revision).await.map_err(|error| store_failure(name, "state", &error))? {
            Some(found) => Ok(found),
            None => match revision {
                None => Ok(Revision::default()),
                Some(revision) => Err(InvokeFailure::RevisionNotFound { actor: name.to_owned(), revision }),
            },
        }
    }

    /// The kept revisions of instance `name`, newest first.
    pub(super) async fn state_history(self: &Arc<Self>, name: &str) -> Result<Vec<RevisionSummary>, InvokeFailure> {
        let key = self.flushed(name).await?;
        self.store.history(key).await.map_err(|error| store_failure(name, "history", &error))
    }

    /// A `SpawnRequest` with `?revision=N`: spawns the unnamed instances it lists (as
    /// without a revision), then makes revision N the current state of each actor listed.
    pub(super) async fn restore(
        self: &Arc<Self>,
        request: pb::SpawnRequest,
        revision: i64,
    ) -> Result<(), InvokeFailure> {
        if request.actors.is_empty() {
            return Err(InvokeFailure::BadRequest("the SpawnRequest lists no actors".into()));
        }
        for id in &request.actors {
            self.check_system(&id.system)?;
            if id.name.is_empty() {
                return Err(InvokeFailure::BadRequest("each ActorId to restore needs a name".into()));
            }
        }
        for id in request.actors {
            if !id.parent.is_empty() {
                self.spawn_one(&id.name, &id.parent).await?;
            }
            self.resolve(&id.name)?;
            let (reply, answer) = oneshot::channel();
            self.deliver(&id.name, control_turn(self, Control::Restore(revision, reply)))?;
            let restored = answer.await.map_err(|_| InvokeFailure::ShuttingDown)??;
            tracing::info!(actor = %id.name, from = revision, revision = restored, "state restored");
        }
        Ok(())
    }

    /// The store key of instance `name`, once its pending change (if it is active) is
    /// stored.
    async fn flushed(self: &Arc<Self>, name: &str) -> Result<StateKey, InvokeFailure> {
        let target = self.resolve(name)?;
        if self.active.contains(name) {
            let (reply, answer) = oneshot::channel();
            self.deliver(name, control_turn(self, Control::Flush(reply)))?;
            answer.await.map_err(|_| InvokeFailure::ShuttingDown)??;
        }
        Ok(StateKey::of(&target.id))
    }

    /// Does `control` to `actor`, between two of its turns.
    pub(super) async fn control(self: &Arc<Self>, actor: &mut Actor, control: Control) {
        match control {
            Control::Flush(reply) => {
                let _ = reply.send(self.persist(actor).await);
            }
            Control::Restore(revision, reply) => {
                let _ = reply.send(self.restore_actor(actor, revision).await);
            }
        }
    }

    async fn restore_actor(self: &Arc<Self>, actor: &mut Actor, revision: i64) -> Result<i64, InvokeFailure> {
        self.persist(actor).await?;
        let key = StateKey::of(&actor.id);
        let restored = self
            .store
            .restore(key, revision)
            .await
            .map_err(|error| store_failure(actor.name(), "restore", &error))?
            .ok_or_else(|| InvokeFailure::RevisionNotFound { actor: actor.id.name.clone(), revision })?;
        let new_revision = restored.revision;
        actor.refresh_entry(&self.modules.registry());
        self.executor.forget_instance(&actor.entry.module, actor.name());
        *actor = Actor::new(actor.id.clone(), actor.entry.clone(), Some(restored));
        self.init(actor).await;
        Ok(new_revision)
    }
}

/// A turn that carries `control` instead of a call.
fn control_turn(inner: &Inner, control: Control) -> Turn {
    Turn::control(control, CallChain::new(inner.new_deadline()))
}

fn store_failure(actor: &str, action: &str, error: &StoreError) -> InvokeFailure {
    InvokeFailure::Failed { actor: actor.to_owned(), action: action.into(), cause: error.to_string() }
}

//! A value derived from one generation of something that changes (the module set's JSON
//! codec, built from its registry), built on first use and cached until the next change.
//!
//! A build races the change that makes it stale: it reads generation `g`, builds, and
//! meanwhile `g + 1` arrives. Tagging the value with the generation it was built from means
//! that such a late build is never taken for the newer generation's value.

use std::sync::Arc;

use arc_swap::ArcSwapOption;

/// The value built for the latest generation asked for, if any.
pub struct PerGeneration<T> {
    built: ArcSwapOption<(u64, Arc<T>)>,
}

impl<T> Default for PerGeneration<T> {
    fn default() -> Self {
        PerGeneration { built: ArcSwapOption::empty() }
    }
}

impl<T> PerGeneration<T> {
    /// The value of `generation`: the cached one if it was built for that generation, else
    /// `build()`, cached unless a value of a newer generation was cached meanwhile.
    /// `generation` must be read before what `build` reads, so that a change between the
    /// two yields a value newer than its tag (rebuilt once more), never older.
    pub fn get(&self, generation: u64, build: impl FnOnce() -> T) -> Arc<T> {
        if let Some(built) = self.built.load().as_ref()
            && built.0 == generation
        {
            return built.1.clone();
        }
        let value = Arc::new(build());
        let fresh = Arc::new((generation, value.clone()));
        self.built.rcu(|current| match current {
            Some(newer) if newer.0 > generation => Some(newer.clone()),
            _ => Some(fresh.clone()),
        });
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_built_from_an_older_generation_is_never_served_for_a_newer_one() {
        let cache = PerGeneration::default();
        // A build of generation 1 finishes after generation 2 arrived, before anyone asked
        // for 2: it is cached, but not taken for generation 2's value.
        assert_eq!(*cache.get(1, || "one"), "one");
        assert_eq!(*cache.get(2, || "two"), "two");
        assert_eq!(*cache.get(2, || "again"), "two", "built once per generation");

        // A build of generation 3 finishes after generation 4's was cached: its caller gets
        // what it built, and generation 4's value stays cached.
        let late = cache.get(3, || {
            assert_eq!(*cache.get(4, || "four"), "four");
            "late three"
        });
        assert_eq!(*late, "late three");
        assert_eq!(*cache.get(4, || "rebuilt"), "four");
    }
}

//! The resource limiter of a store: one memory cap for all of an instance's linear memories
//! together (a per-memory cap would let a component with four memories use four times
//! it), a table cap, and bounds on instances, tables and memories.

use wasmtime::ResourceLimiter;

/// Raised (as a trap) when a guest grows its memory past the cap.
#[derive(Debug, thiserror::Error)]
#[error("memory growth to {desired} bytes would take the instance to {total} bytes, over its cap of {cap}")]
pub struct MemoryCapExceeded {
    /// The size one memory asked for.
    pub desired: usize,
    /// What all memories would total.
    pub total: usize,
    /// The cap.
    pub cap: usize,
}

/// Caps what one store's guest may allocate.
#[derive(Debug)]
pub struct SandboxLimiter {
    memory_cap: usize,
    memory_total: usize,
    table_elements: usize,
}

impl SandboxLimiter {
    /// A limiter allowing `memory_cap` bytes of linear memory in all and tables of at most
    /// `table_elements` elements.
    pub fn new(memory_cap: usize, table_elements: usize) -> Self {
        SandboxLimiter { memory_cap, memory_total: 0, table_elements }
    }

    /// The linear memory of all the instance's memories together, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory_total
    }
}

impl ResourceLimiter for SandboxLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.memory_total - current.min(self.memory_total) + desired;
        if total > self.memory_cap {
            return Err(wasmtime::Error::new(MemoryCapExceeded { desired, total, cap: self.memory_cap }));
        }
        self.memory_total = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_elements)
    }

    fn instances(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_applies_to_all_memories_together() {
        let mut limiter = SandboxLimiter::new(100, 10);
        assert!(limiter.memory_growing(0, 60, None).unwrap(), "first memory");
        let error = limiter.memory_growing(0, 60, None).unwrap_err();
        assert!(error.downcast_ref::<MemoryCapExceeded>().is_some(), "a second memory may not exceed the total");
        assert!(limiter.memory_growing(0, 40, None).unwrap());
        assert!(limiter.memory_growing(60, 60, None).unwrap(), "no growth");
        assert!(limiter.memory_growing(40, 41, None).is_err());
        assert!(limiter.table_growing(0, 10, None).unwrap());
        assert!(!limiter.table_growing(10, 11, None).unwrap());
    }
}

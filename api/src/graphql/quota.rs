//! A cap on the live subscriptions one caller holds at once, over all its
//! WebSocket connections: each subscription takes a [`Permit`], returned
//! when its stream ends or the client leaves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::ErrorExtensions;

/// Who a subscription counts against: `user:<subject>`, or `ip:<address>`
/// for anonymous callers (per connection data).
#[derive(Debug, Clone)]
pub struct CallerKey(pub String);

/// The per-caller counts, shared by the schema.
#[derive(Clone)]
pub struct SubscriptionQuota {
    max: usize,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

/// One held subscription; dropping it frees the slot.
pub struct Permit {
    key: String,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

impl SubscriptionQuota {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            held: Arc::default(),
        }
    }

    /// Takes a slot for `key`, or refuses with `RATE_LIMITED`.
    pub fn acquire(&self, key: &CallerKey) -> async_graphql::Result<Permit> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(key.0.clone()).or_default();
        if *count >= self.max {
            return Err(async_graphql::Error::new(format!(
                "at most {} live subscriptions per caller at once; end one first",
                self.max
            ))
            .extend_with(|_, x| x.set("code", "RATE_LIMITED")));
        }
        *count += 1;
        Ok(Permit {
            key: key.0.clone(),
            held: self.held.clone(),
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_counted_per_caller_and_returned_on_drop() {
        let quota = SubscriptionQuota::new(2);
        let (ada, bob) = (CallerKey("user:ada".into()), CallerKey("user:bob".into()));
        let first = quota.acquire(&ada).unwrap();
        let _second = quota.acquire(&ada).unwrap();
        assert!(quota.acquire(&ada).is_err(), "a third is refused");
        assert!(quota.acquire(&bob).is_ok(), "others are not affected");
        drop(first);
        assert!(quota.acquire(&ada).is_ok(), "a freed slot can be taken again");
    }
}

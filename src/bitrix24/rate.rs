//! Client-side leaky bucket mirroring Bitrix24's per-portal limit, so we slow down before the
//! portal answers QUERY_LIMIT_EXCEEDED.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct LeakyBucket {
    capacity: f64,
    per_sec: f64,
    level: f64,
    last: Instant,
}

impl LeakyBucket {
    pub fn new(capacity: f64, per_sec: f64) -> Self {
        Self {
            capacity,
            per_sec,
            level: 0.0,
            last: Instant::now(),
        }
    }

    fn leak(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.level = (self.level - elapsed * self.per_sec).max(0.0);
        self.last = now;
    }

    /// Adds `cost` requests if they fit; otherwise says how long to wait before trying again.
    pub fn try_take(&mut self, cost: f64, now: Instant) -> Result<(), Duration> {
        self.leak(now);
        let cost = cost.min(self.capacity);
        if self.level + cost <= self.capacity {
            self.level += cost;
            Ok(())
        } else {
            let excess = self.level + cost - self.capacity;
            Err(Duration::from_secs_f64(excess / self.per_sec))
        }
    }

    /// After the portal said QUERY_LIMIT_EXCEEDED: treat the bucket as full.
    pub fn fill(&mut self) {
        self.level = self.capacity;
        self.last = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_wait() {
        let t0 = Instant::now();
        let mut b = LeakyBucket::new(3.0, 2.0);
        for _ in 0..3 {
            assert!(b.try_take(1.0, t0).is_ok());
        }
        let wait = b.try_take(1.0, t0).expect_err("bucket full");
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6);
        assert!(b.try_take(1.0, t0 + Duration::from_millis(500)).is_ok());
    }
}

//! Injected faults, a portal that is down, and the portal's leaky-bucket rate limit.

use super::*;

impl BitrixState {
    /// The next fault for `method` (a rule for any method matches REST calls only, when `rest`).
    pub(super) fn take_fault(&mut self, method: &str, rest: bool) -> Option<BitrixFault> {
        self.faults.take(|m| match m {
            None => rest,
            Some(m) => normalize_method(m) == method,
        })
    }

    pub(super) fn bucket_take(&mut self, cost: f64) -> bool {
        let Some((burst, per_sec)) = self.cfg.rate_limit else {
            return true;
        };
        let now = Instant::now();
        let elapsed = now.duration_since(self.bucket_at).as_secs_f64();
        self.bucket_level = (self.bucket_level - elapsed * per_sec).max(0.0);
        self.bucket_at = now;
        if self.bucket_level + cost > burst + 1e-9 {
            return false;
        }
        self.bucket_level += cost;
        true
    }
}

impl BitrixSim {
    /// The next `times` REST calls matching `method` (None = any REST method; OAuth refreshes only
    /// match `Some("oauth.token")`) get `fault`. Rules are consumed in the order they were added.
    pub fn inject(&self, method: Option<&str>, fault: BitrixFault, times: usize) {
        self.st()
            .faults
            .push(method.map(str::to_string), fault, times);
    }
    /// Injected faults not yet consumed.
    pub fn pending_faults(&self) -> usize {
        self.st().faults.pending()
    }
    /// While down, every REST call answers 500 INTERNAL_SERVER_ERROR (recorded, no effect).
    pub fn set_down(&self, down: bool) {
        self.st().down = down;
    }
    pub fn set_rate_limit(&self, limit: Option<(f64, f64)>) {
        let mut st = self.st();
        st.cfg.rate_limit = limit;
        st.bucket_level = 0.0;
    }
}

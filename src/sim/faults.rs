//! The injected-fault queue every simulator keeps: rules consumed in the order they were added,
//! each for the next `times` matching calls.

use std::collections::VecDeque;

/// The fault controls of a simulator whose state (`self.st()`) holds `faults: FaultQueue<F>` and
/// `down: bool`: `inject`, `inject_for`, `pending_faults`, `set_down`.
macro_rules! fault_controls {
    ($sim:ty, $fault:ty) => {
        impl $sim {
            /// The next `times` API calls (any call) get `fault`.
            pub fn inject(&self, fault: $fault, times: usize) {
                self.st().faults.push(None, fault, times);
            }
            /// The next `times` calls of `call` (its method or action name) get `fault`. Rules
            /// are consumed in the order added.
            pub fn inject_for(&self, call: &str, fault: $fault, times: usize) {
                self.st().faults.push(Some(call.to_string()), fault, times);
            }
            pub fn pending_faults(&self) -> usize {
                self.st().faults.pending()
            }
            /// Every call fails as the provider's server does when it is down.
            pub fn set_down(&self, down: bool) {
                self.st().down = down;
            }
        }
    };
}
pub(crate) use fault_controls;

struct Rule<F> {
    /// The method the rule is for (None: any, as the simulator decides).
    method: Option<String>,
    fault: F,
    remaining: usize,
}

pub(crate) struct FaultQueue<F> {
    rules: VecDeque<Rule<F>>,
}

impl<F> Default for FaultQueue<F> {
    fn default() -> Self {
        Self {
            rules: VecDeque::new(),
        }
    }
}

impl<F: Clone> FaultQueue<F> {
    /// The next `times` calls that `method` matches get `fault` (nothing when `times` is 0).
    pub(crate) fn push(&mut self, method: Option<String>, fault: F, times: usize) {
        if times > 0 {
            self.rules.push_back(Rule {
                method,
                fault,
                remaining: times,
            });
        }
    }

    /// Consume one use of the first rule whose method `matches` accepts.
    pub(crate) fn take(&mut self, matches: impl Fn(Option<&str>) -> bool) -> Option<F> {
        let idx = self
            .rules
            .iter()
            .position(|r| r.remaining > 0 && matches(r.method.as_deref()))?;
        let rule = &mut self.rules[idx];
        rule.remaining -= 1;
        let f = rule.fault.clone();
        if rule.remaining == 0 {
            self.rules.remove(idx);
        }
        Some(f)
    }

    /// Uses not yet consumed.
    pub(crate) fn pending(&self) -> usize {
        self.rules.iter().map(|r| r.remaining).sum()
    }
}

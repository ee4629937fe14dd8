//! The injected-fault queue every simulator keeps: rules consumed in the order they were added,
//! each for the next `times` matching calls.

use std::collections::VecDeque;

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

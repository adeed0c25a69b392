//! Global budgets across agents: at most N rollouts with a canary out at once
//! among rollouts carrying a label (`env=prod:2`). The controller checks them
//! when it grants a mandate; a rollout over budget waits in the queue.

use std::collections::BTreeMap;
use std::str::FromStr;

/// One budget: rollouts labelled `key=value` may hold at most `max` mandates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanaryBudget {
    pub key: String,
    pub value: String,
    pub max: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid budget {input:?}: {reason} (expected LABEL=VALUE:N, e.g. env=prod:2)")]
pub struct BudgetParseError {
    pub input: String,
    pub reason: &'static str,
}

impl FromStr for CanaryBudget {
    type Err = BudgetParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| BudgetParseError {
            input: s.to_string(),
            reason,
        };
        let (sel, max) = s.rsplit_once(':').ok_or_else(|| err("missing :N"))?;
        let (key, value) = sel.split_once('=').ok_or_else(|| err("missing LABEL="))?;
        if key.is_empty() || value.is_empty() {
            return Err(err("empty label or value"));
        }
        let max = max.parse().map_err(|_| err("N is not a whole number"))?;
        Ok(CanaryBudget {
            key: key.into(),
            value: value.into(),
            max,
        })
    }
}

impl CanaryBudget {
    pub fn applies(&self, labels: &BTreeMap<String, String>) -> bool {
        labels.get(&self.key) == Some(&self.value)
    }
}

/// All budgets; a grant must fit every one that applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Budgets(pub Vec<CanaryBudget>);

impl Budgets {
    /// The first budget a new canary with `labels` would exceed, given the
    /// labels of the canaries out now.
    pub fn exceeded<'a>(
        &self,
        labels: &BTreeMap<String, String>,
        active: impl Iterator<Item = &'a BTreeMap<String, String>> + Clone,
    ) -> Option<&CanaryBudget> {
        self.0.iter().filter(|b| b.applies(labels)).find(|b| {
            let used = active.clone().filter(|l| b.applies(l)).count();
            used >= b.max
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let b: CanaryBudget = "env=prod:2".parse().unwrap();
        assert_eq!(
            (b.key.as_str(), b.value.as_str(), b.max),
            ("env", "prod", 2)
        );
        assert!("env=prod".parse::<CanaryBudget>().is_err());
        assert!("prod:2".parse::<CanaryBudget>().is_err());
        assert!("env=prod:x".parse::<CanaryBudget>().is_err());
    }

    #[test]
    fn counts_only_matching_labels() {
        let budgets = Budgets(vec!["env=prod:1".parse().unwrap()]);
        let prod: BTreeMap<_, _> = [("env".to_string(), "prod".to_string())].into();
        let dev: BTreeMap<_, _> = [("env".to_string(), "dev".to_string())].into();
        assert!(budgets.exceeded(&prod, [&dev].into_iter()).is_none());
        assert!(budgets.exceeded(&prod, [&prod].into_iter()).is_some());
        assert!(budgets.exceeded(&dev, [&prod].into_iter()).is_none());
    }
}

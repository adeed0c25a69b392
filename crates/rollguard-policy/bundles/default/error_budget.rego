# Rule 5: no new rollout while the service's error budget is spent, i.e.
# input.environment.error_budget_remaining[service] is at or below
# data.error_budget.min_remaining_to_start (default 0). A service with no
# budget reported is not restricted.
package rollguard

deny contains msg if {
	input.action.kind == "start"
	service := input.rollout.service
	remaining := input.environment.error_budget_remaining[service]
	remaining <= data.error_budget.min_remaining_to_start
	msg := sprintf("service %v has spent its error budget (%v remaining): no new rollout", [service, remaining])
}

# Rule 3: a person's approval to go above data.approval.above_weight percent
# in the environments data.approval.envs (default: above 50% in env=prod).
# Once input.approvals is non-empty the step may proceed.
package rollguard

require_approval contains msg if {
	input.rollout.env in data.approval.envs
	raises_weight
	target_weight > data.approval.above_weight
	count(input.approvals) == 0
	msg := sprintf(
		"raising %v to %v%% in env=%v needs a person's approval above %v%% (rollguard approve %v)",
		[input.rollout.name, target_weight, input.rollout.env, data.approval.above_weight, input.rollout.name],
	)
}

# Approvals come from people, never from agents.
deny contains msg if {
	input.action.kind == "approve"
	input.principal.kind != "person"
	msg := sprintf("only a person may approve; %v is an agent", [input.principal.name])
}

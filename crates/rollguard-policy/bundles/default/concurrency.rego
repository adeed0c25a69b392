# Rule 4: at most data.max_concurrent_canaries[env] canaries at once in an
# environment. `start` is denied when input.environment.canaries_in_use[env]
# has reached the limit. Environments without a limit are not restricted.
package rollguard

deny contains msg if {
	input.action.kind == "start"
	env := input.rollout.env
	limit := data.max_concurrent_canaries[env]
	in_use := object.get(input.environment.canaries_in_use, env, 0)
	in_use >= limit
	msg := sprintf("env=%v already runs %v canaries, the maximum is %v: start denied", [env, in_use, limit])
}

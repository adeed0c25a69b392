# Rule 2: freeze windows, and the global pause.
#
# During a window of data.freeze_windows (or while the controller reports
# input.environment.freeze_active) no weight increase and no promotion.
# A global pause (input.environment.global_pause, the big red button) also
# stops new rollouts and resumes. Rollback and abort stay possible.
package rollguard

active_freezes contains window.name if {
	some window in data.freeze_windows
	freeze_applies(window)
	now := time.parse_rfc3339_ns(input.environment.now)
	now >= time.parse_rfc3339_ns(window.start)
	now < time.parse_rfc3339_ns(window.end)
}

active_freezes contains "controller freeze" if input.environment.freeze_active

freeze_applies(window) if not window.envs

freeze_applies(window) if input.rollout.env in window.envs

deny contains msg if {
	raises_weight
	some name in active_freezes
	msg := sprintf("freeze %q is active: weight increases and promotion are denied", [name])
}

blocked_by_global_pause if raises_weight

blocked_by_global_pause if input.action.kind in {"start", "resume"}

deny contains msg if {
	input.environment.global_pause
	blocked_by_global_pause
	msg := sprintf("global pause is active: %v is denied (no start, resume, weight increase or promotion)", [input.action.kind])
}

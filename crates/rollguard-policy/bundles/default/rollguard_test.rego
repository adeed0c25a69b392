# Unit tests for the default bundle: `rollguard policy test DIR` runs every
# `test_*` rule. Each test patches a realistic base input with object.union.
package rollguard_test

import data.rollguard

base := {
	"action": {"kind": "set_weight", "from_weight": 10, "to_weight": 25},
	"rollout": {
		"name": "checkout-v42",
		"service": "checkout",
		"namespace": "shop",
		"labels": {"env": "staging"},
		"env": "staging",
	},
	"state": {"step_index": 2, "step_kind": "set_weight", "weight": 10, "elapsed_s": 600, "step_elapsed_s": 60},
	"verdicts": {"error_rate": {"decision": "pass", "e_value": 0.3, "estimate": -0.001, "interval": [-0.004, 0.002]}},
	"environment": {
		"now": "2026-11-03T10:15:00Z",
		"hour": 10,
		"weekday": "tuesday",
		"freeze_active": false,
		"canaries_in_use": {"prod": 1, "staging": 1},
		"error_budget_remaining": {"checkout": 0.4},
		"global_pause": false,
	},
	"principal": {"kind": "agent", "name": "agent-eu-1", "roles": []},
	"approvals": [],
}

with_patch(patch) := object.union(base, patch)

prod := {"rollout": {"labels": {"env": "prod"}, "env": "prod"}}

night := {"environment": {"now": "2026-11-03T23:30:00Z", "hour": 23}}

year_end := [{"name": "year-end", "start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z"}]

in_year_end := {"environment": {"now": "2026-12-24T10:00:00Z"}}

denied_with(fragment) if {
	some msg in rollguard.deny
	contains(msg, fragment)
}

# --- base case -------------------------------------------------------------

test_base_input_is_allowed if {
	count(rollguard.deny) == 0 with input as base
	count(rollguard.require_approval) == 0 with input as base
}

# --- rule 1: maximum weight outside business hours --------------------------

test_business_hours_allow_raising_weight if {
	count(rollguard.deny) == 0 with input as with_patch({"action": {"to_weight": 40}})
}

test_night_denies_weight_above_maximum if {
	denied_with("outside business hours") with input as with_patch(object.union(night, {"action": {"to_weight": 25}}))
}

test_night_allows_weight_up_to_maximum if {
	count(rollguard.deny) == 0 with input as with_patch(object.union(night, {"action": {"from_weight": 5, "to_weight": 10}}))
}

test_weekend_denies_promote if {
	denied_with("outside business hours") with input as with_patch({
		"action": {"kind": "promote", "to_weight": 100},
		"environment": {"weekday": "saturday"},
	})
}

test_night_allows_lowering_weight if {
	count(rollguard.deny) == 0 with input as with_patch(object.union(night, {"action": {"from_weight": 40, "to_weight": 20}}))
}

# --- rule 2: freeze windows and the global pause ------------------------------

test_freeze_window_denies_weight_increase if {
	denied_with("freeze \"year-end\"") with input as with_patch(in_year_end)
		with data.freeze_windows as year_end
}

test_freeze_window_denies_promote if {
	denied_with("freeze") with input as with_patch(object.union(in_year_end, {"action": {"kind": "promote"}}))
		with data.freeze_windows as year_end
}

test_freeze_window_is_over_at_its_end if {
	count(rollguard.deny) == 0 with input as with_patch({"environment": {"now": "2027-01-04T00:00:00Z"}})
		with data.freeze_windows as year_end
}

test_freeze_window_limited_to_other_env_does_not_apply if {
	windows := [object.union(year_end[0], {"envs": ["prod"]})]
	count(rollguard.deny) == 0 with input as with_patch(in_year_end)
		with data.freeze_windows as windows
}

test_controller_freeze_denies_weight_increase if {
	denied_with("controller freeze") with input as with_patch({"environment": {"freeze_active": true}})
}

test_freeze_allows_rollback if {
	count(rollguard.deny) == 0 with input as with_patch({
		"action": {"kind": "rollback", "from_weight": 25, "to_weight": 0},
		"environment": {"freeze_active": true},
	})
}

test_global_pause_denies_start_and_weight_increase if {
	denied_with("global pause") with input as with_patch({"environment": {"global_pause": true}})
	denied_with("global pause") with input as with_patch({"action": {"kind": "start", "from_weight": 0, "to_weight": 0}, "environment": {"global_pause": true}})
}

test_global_pause_allows_pause if {
	count(rollguard.deny) == 0 with input as with_patch({"action": {"kind": "pause", "to_weight": 10}, "environment": {"global_pause": true}})
}

# --- rule 3: approval above 50% in prod --------------------------------------

test_prod_above_50_requires_approval if {
	msgs := rollguard.require_approval with input as with_patch(object.union(prod, {"action": {"from_weight": 50, "to_weight": 75}}))
	some msg in msgs
	contains(msg, "approval")
}

test_prod_above_50_with_approval_is_allowed if {
	patch := object.union(prod, {
		"action": {"from_weight": 50, "to_weight": 75},
		"approvals": [{"by": "alice", "comment": "dashboards look fine"}],
	})
	count(rollguard.require_approval) == 0 with input as with_patch(patch)
	count(rollguard.deny) == 0 with input as with_patch(patch)
}

test_prod_up_to_50_needs_no_approval if {
	count(rollguard.require_approval) == 0 with input as with_patch(object.union(prod, {"action": {"to_weight": 50}}))
}

test_staging_above_50_needs_no_approval if {
	count(rollguard.require_approval) == 0 with input as with_patch({"action": {"to_weight": 75}})
}

test_agent_may_not_approve if {
	denied_with("only a person may approve") with input as with_patch({"action": {"kind": "approve"}})
}

# --- rule 4: concurrent canaries per environment -----------------------------

test_start_at_concurrency_limit_is_denied if {
	denied_with("maximum is 2") with input as with_patch(object.union(prod, {
		"action": {"kind": "start", "from_weight": 0, "to_weight": 0},
		"environment": {"canaries_in_use": {"prod": 2}},
	}))
}

test_start_below_concurrency_limit_is_allowed if {
	count(rollguard.deny) == 0 with input as with_patch(object.union(prod, {"action": {"kind": "start", "from_weight": 0, "to_weight": 0}}))
}

# --- rule 5: error budget --------------------------------------------------

test_start_with_spent_error_budget_is_denied if {
	denied_with("spent its error budget") with input as with_patch({
		"action": {"kind": "start", "from_weight": 0, "to_weight": 0},
		"environment": {"error_budget_remaining": {"checkout": 0}},
	})
}

test_start_with_error_budget_left_is_allowed if {
	count(rollguard.deny) == 0 with input as with_patch({"action": {"kind": "start", "from_weight": 0, "to_weight": 0}})
}

# --- rule 6: who may promote ----------------------------------------------

test_release_manager_may_promote_in_prod if {
	patch := object.union(prod, {
		"action": {"kind": "promote", "from_weight": 50, "to_weight": 100},
		"principal": {"kind": "person", "name": "alice", "roles": ["release-manager"]},
		"approvals": [{"by": "alice", "comment": "ship it"}],
	})
	count(rollguard.deny) == 0 with input as with_patch(patch)
	count(rollguard.require_approval) == 0 with input as with_patch(patch)
}

test_person_without_promoter_role_may_not_promote if {
	denied_with("may not promote") with input as with_patch({
		"action": {"kind": "promote", "to_weight": 100},
		"principal": {"kind": "person", "name": "bob", "roles": ["viewer"]},
	})
}

test_agent_may_promote_in_staging if {
	count(rollguard.deny) == 0 with input as with_patch({"action": {"kind": "promote", "to_weight": 100}})
	count(rollguard.require_approval) == 0 with input as with_patch({"action": {"kind": "promote", "to_weight": 100}})
}

test_agent_promotion_in_prod_waits_for_approval if {
	msgs := rollguard.require_approval with input as with_patch(object.union(prod, {"action": {"kind": "promote", "from_weight": 50, "to_weight": 100}}))
	some msg in msgs
	contains(msg, "may not promote in env=prod")
}

# Helpers shared by the rules of rollguard's default bundle.
#
# Every rule adds messages to `deny` or `require_approval`; rollguard decides
# deny > require_approval > allow. Rules read their settings from data.yaml.
package rollguard

# The canary weight (percent) the action would leave in place.
target_weight := 100 if {
	input.action.kind == "promote"
} else := input.action.to_weight

# Actions that send more traffic to the canary.
raises_weight if input.action.kind == "promote"

raises_weight if {
	input.action.kind == "set_weight"
	input.action.to_weight > input.action.from_weight
}

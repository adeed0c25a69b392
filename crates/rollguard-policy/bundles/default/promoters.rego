# Rule 6: only some principals may promote.
#
# A person may promote if they hold a role in data.promoters.roles or are named
# in data.promoters.names; anyone else is denied. An agent may promote on its
# own except in data.promoters.agents_need_approval_in (default: prod), where
# its promotion waits for a person's approval (a downgrade, not a denial).
package rollguard

named_promoter if input.principal.name in data.promoters.names

promoter_by_role if {
	some role in input.principal.roles
	role in data.promoters.roles
}

deny contains msg if {
	input.action.kind == "promote"
	input.principal.kind == "person"
	not named_promoter
	not promoter_by_role
	msg := sprintf(
		"%v may not promote: needs one of the roles %v or to be listed in data.promoters.names",
		[input.principal.name, data.promoters.roles],
	)
}

require_approval contains msg if {
	input.action.kind == "promote"
	input.principal.kind == "agent"
	not named_promoter
	input.rollout.env in data.promoters.agents_need_approval_in
	count(input.approvals) == 0
	msg := sprintf("agent %v may not promote in env=%v without a person's approval", [input.principal.name, input.rollout.env])
}

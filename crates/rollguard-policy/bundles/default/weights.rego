# Rule 1: a maximum canary weight outside business hours.
#
# Configure with data.business_hours {start, end, weekdays} and
# data.max_weight_outside_business_hours. Hours are those of
# input.environment.hour / weekday, computed in data.timezone.
package rollguard

in_business_hours if {
	hours := data.business_hours
	input.environment.weekday in hours.weekdays
	input.environment.hour >= hours.start
	input.environment.hour < hours.end
}

deny contains msg if {
	raises_weight
	not in_business_hours
	limit := data.max_weight_outside_business_hours
	target_weight > limit
	msg := sprintf(
		"canary weight %v%% is above %v%%, the maximum outside business hours (%v %v:00, business hours %v:00-%v:00)",
		[target_weight, limit, input.environment.weekday, input.environment.hour, data.business_hours.start, data.business_hours.end],
	)
}

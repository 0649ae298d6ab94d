/*
 * fuzz_rules.c - libFuzzer harness for the rules loader (libconfig text).
 *
 * The input is loaded as a rules file. Loading fails with an error text
 * and nothing returned, or succeeds; rules that load must build a desk
 * calendar and answer the lookups the processor makes (reasons,
 * outcomes, unreachable proposals, held notices) for every code they
 * name. Seeds: rules/partnership.conf and tests/fuzz/seed/rules.
 */
#define _GNU_SOURCE /* memfd_create */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "calendar.h"
#include "fuzz_input_file.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reasons(const struct rule_reason_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		if (rules_find_reason(list, list->items[i].code) == NULL)
			__builtin_trap(); /* a code it holds is found */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct rules *rules = NULL;
	struct cal *cal = NULL;
	tdk_err err = { 0 };

	if (rules_load(fuzz_input_file(data, size), &rules, &err) != TDK_OK) {
		if (rules != NULL || err.text[0] == '\0')
			__builtin_trap(); /* a refusal says why, returns nothing */
		return 0;
	}
	if (rules_build_calendar(rules, "Asia/Tokyo", &cal, &err) == TDK_OK)
		cal_free(cal);
	check_reasons(&rules->not_accepted);
	check_reasons(&rules->web_end);
	check_reasons(&rules->product_end);
	for (size_t i = 0; i < rules->n_outcomes; i++)
		if (rules_find_outcome(rules, rules->outcomes[i].code) == NULL)
			__builtin_trap();
	for (int impact = 0; impact <= 3; impact++)
		for (int verifiable = -1; verifiable <= 1; verifiable++) {
			(void)rules_unreachable_proposal(rules, impact, verifiable, true);
			(void)rules_unreachable_proposal(rules, impact, verifiable, false);
		}
	for (char **n = rules->notices.hold_without_key; n != NULL && *n != NULL; n++)
		if (!rules_hold_without_key(rules, *n))
			__builtin_trap();
	rules_free(rules);
	return 0;
}

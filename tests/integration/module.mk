# Programs the integration tests (tests/integration/*.t) run against the
# daemons; the pattern rule that links them is in tests/module.mk.
TEST_TARGETS += $(BUILD)/tests/integration/oct_recipes

# cobjvm's VM-object test programs (issue 5), run in the guest by
# tests/vm/cobjvm_vm.t, cobjvm_stress.t and cobjvm_limits.t; built by tests/module.mk's
# pattern rule for $(BUILD)/tests/vm/%.
TEST_TARGETS += $(BUILD)/tests/vm/cobjvm_vm
TEST_TARGETS += $(BUILD)/tests/vm/cobjvm_limits

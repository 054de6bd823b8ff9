# cobjvm's VM-object test program (issue 5), run in the guest by
# tests/vm/cobjvm_vm.t and cobjvm_stress.t; built by tests/module.mk's
# pattern rule for $(BUILD)/tests/vm/%.
TEST_TARGETS += $(BUILD)/tests/vm/cobjvm_vm

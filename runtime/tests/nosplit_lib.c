int cap_test_nosplit_placeholder(void) { return 0; }

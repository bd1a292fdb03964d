# Shared rules for the samples: each sample's Makefile sets PROGRAMS (names
# of its .c files without the extension) and includes this file.
# By default built with Capriccio's compiler driver; `make CC=gcc` builds
# them against plain kernel threads for comparison.
HERE := $(dir $(abspath $(firstword $(MAKEFILE_LIST))))
ROOT := $(abspath $(HERE)/../..)

# CC ?= would never apply: make always defines CC (as cc).
ifeq ($(origin CC),default)
CC := $(ROOT)/bin/capcc
endif
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -pthread
LDLIBS += -pthread

BUILD := $(HERE)build
BINS := $(addprefix $(BUILD)/,$(PROGRAMS))

all: $(BINS)

# Rebuild everything when the compiler or flags change (e.g. CC=gcc, then capcc).
CC_STAMP := $(BUILD)/cc.stamp
$(CC_STAMP): FORCE | $(BUILD)
	@echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(LDLIBS)' | cmp -s - $@ || \
		echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(LDLIBS)' > $@

$(BUILD)/%.o: $(HERE)%.c $(wildcard $(HERE)*.h) $(CC_STAMP) | $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Relink when the runtime, or what capcc links with it, changes.
# (A copy of a sample outside the checkout has none of them: it builds with whatever CC is.)
RUNTIME_LIB := $(wildcard $(addprefix $(ROOT)/runtime/build/,libcapriccio.a tls_mark.o interpose.list) $(ROOT)/bin/capcc)

$(BUILD)/%: $(BUILD)/%.o $(EXTRA_OBJS) $(RUNTIME_LIB)
	$(CC) $(LDFLAGS) $(filter-out $(RUNTIME_LIB),$^) $(LDLIBS) -o $@

$(BUILD):
	mkdir -p $@

clean:
	rm -rf $(BUILD)

.PHONY: all clean FORCE
.SECONDARY:

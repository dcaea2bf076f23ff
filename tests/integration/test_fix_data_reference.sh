#!/usr/bin/env bash
# fix-data against pandas (issue 4, acceptance 1): tests/reference/datafix_check.sh
# generates data with several seeds and compares every cell of the fixed file
# with pandas (quantile linear, median/mean, clip) to 1e-9 relative.
source "$(dirname "$0")/lib/common.sh"
"$SH_ROOT/tests/reference/datafix_check.sh" "$SELFHEAL" 1,2,3,4,5,6,7,8

/*
 * runner.c — runs the Check unit suites.
 *
 * The suites are listed in build/gen/suites.h (`#define SUITE_LIST X(a) X(b)`),
 * generated from the names of tests/unit/check_<name>.c; each exports
 * <name>_suite(). With arguments, only the suites named run:
 * `check_runner workqueue spec`. `make part` builds it with one suite
 * (-DSINGLE_SUITE=name) and no generated list.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SINGLE_SUITE
#define SUITE_LIST X(SINGLE_SUITE)
#else
#include "build/gen/suites.h"
#endif

#define DECLARE_(name) Suite *name##_suite(void);
#define X(name) DECLARE_(name)
SUITE_LIST
#undef X

struct suite_entry {
    const char *name;
    Suite *(*make)(void);
};

#define ENTRY_(name) {#name, name##_suite},
#define X(name) ENTRY_(name)
static const struct suite_entry suites[] = {SUITE_LIST{NULL, NULL}};
#undef X

static int wanted(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    SRunner *sr = NULL;
    for (const struct suite_entry *e = suites; e->name; e++) {
        if (!wanted(e->name, argc, argv))
            continue;
        if (!sr)
            sr = srunner_create(e->make());
        else
            srunner_add_suite(sr, e->make());
    }
    if (!sr) {
        fprintf(stderr, "check_runner: no suite matches\n");
        return 2;
    }
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Check suite: the command-line helpers of apps/ (strict numbers, out-of-range values such as a seed of 1e300, the kill-point variable). */
#include <check.h>
#include <stdlib.h>

#include "ig_cli.h"
#include "ig_test_util.h"

START_TEST(test_integers_strict)
{
    int64_t v = 42;
    static const char *const bad[] = {"", " 1", "1 ", "1e300", "1.0", "0x10", "9223372036854775808", "-1", "12abc", "+", "1e3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(!ig_cli_parse_i64(bad[i], 0, INT64_MAX, &v), "'%s' accepted", bad[i]);
        ck_assert_int_eq(v, 42);
    }
    ck_assert(!ig_cli_parse_i64(NULL, 0, 10, &v));
    ck_assert(ig_cli_parse_i64("9223372036854775807", 0, INT64_MAX, &v) && v == INT64_MAX);
    ck_assert(ig_cli_parse_i64("7", 7, 7, &v) && v == 7);
    ck_assert(!ig_cli_parse_i64("8", 7, 7, &v));
}
END_TEST

START_TEST(test_numbers_strict)
{
    double v = 42;
    static const char *const bad[] = {"", " 1", "1e300", "1e400", "-1e400", "nan", "inf", "-inf", "1,5", "0.5x", "11"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(!ig_cli_parse_f(bad[i], 0.0, 10.0, &v), "'%s' accepted", bad[i]);
        ck_assert(v == 42);
    }
    ck_assert(ig_cli_parse_f("1e-3", 0.0, 10.0, &v) && v == 1e-3);
    ck_assert(ig_cli_parse_f("10", 0.0, 10.0, &v) && v == 10.0);
}
END_TEST

START_TEST(test_kill_variable)
{
    static const char *const bad[] = {"rename:0", "rename:x", "bogus", "commit:-1", "renamedx", "a-very-long-point-name:1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("IGRADV_TEST_KILL_AT", bad[i], 1);
        ck_assert_msg(!ig_cli_test_kill_install("test_cli"), "'%s' accepted", bad[i]);
    }
    setenv("IGRADV_TEST_KILL_AT", "renamed:3", 1);
    ck_assert(ig_cli_test_kill_install("test_cli"));
    unsetenv("IGRADV_TEST_KILL_AT");
    ck_assert(ig_cli_test_kill_install("test_cli"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    IG_TEST_CASE(s, "cli", 0, test_integers_strict, test_numbers_strict, test_kill_variable);
    return ig_test_run(s);
}

/* lib/models/stats.c against published values, and the observation aggregates. */
#include "test_support.h"

#include "models/internal.h"

#include <math.h>
#include <string.h>

#define assert_near(a, b, tol)                                                                 \
    do {                                                                                       \
        double a_ = (a), b_ = (b);                                                             \
        if (!(fabs(a_ - b_) <= (tol)))                                                         \
            print_error("%s = %.10g, expected %.10g\n", #a, a_, b_);                           \
        assert_true(fabs(a_ - b_) <= (tol));                                                   \
    } while (0)

static void normal_cdf(void **state)
{
    (void)state;
    assert_near(mlops__stats_normal_cdf(0), 0.5, 1e-12);
    assert_near(mlops__stats_normal_cdf(1.959963985), 0.975, 1e-9);
    assert_near(mlops__stats_normal_cdf(-1), 0.158655254, 1e-9);
    assert_near(mlops__stats_normal_cdf(3), 0.998650102, 1e-9);
}

static void t_cdf(void **state)
{
    (void)state;
    /* df = 1 is the Cauchy distribution: F(1) = 0.75. */
    assert_near(mlops__stats_t_cdf(1.0, 1), 0.75, 1e-10);
    assert_near(mlops__stats_t_cdf(0.0, 7), 0.5, 1e-12);
    /* Critical values from t tables. */
    assert_near(mlops__stats_t_cdf(2.228138852, 10), 0.975, 1e-8);
    assert_near(mlops__stats_t_cdf(-2.228138852, 10), 0.025, 1e-8);
    assert_near(mlops__stats_t_cdf(1.812461123, 10), 0.95, 1e-8);
    assert_near(mlops__stats_t_cdf(2.042272456, 30), 0.975, 1e-8);
    /* Large df tends to the normal. */
    assert_near(mlops__stats_t_cdf(1.959963985, 1e7), 0.975, 1e-6);
    /* Non-integer df (Welch). */
    double a = mlops__stats_t_cdf(2.0, 12.5), lo = mlops__stats_t_cdf(2.0, 12),
           hi = mlops__stats_t_cdf(2.0, 13);
    assert_true(a > lo && a < hi);
}

static void chi2_and_betas(void **state)
{
    (void)state;
    assert_near(mlops__stats_chi2_cdf(3.841458821, 1), 0.95, 1e-8);
    assert_near(mlops__stats_chi2_cdf(5.991464547, 2), 0.95, 1e-8);
    assert_near(mlops__stats_chi2_cdf(18.30703805, 10), 0.95, 1e-8);
    assert_near(mlops__stats_chi2_cdf(10.82756617, 1), 0.999, 1e-8);
    /* k = 2 is exponential: 1 - exp(-x/2). */
    assert_near(mlops__stats_chi2_cdf(3.0, 2), 1 - exp(-1.5), 1e-12);
    assert_near(mlops__stats_incbeta(2, 3, 0.4), 0.5248, 1e-10);
    assert_near(mlops__stats_incbeta(1, 1, 0.3), 0.3, 1e-12);
    assert_near(mlops__stats_gamma_p(1, 2), 1 - exp(-2), 1e-12);
    assert_true(isnan(mlops__stats_t_cdf(1, 0)));
    assert_true(isnan(mlops__stats_chi2_cdf(1, -1)));
}

static void tests_on_data(void **state)
{
    (void)state;
    double p;
    /* 200/1000 vs 250/1000, pooled p = 0.225: se = 0.0186749, z = 2.67740, p = 0.00742. */
    double z = mlops__stats_ztest_prop(200, 1000, 250, 1000, &p);
    assert_near(z, 2.67740, 1e-4);
    assert_near(p, 0.00742, 1e-4);
    double df;
    double t = mlops__stats_welch(10, 4, 30, 11, 9, 40, &df, &p);
    /* se = sqrt(4/30 + 9/40) = 0.59861; t = 1.67053; df = 0.128403 / 0.0019111 = 67.188 */
    assert_near(t, 1.67053, 1e-4);
    assert_near(df, 67.188, 0.01);
    assert_true(p > 0.09 && p < 0.11);
    double obs[2] = {5000, 5000}, share[2] = {0.5, 0.5};
    double chi2 = mlops__stats_chi2_gof(obs, share, 2, &p);
    assert_near(chi2, 0, 1e-12);
    assert_near(p, 1, 1e-12);
    obs[0] = 5200;
    obs[1] = 4800;
    chi2 = mlops__stats_chi2_gof(obs, share, 2, &p);
    assert_near(chi2, 16.0, 1e-9);
    assert_true(p < 0.001);
}

static void aggregates(void **state)
{
    (void)state;
    mm_agg a, b;
    mm_agg_init(&a);
    mm_agg_init(&b);
    for (int i = 1; i <= 1000; i++)
        mm_agg_add(i <= 500 ? &a : &b, (double)i);
    mm_agg_merge(&a, &b);
    assert_int_equal(a.n, 1000);
    assert_near(mm_agg_stat(&a, "mean"), 500.5, 1e-9);
    assert_near(mm_agg_stat(&a, "min"), 1, 0);
    assert_near(mm_agg_stat(&a, "max"), 1000, 0);
    assert_near(mm_agg_stat(&a, "p50"), 500, 500 * 0.085);
    assert_near(mm_agg_stat(&a, "p95"), 950, 950 * 0.085);
    assert_near(mm_agg_stat(&a, "stddev"), 288.8194, 1e-3);
    assert_near(mm_agg_stat(&a, "count"), 1000, 0);
    mm_agg_init(&b);
    assert_true(isnan(mm_agg_stat(&b, "mean")));
    mm_agg_add(&b, 0);
    mm_agg_add(&b, -3);
    mm_agg_add(&b, 1);
    mm_agg_add(&b, 0);
    assert_near(mm_agg_stat(&b, "p50"), 0, 0);
    assert_near(mm_agg_stat(&b, "p99"), 1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normal_cdf),     cmocka_unit_test(t_cdf),
        cmocka_unit_test(chi2_and_betas), cmocka_unit_test(tests_on_data),
        cmocka_unit_test(aggregates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

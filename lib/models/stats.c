/*
 * Statistics for A/B summaries: the normal, Student's t and chi-square distributions,
 * and the tests built on them.
 *
 * The t CDF uses the regularised incomplete beta function (Abramowitz & Stegun 26.7.1:
 * P(|T| > t) = I_{df/(df+t^2)}(df/2, 1/2)), evaluated by its continued fraction
 * (A&S 26.5.8) with the modified Lentz method. The chi-square CDF is the regularised
 * lower incomplete gamma P(k/2, x/2) (A&S 26.4.19), by its power series below a+1 and
 * by the continued fraction for Q above (A&S 6.5.29, 6.5.31).
 */
#include "models.h"

#include <math.h>

#define EPS 1e-15
#define TINY 1e-300
#define MAX_ITER 500

double mlops__stats_normal_cdf(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

/* One step of the modified Lentz method (Thompson & Barnett, 1986) for the partial
 * numerator an and denominator bn: updates c and d and returns the factor the
 * convergent is multiplied by. TINY keeps c and d away from zero. */
static double lentz_step(double an, double bn, double *c, double *d)
{
    *d = bn + an * *d;
    if (fabs(*d) < TINY)
        *d = TINY;
    *c = bn + an / *c;
    if (fabs(*c) < TINY)
        *c = TINY;
    *d = 1.0 / *d;
    return *d * *c;
}

/* The continued fraction of I_x(a, b), valid (fast) for x < (a + 1) / (a + b + 2). */
static double beta_cf(double a, double b, double x)
{
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < TINY)
        d = TINY;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= MAX_ITER; m++) {
        int m2 = 2 * m;
        /* Each m contributes an even and an odd term of A&S 26.5.8. */
        h *= lentz_step(m * (b - m) * x / ((qam + m2) * (a + m2)), 1.0, &c, &d);
        double del = lentz_step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)), 1.0, &c, &d);
        h *= del;
        if (fabs(del - 1.0) < EPS)
            break;
    }
    return h;
}

double mlops__stats_incbeta(double a, double b, double x)
{
    if (!(a > 0) || !(b > 0) || isnan(x))
        return NAN;
    if (x <= 0)
        return 0.0;
    if (x >= 1)
        return 1.0;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    double bt = exp(lbt);
    if (x < (a + 1.0) / (a + b + 2.0))
        return bt * beta_cf(a, b, x) / a;
    return 1.0 - bt * beta_cf(b, a, 1.0 - x) / b;
}

double mlops__stats_gamma_p(double a, double x)
{
    if (!(a > 0) || isnan(x))
        return NAN;
    if (x <= 0)
        return 0.0;
    double gln = lgamma(a);
    if (x < a + 1.0) {
        double ap = a, sum = 1.0 / a, del = sum;
        for (int n = 0; n < MAX_ITER; n++) {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * EPS)
                break;
        }
        return sum * exp(-x + a * log(x) - gln);
    }
    double b = x + 1.0 - a, c = 1.0 / TINY, d = 1.0 / b, h = d;
    for (int i = 1; i <= MAX_ITER; i++) {
        b += 2.0;
        double del = lentz_step(-i * (i - a), b, &c, &d);
        h *= del;
        if (fabs(del - 1.0) < EPS)
            break;
    }
    return 1.0 - exp(-x + a * log(x) - gln) * h;
}

double mlops__stats_t_cdf(double t, double df)
{
    if (!(df > 0) || isnan(t))
        return NAN;
    if (isinf(t))
        return t > 0 ? 1.0 : 0.0;
    double tail = 0.5 * mlops__stats_incbeta(df / 2.0, 0.5, df / (df + t * t));
    return t > 0 ? 1.0 - tail : tail;
}

double mlops__stats_chi2_cdf(double x, double k)
{
    if (!(k > 0) || isnan(x))
        return NAN;
    if (x <= 0)
        return 0.0;
    return mlops__stats_gamma_p(k / 2.0, x / 2.0);
}

double mlops__stats_ztest_prop(double x1, double n1, double x2, double n2, double *p)
{
    *p = 1.0;
    if (n1 <= 0 || n2 <= 0)
        return 0.0;
    double p1 = x1 / n1, p2 = x2 / n2, pooled = (x1 + x2) / (n1 + n2);
    double se = sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2));
    if (!(se > 0))
        return 0.0;
    double z = (p2 - p1) / se;
    *p = 2.0 * (1.0 - mlops__stats_normal_cdf(fabs(z)));
    return z;
}

double mlops__stats_welch(double m1, double v1, double n1, double m2, double v2, double n2,
                          double *df, double *p)
{
    *p = 1.0;
    *df = 0.0;
    if (n1 < 2 || n2 < 2)
        return 0.0;
    double a = v1 / n1, b = v2 / n2, se2 = a + b;
    if (!(se2 > 0))
        return 0.0;
    double t = (m2 - m1) / sqrt(se2);
    /* Welch–Satterthwaite degrees of freedom. */
    *df = se2 * se2 / (a * a / (n1 - 1.0) + b * b / (n2 - 1.0));
    *p = 2.0 * (1.0 - mlops__stats_t_cdf(fabs(t), *df));
    return t;
}

double mlops__stats_chi2_gof(const double *observed, const double *expected_share, int k,
                             double *p)
{
    double total = 0, chi2 = 0;
    *p = 1.0;
    for (int i = 0; i < k; i++)
        total += observed[i];
    if (k < 2 || total <= 0)
        return 0.0;
    for (int i = 0; i < k; i++) {
        double e = total * expected_share[i];
        if (e > 0)
            chi2 += (observed[i] - e) * (observed[i] - e) / e;
    }
    *p = 1.0 - mlops__stats_chi2_cdf(chi2, (double)(k - 1));
    return chi2;
}

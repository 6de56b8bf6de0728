package io.trelliskv.bench;

import java.util.SplittableRandom;

/**
 * Zipf-distributed integers in [0, n): index i (rank i + 1) is drawn with probability proportional to
 * (i + 1)^-s. Exponent 0 is the uniform distribution.
 *
 * <p>Rejection-inversion (W. Hörmann and G. Derflinger, "Rejection-inversion to generate variates from
 * monotone discrete distributions", ACM TOMACS 6(3), 1996), as in Apache Commons RNG's
 * RejectionInversionZipfSampler: constant time per sample whatever n, no table, and on average well
 * under 1.1 draws of the uniform per sample. The hat function is h(x) = x^-s, integrated to H; a
 * uniform u between H(n + 1/2) and H(3/2) - 1 is mapped back through H's inverse to a real x, rounded
 * to k, and k is accepted when it lies close enough to x or when u falls under the k's own area
 * H(k + 1/2) - h(k). Immutable: the caller supplies the random source (one per thread).
 */
public final class ZipfSampler {

    private final int n;
    private final double exponent;
    private final double hIntegralX1;
    private final double hIntegralN;
    private final double s;

    public ZipfSampler(int n, double exponent) {
        if (n < 1) {
            throw new IllegalArgumentException("n must be at least 1, not " + n);
        }
        if (!(exponent >= 0) || Double.isInfinite(exponent)) {
            throw new IllegalArgumentException("the exponent must be finite and at least 0, not " + exponent);
        }
        this.n = n;
        this.exponent = exponent;
        if (exponent > 0) {
            hIntegralX1 = hIntegral(1.5) - 1.0;
            hIntegralN = hIntegral(n + 0.5);
            s = 2 - hIntegralInverse(hIntegral(2.5) - h(2));
        } else {
            hIntegralX1 = hIntegralN = s = 0;
        }
    }

    public int n() {
        return n;
    }

    public double exponent() {
        return exponent;
    }

    /** The next index in [0, n); index 0 is the most frequent. */
    public int sample(SplittableRandom random) {
        if (exponent == 0) {
            return random.nextInt(n);
        }
        while (true) {
            // u uniform in (H(n + 1/2), H(3/2) - 1]; nextDouble is in [0, 1).
            double u = hIntegralN + random.nextDouble() * (hIntegralX1 - hIntegralN);
            double x = hIntegralInverse(u);
            long k = (long) (x + 0.5);
            if (k < 1) {
                k = 1;
            } else if (k > n) {
                k = n;
            }
            if (k - x <= s || u >= hIntegral(k + 0.5) - h(k)) {
                return (int) (k - 1);
            }
        }
    }

    /** The exact probability of index i, for tests: (i + 1)^-s over the generalised harmonic number. */
    public double probability(int i) {
        double norm = 0;
        for (int k = n; k >= 1; k--) {
            norm += Math.pow(k, -exponent);
        }
        return Math.pow(i + 1, -exponent) / norm;
    }

    /** H(x) = (x^(1-s) - 1) / (1 - s), or log x when s = 1, computed stably around s = 1. */
    private double hIntegral(double x) {
        double logX = Math.log(x);
        return helper2((1 - exponent) * logX) * logX;
    }

    /** h(x) = x^-s. */
    private double h(double x) {
        return Math.exp(-exponent * Math.log(x));
    }

    /** The inverse of H. */
    private double hIntegralInverse(double x) {
        double t = x * (1 - exponent);
        if (t < -1) {
            t = -1; // rounding can push t just below -1, where log1p is undefined
        }
        return Math.exp(helper1(t) * x);
    }

    /** log(1 + x) / x, with its Taylor series near 0. */
    private static double helper1(double x) {
        return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
    }

    /** (exp(x) - 1) / x, with its Taylor series near 0. */
    private static double helper2(double x) {
        return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x));
    }
}

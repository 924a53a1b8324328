#!/usr/bin/env python3
"""Fits the two polynomials of `verfc` (Sources/Heed/Kernels/VectorMath.swift) and checks the
whole function in float32 emulation. Needs numpy, mpmath and scipy; not part of the build.

- |x| < 0.84375: erf(x)/x − 1 = P(x²), degree 5.
- |x| ≥ 0.84375: R(x) = ln(x·erfc(x)·e^{x²}) + 0.5625 as a degree-9 polynomial in
  v = 1/(1 + x) − T0 on [0.84375, 10.06] (the offset 0.5625 and the exact split of −x² are
  fdlibm's; the variable 1/(1 + x) converges far faster than fdlibm's 1/x²: 2⁻²⁷ at degree 9).

Both are near-minimax least-squares fits on Chebyshev nodes (values from mpmath at 30
digits). Coefficients are rounded to float32 one at a time from the highest, refitting the
lower ones after each rounding, so the rounding error is absorbed. The emulation reproduces the
Swift code operation by operation (Estrin's scheme for all three polynomials) (numpy float32 arithmetic is IEEE, no FMA, as Swift's) and
prints the worst ulp error against scipy's double erfc per range.
"""
import numpy as np
import mpmath as mp
import scipy.special as sp

mp.mp.dps = 30
f32 = np.float32
C, XMAX, OFFSET = 0.84375, 10.06, 0.5625


def fit_rounded(v, ys, deg):
    """Least squares in monomials of v, rounded to float32 from the top coefficient down."""
    coef, resid = np.zeros(deg + 1), ys.copy()
    for j in range(deg, -1, -1):
        cj, *_ = np.linalg.lstsq(np.vander(v, j + 1, increasing=True), resid, rcond=None)
        coef[j] = float(f32(cj[j]))
        resid = resid - coef[j] * v ** j
    return coef, np.max(np.abs(resid))


def cheb_nodes(lo, hi, n):
    k = np.arange(n)
    return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)


tlo, thi = 1 / (1 + XMAX), 1 / (1 + C)
T0 = float(f32((tlo + thi) / 2))
tt = cheb_nodes(tlo, thi, 1500)
R = np.array([float(mp.log(x * mp.erfc(x) * mp.exp(x * x)) + OFFSET) for x in 1 / tt - 1])
rc, rerr = fit_rounded(tt - T0, R, 9)

xx = cheb_nodes(0, C, 800)
P = np.array([float(mp.erf(x) / x - 1) for x in xx])
pc, perr = fit_rounded(xx * xx, P, 5)

print(f"T0 = {np.float32(T0)!r}")
print(f"R (v^0 … v^9), max |error| 2^{np.log2(rerr):.1f}:", [repr(f32(c)) for c in rc])
print(f"P (z^0 … z^5), max |error| 2^{np.log2(perr):.1f}:", [repr(f32(c)) for c in pc])

# --- float32 emulation of verfc -------------------------------------------------------------
EXP = [f32(c) for c in [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                        1.6666665459e-1, 5.0000001201e-1]]
MAGIC = f32(12582912)


def vexp_split(hi, lo):
    t = (hi + lo) * f32(1.4426950408889634) + MAGIC
    n = t - MAGIC
    r = hi - n * f32(0.693359375)
    r = r - n * f32(-2.12194440e-4)
    r = r + lo
    z = r * r   # Estrin, as in the Swift code (Horner chains of constants mis-vectorise there)
    p = ((r * EXP[0] + EXP[1]) * z + (r * EXP[2] + EXP[3])) * z + (r * EXP[4] + EXP[5])
    p = p * z + r + f32(1)
    ni = t.view(np.int32) - np.int32(MAGIC.view(np.int32))
    return p * ((ni + 127) << 23).astype(np.int32).view(np.float32)


def verfc(x):
    x = x.astype(np.float32)
    with np.errstate(all="ignore"):
        ax = np.abs(x)
        z = x * x
        z2 = z * z
        P = [f32(c) for c in pc]
        y = ((z * P[5] + P[4]) * z2 + (z * P[3] + P[2])) * z2 + (z * P[1] + P[0])
        xy = x * y
        h = np.where(x >= f32(0.25), f32(0.5), f32(1)).astype(f32)
        small = h - ((x - (f32(1) - h)) + xy)
        small = np.where(x >= f32(0.5), (f32(1) - x) - xy, small)
        s = (ax.view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32)
        v = f32(1) / (f32(1) + ax) - f32(T0)
        v2 = v * v
        v4 = v2 * v2
        Q = [f32(c) for c in rc]
        a = [v * Q[2 * k + 1] + Q[2 * k] for k in range(5)]
        q = ((a[4] * v4 + (a[3] * v2 + a[2])) * v4) + (a[1] * v2 + a[0])
        e = vexp_split(-s * s - f32(OFFSET), (s - ax) * (s + ax) + q) / ax
        e = np.where(ax > f32(9.3), f32(0), e)
        big = np.where(x < 0, f32(2) - e, e)
        return np.where(ax >= f32(C), big, small)


xs = np.concatenate([np.linspace(-10, 9.19, 2_000_001).astype(np.float32),
                     np.random.default_rng(1).uniform(-10, 9.19, 1_000_000).astype(np.float32)])
truth = sp.erfc(xs.astype(np.float64))
ulp = 2.0 ** (np.maximum(np.floor(np.log2(truth)), -126) - 23)
err = np.abs(verfc(xs).astype(np.float64) - truth) / ulp
for lo, hi in [(-10, -C), (-C, 0), (0, 0.25), (0.25, 0.5), (0.5, C), (C, 2), (2, 5), (5, 9.19)]:
    m = (xs >= lo) & (xs < hi)
    i = np.argmax(err[m])
    print(f"[{lo:8.5f}, {hi:8.5f}): worst {err[m][i]:.3f} ulp at x = {xs[m][i]!r}")

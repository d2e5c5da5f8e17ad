"""The independent-prior logistic model's log density, written by hand in numba and cached on disk.

nutpie samples a PyMC model through a numba function that PyTensor generates,
and numba cannot cache it (it "uses dynamic globals"): every new process
spends 6-20 s compiling it before a single draw. For the model most fits use
(one prior family on every coefficient, the regularised horseshoe or
domain shrinkage, any number of groupings of non-centred intercepts, nested
or crossed, cohort or case-control design) the log density and
its gradient are short enough to write out. These functions are plain
module-level numba C callbacks with ``cache=True``: the first process
compiles them once (about 1.5 s) into ``__pycache__`` (or
``NUMBA_CACHE_DIR``), and every later process loads them in milliseconds;
where numba finds no writable folder, each process compiles them (see
:data:`CACHE`). nutpie drives them exactly as it drives the code it compiles
itself (same C signature, same sampler).

The density is the one :func:`~bayes_ubpr.model._build.build_from_inputs`
builds, term for term (``tests/test_kernel.py`` checks the log density and
its gradient against PyMC's at random points, and draws against the PyMC
path). Everything else (varying slopes, mixed families, missing values
modelled in the model) goes through PyMC.

The model's numbers travel in one float64 buffer: a header of
:data:`HEADER` scalars, then per-factor arrays, the outcome and the
standardised design column by column, and for a grouped model with G
groupings each grouping's level index of every patient (into all groupings'
levels concatenated) and each level's grouping, and under domain shrinkage
each factor's domain (see :func:`bayes_ubpr.model._kernel_model.pack`). The
loops over patients read the design and the levels column by column and run
in the machine's vector registers: the exponential and logarithm they need are
written out here (:func:`_exp_negative`, :func:`_log1p_unit`) because numba's
call into libm takes one number at a time.
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from bayes_ubpr.exceptions import PerformanceWarning

FAMILY_CODES = {"normal": 0.0, "student_t": 1.0, "laplace": 2.0}
"""Prior families the kernel evaluates, by the code it reads from the buffer (the families of
:data:`bayes_ubpr.model._kernel_model.KERNEL_FAMILIES`)."""

NO_PREVALENCE, FIXED_PREVALENCE, BETA_PREVALENCE = 0.0, 1.0, 2.0
"""How the population prevalence enters: not at all (cohort), as a constant, or as a Beta-distributed parameter."""

HEADER = 24
"""Scalars before the per-factor arrays (see :func:`~bayes_ubpr.model._kernel_model.pack`), named below."""
(
    N_ROWS,
    N_FACTORS,
    COEF_FAMILY,
    INTERCEPT_FAMILY,
    INTERCEPT_MU,
    INTERCEPT_SIGMA,
    INTERCEPT_NU,
    PREVALENCE_MODE,
    PREVALENCE_A,
    PREVALENCE_B,
    PREVALENCE_LOGIT,
    LOG_SAMPLING_RATIO,
    N_GROUPS,
    GROUP_SD_SCALE,
    STRUCTURE,
    HORSESHOE_TAU0,
    SLAB_A,
    SLAB_B,
    N_GROUPINGS,
    N_DOMAINS,
    CENTRED,
    DOMAIN_GLOBAL_SCALE,
    DOMAIN_SPREAD,
) = range(23)

INDEPENDENT, HORSESHOE, DOMAINS = 0.0, 1.0, 2.0
"""The coefficients' prior: one family per coefficient, the regularised horseshoe
(:class:`~bayes_ubpr.Horseshoe`), or partial pooling within domains (:class:`~bayes_ubpr.DomainShrinkage`,
centred or not as :attr:`~bayes_ubpr.model._build.ModelInputs.centred` says)."""

_DOUBLES = types.CPointer(types.double)
LOGP_SIGNATURE = types.int64(types.uint64, _DOUBLES, _DOUBLES, _DOUBLES, types.voidptr)
"""nutpie's C signature of a log density: (dimension, position, gradient out, log density out, user data)."""

EXPAND_SIGNATURE = types.int64(types.uint64, types.uint64, _DOUBLES, _DOUBLES, types.voidptr)
"""nutpie's C signature of the map from a position to the stored variables."""

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_HALF_NORMAL = 0.5 * math.log(2.0 / math.pi)


def _caching_possible() -> bool:
    """Whether numba finds a folder to cache this module's functions in (with ``cache=True`` it raises if not)."""
    from numba.core.caching import FunctionCache

    try:
        FunctionCache(_caching_possible)
    except RuntimeError:
        return False
    return True


CACHE = _caching_possible()
"""Whether the compiled kernel is kept on disk. Where no folder is writable (a read-only installation
without a writable home), it is compiled in every process instead, about 1.5 s."""
if not CACHE:
    warnings.warn(
        "numba finds no writable folder to cache bayes_ubpr's log density in, so every process compiles it "
        "(about 1.5 s); set NUMBA_CACHE_DIR to a writable folder to keep it.",
        PerformanceWarning,
        stacklevel=2,
    )


@numba.njit(cache=CACHE, inline="always")
def _prior_term(family: float, x: float, mu: float, sigma: float, nu: float) -> tuple[float, float]:
    """Log density of one prior at ``x`` and its derivative (PyMC's Normal, StudentT, Laplace)."""
    z = (x - mu) / sigma
    if family == 0.0:
        return -0.5 * z * z - math.log(sigma) - _LOG_SQRT_2PI, -z / sigma
    if family == 1.0:
        constant = math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(nu * math.pi)
        logp = constant - math.log(sigma) - 0.5 * (nu + 1.0) * math.log1p(z * z / nu)
        return logp, -(nu + 1.0) * z / (sigma * (nu + z * z))
    sign = 1.0 if z > 0.0 else -1.0 if z < 0.0 else 0.0
    return -math.log(2.0 * sigma) - abs(z), -sign / sigma


@numba.njit(cache=CACHE, inline="always")
def _log_half_normal(u: float, scale: float) -> tuple[float, float]:
    """HalfNormal(scale) at x = exp(u), with the log transform's Jacobian, and its derivative in u."""
    ratio = math.exp(u) / scale
    return _LOG_HALF_NORMAL - math.log(scale) - 0.5 * ratio * ratio + u, 1.0 - ratio * ratio


@numba.njit(cache=CACHE, inline="always")
def _log_inverse_gamma(u: float, a: float, b: float) -> tuple[float, float]:
    """InverseGamma(a, b) at x = exp(u), with the log transform's Jacobian, and its derivative in u."""
    b_over_x = b * math.exp(-u)
    return a * math.log(b) - math.lgamma(a) - a * u - b_over_x, -a + b_over_x


@numba.njit(cache=CACHE, inline="always")
def _horseshoe(position: np.ndarray, k: int, tau0: float) -> tuple[float, float, float]:
    """Return the regularised horseshoe's global scale tau, slab variance c^2 and the block's first index.

    The block holds, as the PyMC model's value variables: log of local_scale_normal (k), log of
    local_scale_inverse_gamma (k), log of global_scale_normal, log of global_scale_inverse_gamma, log of
    slab_variance, and z (k).
    """
    start = 1
    tau = tau0 * math.exp(position[start + 2 * k] + 0.5 * position[start + 2 * k + 1])
    slab = math.exp(position[start + 2 * k + 2])
    return tau, slab, start


@numba.njit(cache=CACHE, inline="always")
def _log1p_exp(x: float) -> float:
    """log(1 + exp(x)) without overflow."""
    return x + math.log1p(math.exp(-x)) if x > 0.0 else math.log1p(math.exp(x))


@numba.njit(cache=CACHE, inline="always")
def _n_dim(buffer: np.ndarray) -> int:
    """Length of a position.

    Alpha, the coefficients, the group SDs' logs (one per grouping) and the levels' z (if grouped), and the
    prevalence's log odds (if Beta).
    """
    grouped = int(buffer[N_GROUPINGS]) + int(buffer[N_GROUPS])
    return 1 + _n_coefficient_block(buffer) + grouped + int(buffer[PREVALENCE_MODE] == BETA_PREVALENCE)


@numba.njit(cache=CACHE, inline="always")
def _n_coefficient_block(buffer: np.ndarray) -> int:
    """Return the number of sampled values of the coefficients' block.

    beta_std (k); the horseshoe's 3k + 3; domain shrinkage's log global scale, log spread, the D domains' z and
    the k coefficients' z (or, centred, beta_std).
    """
    k = int(buffer[N_FACTORS])
    if buffer[STRUCTURE] == HORSESHOE:
        return 3 * k + 3
    if buffer[STRUCTURE] == DOMAINS:
        return 2 + int(buffer[N_DOMAINS]) + k
    return k


@numba.njit(cache=CACHE, inline="always")
def _domain_of(buffer: np.ndarray) -> np.ndarray:
    """Each factor's domain (an index into the domains), the buffer's last k numbers under domain shrinkage."""
    k = int(buffer[N_FACTORS])
    return buffer[buffer.shape[0] - k :]


@numba.njit(cache=CACHE, inline="always")
def _n_expanded(buffer: np.ndarray) -> int:
    """Length of the stored variables.

    Alpha, beta_std, beta, [prevalence], three intercepts, and [group_sd (one per grouping), group_z,
    group_offset].
    """
    grouped = int(buffer[N_GROUPINGS]) + 2 * int(buffer[N_GROUPS])
    beta_prevalence = int(buffer[PREVALENCE_MODE] == BETA_PREVALENCE)
    k = int(buffer[N_FACTORS])
    horseshoe = 4 * k + 4 if buffer[STRUCTURE] == HORSESHOE else 0
    domains = 0
    if buffer[STRUCTURE] == DOMAINS:  # global_scale, domain_spread, domain_z, [z], domain_scale
        domains = 2 + 2 * int(buffer[N_DOMAINS]) + (k if buffer[CENTRED] == 0.0 else 0)
    return 4 + 2 * k + beta_prevalence + grouped + horseshoe + domains


@intrinsic
def _float_from_bits(typingctx, bits):  # type: ignore[no-untyped-def]
    """Return the float64 whose IEEE 754 bits are the int64 ``bits`` (a bit cast: free in vector registers)."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


_LN2_HIGH, _LN2_LOW = 6.93147180369123816490e-01, 1.90821492927058770002e-10
"""ln 2 in two parts, the first with its last 32 bits zero, so that ``n * _LN2_HIGH`` is exact (Cody and Waite;
the constants of fdlibm's ``exp``)."""
_EXP_TAYLOR = tuple(1.0 / math.factorial(i) for i in range(14))


@numba.njit(cache=CACHE, fastmath={"contract"}, error_model="numpy")
def _exp_negative(a: float) -> float:
    """exp(-a) for a >= 0 (a above 700 taken as 700: below 1e-304, it changes nothing this module adds it to).

    Written out so that a loop over patients vectorises (libm's ``exp`` is one call per number): -a = n ln 2 + r
    with |r| <= ln 2 / 2, exp(r) by its Taylor polynomial of degree 13 (truncation below 4e-18), times 2^n built
    from its bits. Within one or two units in the last place of ``math.exp`` (``tests/test_kernel.py``).
    """
    x = -min(a, 700.0)
    n = math.floor(x * (1.0 / math.log(2.0)) + 0.5)
    r = (x - n * _LN2_HIGH) - n * _LN2_LOW
    p = _EXP_TAYLOR[13]
    for power in range(12, -1, -1):
        p = p * r + _EXP_TAYLOR[power]
    return p * _float_from_bits((np.int64(n) + 1023) << 52)


@numba.njit(cache=CACHE, fastmath={"contract"}, error_model="numpy")
def _log1p_unit(s: float) -> float:
    """log(1 + s) for 0 <= s <= 1, written out to vectorise as :func:`_exp_negative`.

    log(1 + t) = 2 atanh(t / (2 + t)), its series in w = t / (2 + t) to w^23; above s = sqrt(2) - 1,
    log(1 + s) = ln 2 + log(1 + (s - 1) / 2) (exact: s - 1 and the halving round nothing), so that |w| <= 0.172
    and the series' remainder is below 1e-18 of the result.
    """
    high = s > 0.41421356237309503
    t = 0.5 * (s - 1.0) if high else s
    w = t / (2.0 + t)
    w2 = w * w
    p = 1.0 / 23.0
    for odd in range(21, 1, -2):
        p = p * w2 + 1.0 / odd
    value = 2.0 * w + 2.0 * w * w2 * p
    return value + math.log(2.0) if high else value


@numba.njit(cache=CACHE, fastmath={"reassoc", "contract"}, error_model="numpy")
def _likelihood(
    alpha: float,
    coefficient: np.ndarray,
    sd: np.ndarray,
    position: np.ndarray,
    z_at: int,
    x: np.ndarray,
    y: np.ndarray,
    group_idx: np.ndarray,
    gradient: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Return the Bernoulli-logit log likelihood, its gradient in beta_std and in each grouping's sd.

    Adds d/d alpha to ``gradient[0]`` and d/d z to the levels' entries of ``gradient``.

    ``x`` holds the design column by column and ``group_idx`` each grouping's levels patient by patient, so that
    every loop over patients runs in vector registers: the linear predictors, then one exp and one log1p per
    patient (:func:`_exp_negative`, :func:`_log1p_unit`), then one dot product per column. Sums are
    reassociated (``fastmath={"reassoc"}``): they differ from a sequential sum in the last places.
    """
    n, k, groupings = y.shape[0], coefficient.shape[0], sd.shape[0]
    eta = np.empty(n)
    for i in range(n):
        eta[i] = alpha
    for j in range(k):
        column, value = x[j * n : (j + 1) * n], coefficient[j]
        for i in range(n):
            eta[i] += column[i] * value
    for c in range(groupings):
        levels, scale = group_idx[c * n : (c + 1) * n], sd[c]
        for i in range(n):
            eta[i] += scale * position[z_at + int(levels[i])]
    # log(1 + exp(eta)), expit(eta) and expit(-eta) from exp(-|eta|), each without cancellation; y is 0 or 1,
    # so y * a + (1 - y) * b picks one exactly (a select on y would keep the loop scalar).
    logp = 0.0
    for i in range(n):
        value, event = eta[i], y[i]
        small = _exp_negative(abs(value))
        softplus = _log1p_unit(small) + max(value, 0.0)
        near_one = 1.0 / (1.0 + small)
        near_zero = small * near_one
        risk = near_one if value >= 0.0 else near_zero  # expit(eta)
        complement = near_zero if value >= 0.0 else near_one  # 1 - expit(eta)
        logp += event * value - softplus
        eta[i] = event * complement - (1.0 - event) * risk  # the residual y - expit(eta), in place
    total = 0.0
    for i in range(n):
        total += eta[i]
    gradient[0] += total
    likelihood_gradient, sd_gradient = np.empty(k), np.empty(groupings)
    for j in range(k):
        column, total = x[j * n : (j + 1) * n], 0.0
        for i in range(n):
            total += eta[i] * column[i]
        likelihood_gradient[j] = total
    for c in range(groupings):
        levels, total = group_idx[c * n : (c + 1) * n], 0.0
        for i in range(n):
            level = z_at + int(levels[i])
            gradient[level] += eta[i] * sd[c]
            total += eta[i] * position[level]
        sd_gradient[c] = total
    return logp, likelihood_gradient, sd_gradient


@numba.njit(cache=CACHE)
def log_density(position: np.ndarray, gradient: np.ndarray, buffer: np.ndarray) -> float:
    """Log density of the model at ``position``; writes its gradient into ``gradient``.

    ``position`` is ``[alpha, beta_std (k), log(group_sd) (one per grouping) and group_z (every level of
    every grouping) if grouped, logit(prevalence) if Beta]``, the order of the PyMC model's value variables.
    """
    n, k, groups = int(buffer[N_ROWS]), int(buffer[N_FACTORS]), int(buffer[N_GROUPS])
    groupings = int(buffer[N_GROUPINGS])
    prior_mu, prior_sigma = buffer[HEADER : HEADER + k], buffer[HEADER + k : HEADER + 2 * k]
    prior_nu, x_scale = buffer[HEADER + 2 * k : HEADER + 3 * k], buffer[HEADER + 4 * k : HEADER + 5 * k]
    y = buffer[HEADER + 5 * k : HEADER + 5 * k + n]
    x = buffer[HEADER + 5 * k + n : HEADER + 5 * k + n + n * k]  # column by column
    group_idx = buffer[HEADER + 5 * k + n + n * k : HEADER + 5 * k + n + n * k + n * groupings]  # grouping by grouping
    alpha = position[0]
    logp, gradient[0] = _prior_term(
        buffer[INTERCEPT_FAMILY], alpha, buffer[INTERCEPT_MU], buffer[INTERCEPT_SIGMA], buffer[INTERCEPT_NU]
    )
    coefficient = np.empty(k)  # beta_std
    horseshoe = buffer[STRUCTURE] == HORSESHOE
    domains = buffer[STRUCTURE] == DOMAINS
    n_domains = int(buffer[N_DOMAINS])
    centred = buffer[CENTRED] != 0.0
    domain_scale = np.empty(n_domains)  # domains: tau exp(omega eta_d)
    scale_part = np.zeros(k if domains else 0)  # domains: d log density / d log domain_scale of each factor's own term
    weight = np.empty(k)  # horseshoe: tau^2 lambda^2 / (c^2 + tau^2 lambda^2), the share the slab cuts
    spread_of = np.empty(k)  # horseshoe: tau lambda~, beta_std's scale given z
    if horseshoe:
        # beta_std = z tau lambda~ with lambda~^2 = c^2 lambda^2 / (c^2 + tau^2 lambda^2); half-Cauchy lambda and
        # tau as |N(0, 1)| sqrt(InvGamma(1/2, 1/2)), scaled (tau by tau0); c^2 ~ InvGamma(SLAB_A, SLAB_B).
        tau, slab, start = _horseshoe(position, k, buffer[HORSESHOE_TAU0])
        term, gradient[start + 2 * k] = _log_half_normal(position[start + 2 * k], 1.0)
        logp += term
        term, gradient[start + 2 * k + 1] = _log_inverse_gamma(position[start + 2 * k + 1], 0.5, 0.5)
        logp += term
        slab_at = start + 2 * k + 2
        term, gradient[slab_at] = _log_inverse_gamma(position[slab_at], buffer[SLAB_A], buffer[SLAB_B])
        logp += term
        for j in range(k):
            term, gradient[start + j] = _log_half_normal(position[start + j], 1.0)
            logp += term
            term, gradient[start + k + j] = _log_inverse_gamma(position[start + k + j], 0.5, 0.5)
            logp += term
            z = position[start + 2 * k + 3 + j]
            logp += -0.5 * z * z - _LOG_SQRT_2PI
            gradient[start + 2 * k + 3 + j] = -z
            local = math.exp(position[start + j] + 0.5 * position[start + k + j])
            spread = tau * tau * local * local
            weight[j] = spread / (slab + spread)
            spread_of[j] = tau * math.sqrt(slab * local * local / (slab + spread))
            coefficient[j] = z * spread_of[j]
    elif domains:
        # log domain_scale_d = log tau + omega eta_d; tau ~ HalfNormal, omega ~ HalfNormal (both sampled as logs,
        # with the Jacobian), eta_d ~ N(0, 1); beta_std_j = z_j domain_scale_d(j) with z_j ~ N(0, 1), or, centred,
        # beta_std_j ~ N(0, domain_scale_d(j)).
        domain_of = _domain_of(buffer)
        term, gradient[1] = _log_half_normal(position[1], buffer[DOMAIN_GLOBAL_SCALE])
        logp += term
        term, gradient[2] = _log_half_normal(position[2], buffer[DOMAIN_SPREAD])
        logp += term
        tau, omega = math.exp(position[1]), math.exp(position[2])
        for d in range(n_domains):
            eta = position[3 + d]
            logp += -0.5 * eta * eta - _LOG_SQRT_2PI
            gradient[3 + d] = -eta
            domain_scale[d] = tau * math.exp(omega * eta)
        for j in range(k):
            scale = domain_scale[int(domain_of[j])]
            value = position[3 + n_domains + j]
            if centred:
                ratio = value / scale
                logp += -0.5 * ratio * ratio - math.log(scale) - _LOG_SQRT_2PI
                gradient[3 + n_domains + j] = -ratio / scale
                scale_part[j] = ratio * ratio - 1.0
                coefficient[j] = value
            else:
                logp += -0.5 * value * value - _LOG_SQRT_2PI
                gradient[3 + n_domains + j] = -value
                coefficient[j] = value * scale
    else:
        family = buffer[COEF_FAMILY]
        for j in range(k):
            # The per-unit prior becomes one per sample SD, as in the PyMC model.
            term, gradient[1 + j] = _prior_term(
                family, position[1 + j], prior_mu[j] * x_scale[j], prior_sigma[j] * x_scale[j], prior_nu[j]
            )
            logp += term
            coefficient[j] = position[1 + j]
    cursor = 1 + _n_coefficient_block(buffer)  # where the group SDs' logs sit, then the levels' z
    z_at = cursor + groupings
    sd = np.empty(groupings)
    if groups > 0:
        # Non-centred group intercepts sd_c * z_l for level l of grouping c: HalfNormal(s) on each sd_c, sampled
        # on the log scale (with the Jacobian, as PyMC's log transform), and N(0, 1) on each z_l.
        scale = buffer[GROUP_SD_SCALE]
        for c in range(groupings):
            log_sd = position[cursor + c]
            sd[c] = math.exp(log_sd)
            logp += _LOG_HALF_NORMAL - math.log(scale) - 0.5 * (sd[c] / scale) ** 2 + log_sd
            gradient[cursor + c] = 1.0 - (sd[c] / scale) ** 2
        for g in range(groups):
            z = position[z_at + g]
            logp += -0.5 * z * z - _LOG_SQRT_2PI
            gradient[z_at + g] = -z
    prevalence_at = z_at + groups
    if buffer[PREVALENCE_MODE] == BETA_PREVALENCE:
        # Beta(a, b) on the prevalence, sampled on the log-odds scale (with the Jacobian, as PyMC's transform).
        a, b, z = buffer[PREVALENCE_A], buffer[PREVALENCE_B], position[prevalence_at]
        log_p, log_q = -_log1p_exp(-z), -_log1p_exp(z)
        log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
        logp += a * log_p + b * log_q - log_beta
        gradient[prevalence_at] = a * math.exp(log_q) - b * math.exp(log_p)
    # d log likelihood / d beta_std, and / d sd per grouping
    likelihood, likelihood_gradient, sd_gradient = _likelihood(
        alpha, coefficient, sd, position, z_at, x, y, group_idx, gradient
    )
    logp += likelihood
    for c in range(groupings):
        gradient[cursor + c] += sd_gradient[c] * sd[c]  # d(sd)/d(log sd) = sd
    if horseshoe:
        # Chain rule through beta_std = z tau lambda~: d beta / d z = tau lambda~; d log beta / d log lambda
        # = d log beta / d log tau = 1 - weight; d log beta / d log c^2 = weight / 2.
        global_part = slab_part = 0.0
        for j in range(k):
            g = likelihood_gradient[j]
            gradient[1 + 2 * k + 3 + j] += g * spread_of[j]
            local_part = g * coefficient[j] * (1.0 - weight[j])
            gradient[1 + j] += local_part
            gradient[1 + k + j] += 0.5 * local_part
            global_part += local_part
            slab_part += g * coefficient[j] * 0.5 * weight[j]
        gradient[1 + 2 * k] += global_part
        gradient[1 + 2 * k + 1] += 0.5 * global_part
        gradient[1 + 2 * k + 2] += slab_part
    elif domains:
        # Chain rule through log domain_scale_d = log tau + omega eta_d: d/d log tau 1, d/d log omega omega eta_d,
        # d/d eta_d omega. Non-centred, d beta_j / d z_j = domain_scale and d beta_j / d log domain_scale = beta_j.
        domain_of = _domain_of(buffer)
        omega = math.exp(position[2])
        for j in range(k):
            d = int(domain_of[j])
            g = likelihood_gradient[j]
            if centred:
                gradient[3 + n_domains + j] += g
                part = scale_part[j]
            else:
                gradient[3 + n_domains + j] += g * domain_scale[d]
                part = g * coefficient[j]
            gradient[1] += part
            gradient[2] += part * omega * position[3 + d]
            gradient[3 + d] += part * omega
    else:
        for j in range(k):
            gradient[1 + j] += likelihood_gradient[j]
    return logp


@numba.njit(cache=CACHE)
def expand(position: np.ndarray, out: np.ndarray, buffer: np.ndarray) -> None:
    """Write the stored variables at ``position`` into ``out``, in the order of ``KERNEL_VARIABLES``.

    That is alpha, beta_std, beta, prevalence (Beta prevalence only), intercept, alpha_population,
    intercept_population; for a grouped model group_sd (a scalar for one grouping, one per grouping for
    several), group_z and group_offset (every level of every grouping); for the horseshoe
    local_scale_normal, local_scale_inverse_gamma, global_scale_normal, global_scale_inverse_gamma,
    slab_variance, z, local_scale and global_scale; for domain shrinkage global_scale, domain_spread,
    domain_z, z (non-centred only) and domain_scale: the PyMC model's free variables and deterministics.
    """
    n, k, groups = int(buffer[N_ROWS]), int(buffer[N_FACTORS]), int(buffer[N_GROUPS])
    groupings = int(buffer[N_GROUPINGS])
    x_center, x_scale = buffer[HEADER + 3 * k : HEADER + 4 * k], buffer[HEADER + 4 * k : HEADER + 5 * k]
    horseshoe = buffer[STRUCTURE] == HORSESHOE
    domains = buffer[STRUCTURE] == DOMAINS
    n_domains = int(buffer[N_DOMAINS])
    centred = buffer[CENTRED] != 0.0
    domain_scale = np.empty(n_domains)
    coefficient = np.empty(k)
    tau = 0.0
    if domains:
        domain_of = _domain_of(buffer)
        for d in range(n_domains):
            domain_scale[d] = math.exp(position[1]) * math.exp(math.exp(position[2]) * position[3 + d])
        for j in range(k):
            value = position[3 + n_domains + j]
            coefficient[j] = value if centred else value * domain_scale[int(domain_of[j])]
    elif horseshoe:
        tau, slab, start = _horseshoe(position, k, buffer[HORSESHOE_TAU0])
        for j in range(k):
            local = math.exp(position[start + j] + 0.5 * position[start + k + j])
            spread = tau * tau * local * local
            coefficient[j] = position[start + 2 * k + 3 + j] * tau * math.sqrt(slab * local * local / (slab + spread))
    else:
        for j in range(k):
            coefficient[j] = position[1 + j]
    alpha = position[0]
    out[0] = alpha
    intercept = alpha
    for j in range(k):
        out[1 + j] = coefficient[j]
        beta = coefficient[j] / x_scale[j]
        out[1 + k + j] = beta
        intercept -= x_center[j] * beta
    mode = buffer[PREVALENCE_MODE]
    correction = 0.0
    cursor = 1 + 2 * k
    group_at = 1 + _n_coefficient_block(buffer)
    if mode == BETA_PREVALENCE:
        z = position[group_at + groupings + groups]
        out[cursor] = 1.0 / (1.0 + math.exp(-z))
        cursor += 1
        correction = z - buffer[LOG_SAMPLING_RATIO]
    elif mode == FIXED_PREVALENCE:
        correction = buffer[PREVALENCE_LOGIT] - buffer[LOG_SAMPLING_RATIO]
    out[cursor] = intercept
    out[cursor + 1] = alpha + correction
    out[cursor + 2] = intercept + correction
    cursor += 3
    if groups > 0:
        owner_at = HEADER + 5 * k + n + n * k + n * groupings
        owner = buffer[owner_at : owner_at + groups]  # each level's grouping
        for c in range(groupings):
            out[cursor + c] = math.exp(position[group_at + c])
        for g in range(groups):
            z = position[group_at + groupings + g]
            out[cursor + groupings + g] = z
            out[cursor + groupings + groups + g] = out[cursor + int(owner[g])] * z
        cursor += groupings + 2 * groups
    if horseshoe:
        for index in range(2 * k + 3):  # the positive parameters, sampled as logs
            out[cursor + index] = math.exp(position[1 + index])
        for j in range(k):
            out[cursor + 2 * k + 3 + j] = position[1 + 2 * k + 3 + j]  # z
            out[cursor + 3 * k + 3 + j] = math.exp(position[1 + j] + 0.5 * position[1 + k + j])  # local_scale
        out[cursor + 4 * k + 3] = tau
    if domains:  # global_scale, domain_spread, domain_z, z (non-centred), domain_scale
        out[cursor] = math.exp(position[1])
        out[cursor + 1] = math.exp(position[2])
        for d in range(n_domains):
            out[cursor + 2 + d] = position[3 + d]
        cursor += 2 + n_domains
        if not centred:
            for j in range(k):
                out[cursor + j] = position[3 + n_domains + j]
            cursor += k
        for d in range(n_domains):
            out[cursor + d] = domain_scale[d]


@numba.cfunc(LOGP_SIGNATURE, cache=CACHE, error_model="numpy")
def logp_cfunc(dim, position_, gradient_, logp_, user_data_):  # type: ignore[no-untyped-def]
    """Evaluate the log density for nutpie: return 0 on success, 3 or 4 for a non-finite gradient or density."""
    size = int(numba.carray(user_data_, (1,), dtype=np.float64)[0])
    buffer = numba.carray(user_data_, (size,), dtype=np.float64)[1:]
    if dim != _n_dim(buffer):  # as nutpie's own callbacks: refuse a position of the wrong size
        return -1
    position = numba.carray(position_, (dim,))
    gradient = numba.carray(gradient_, (dim,))
    value = log_density(position, gradient, buffer)
    numba.carray(logp_, (1,))[0] = value
    for j in range(dim):
        if not math.isfinite(gradient[j]):
            return 3
    return 0 if math.isfinite(value) else 4


@numba.cfunc(EXPAND_SIGNATURE, cache=CACHE, error_model="numpy")
def expand_cfunc(dim, n_expanded, position_, out_, user_data_):  # type: ignore[no-untyped-def]
    """Write the stored variables for nutpie: return 0."""
    size = int(numba.carray(user_data_, (1,), dtype=np.float64)[0])
    buffer = numba.carray(user_data_, (size,), dtype=np.float64)[1:]
    if dim != _n_dim(buffer) or n_expanded != _n_expanded(buffer):
        return -1
    expand(numba.carray(position_, (dim,)), numba.carray(out_, (n_expanded,)), buffer)
    return 0

// The margin-softmax head in one call (MARGIN_SOFTMAX_KERNEL of @sphereface/common, registered by
// src/margin-softmax-kernel.ts): logits from x·W (oneDNN matmul), the margin, mean softmax cross-entropy, its gradients
// (two more oneDNN matmuls) and the trainer's metrics. What tfjs ran as ~100 small kernels per training step.
// Element-wise work is done in double (each value rounded to float once, on output); every reduction accumulates in
// double.
#include <cmath>

#include "common.h"

namespace sfn {
namespace {

enum Scale { kLinear = 0, kFeature = 1, kFeatureWeight = 2, kFixed = 3 };
enum Target { kNone = 0, kPsi = 1, kCosine = 2, kAngular = 3, kAngularEasy = 4, kCombined = 5 };

constexpr double kNormEps = 1e-12;   // inside the norms' square roots (@sphereface/loss's safeNorm)
constexpr double kSinFloor = 1e-6;   // arcface: sin θ = √max(1 − c², 1e-6)
constexpr double kArccosClip = 1e-6; // combined: c clipped to ±(1 − 1e-6) before arccos
const double kPi = std::acos(-1.0);

// spec = [scale, s, target, p0, p1, p2, caffe]: the JSON MarginSoftmaxSpec, encoded by margin-softmax-kernel.ts.
// Targets' parameters: psi [m, λ]; cosine [m]; angular [m]; combined [m1, m2, m3].
struct Spec {
  int scale, target;
  double s, p0, p1, p2;
  bool caffe;
  int m;                              // psi's integer margin
  std::vector<double> thresholds;     // psi: cos(jπ/m), j = 1…m−1
};

Spec spec_arg(const Napi::Value& v) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 7)
    throw Napi::TypeError::New(v.Env(), "marginSoftmax spec: expected an array of 7 numbers");
  auto a = v.As<Napi::Array>();
  auto num = [&](uint32_t i) { return a.Get(i).As<Napi::Number>().DoubleValue(); };
  Spec s{static_cast<int>(num(0)), static_cast<int>(num(2)), num(1), num(3), num(4), num(5), num(6) != 0, 0, {}};
  if (s.scale < kLinear || s.scale > kFixed || s.target < kNone || s.target > kCombined)
    throw Napi::RangeError::New(v.Env(), "marginSoftmax spec: unknown scale or target");
  if (s.scale == kLinear && s.target != kNone)
    throw Napi::RangeError::New(v.Env(), "marginSoftmax spec: the linear scale (plain softmax) takes no target term");
  if (s.target == kPsi) {
    if (!(s.p0 >= 1 && s.p0 == std::floor(s.p0) && s.p0 <= 64) || !(s.p1 >= 0))
      throw Napi::RangeError::New(v.Env(), "marginSoftmax spec: psi needs an integer m in [1, 64] and λ ≥ 0");
    s.m = static_cast<int>(s.p0);
    for (int j = 1; j < s.m; j++) s.thresholds.push_back(std::cos(j * kPi / s.m));
  }
  if (s.caffe && !(s.scale == kFeature && s.target == kPsi))
    throw Napi::RangeError::New(v.Env(), "marginSoftmax spec: the caffe gradient is A-Softmax's (feature scale, psi target)");
  return s;
}

// ψ(c) and dψ/dc: (−1)^k T_m(c) − 2k with k the number of thresholds cos(jπ/m) above c; T_m and T_m' by recurrence.
void psi(const Spec& s, double c, double& value, double& slope) {
  double t_prev = 1, t = c, d_prev = 0, d = 1;
  for (int n = 1; n < s.m; n++) {
    const double t_next = 2 * c * t - t_prev, d_next = 2 * t + 2 * c * d - d_prev;
    t_prev = t, t = t_next, d_prev = d, d = d_next;
  }
  int k = 0;
  for (double threshold : s.thresholds) k += threshold > c;
  const double sign = k % 2 ? -1 : 1;
  value = sign * t - 2 * k;
  slope = sign * d;
}

// The target term t(c) and dt/dc, with the gradient conventions of the tfjs ops of @sphereface/loss (clips pass the
// gradient inside their range, inclusive; maximum/minimum pass it to their first argument on ties).
void target(const Spec& s, double c, double& value, double& slope) {
  switch (s.target) {
    case kNone: value = c, slope = 1; return;
    case kPsi: {
      double p, dp;
      psi(s, c, p, dp);
      value = (s.p1 * c + p) / (1 + s.p1);
      slope = (s.p1 + dp) / (1 + s.p1);
      return;
    }
    case kCosine: value = c - s.p0, slope = 1; return;
    case kAngular:
    case kAngularEasy: {
      const double m = s.p0;
      const bool margin = s.target == kAngularEasy ? c > 0 : c > std::cos(kPi - m);
      if (!margin) {
        value = s.target == kAngularEasy ? c : c - m * std::sin(m);
        slope = 1;
        return;
      }
      const double q = 1 - c * c, sine = std::sqrt(std::max(q, kSinFloor));
      value = c * std::cos(m) - sine * std::sin(m);
      slope = std::cos(m) + (q >= kSinFloor ? c / sine : 0.0) * std::sin(m);
      return;
    }
    case kCombined: {
      const double lo = -1 + kArccosClip, hi = 1 - kArccosClip, cc = std::min(std::max(c, lo), hi);
      const double theta = std::acos(cc), shifted = s.p0 * theta + s.p1, capped = std::min(shifted, kPi);
      value = std::cos(capped) - s.p2;
      const bool live = shifted <= kPi && c >= lo && c <= hi;
      slope = live ? std::sin(capped) * s.p0 / std::sqrt(1 - cc * cc) : 0.0;
      return;
    }
  }
}

std::unordered_map<std::string, std::unique_ptr<Cached<matmul::primitive_desc>>> matmul_cache;

// Below this many multiply-adds a matmul runs on the calling thread (about 1 ms there). The head's products are small
// (64×512×249 in the cpu profile: 8M), and on this shared 2-core machine each parallel region waits for the sleeping
// OpenMP worker under load: 24 ms per step for the three products on two threads, measured with another job running.
constexpr int64_t kMatmulParallelMin = int64_t(1) << 26;

// out[M, N] = op(a)·op(b), op(a) [M, K], op(b) [K, N]; ta: a is stored [K, M]; tb: b is stored [N, K] (strides, no copies).
void gemm(const float* a, const float* b, float* out, int64_t M, int64_t K, int64_t N, bool ta, bool tb) {
  // The thread count is set while the primitive is made as well (a primitive may fix it then), and keys the cache.
  const int saved = omp_get_max_threads();
  const bool one = M * K * N <= kMatmulParallelMin && saved > 1;
  if (one) omp_set_num_threads(1);
  struct Restore {
    bool on;
    int threads;
    ~Restore() {
      if (on) omp_set_num_threads(threads);
    }
  } restore{one, saved};
  memory::desc a_md({1, M, K}, dt::f32, ta ? memory::dims{M * K, 1, M} : memory::dims{M * K, K, 1});
  memory::desc b_md({1, K, N}, dt::f32, tb ? memory::dims{K * N, 1, K} : memory::dims{K * N, N, 1});
  memory::desc c_md({1, M, N}, dt::f32, tag::abc);
  auto& e = cached<matmul::primitive_desc>(matmul_cache, key_of("margin_matmul", {M, K, N, omp_get_max_threads()}, ta | tb << 1),
                                           [&] { return matmul::primitive_desc(matmul::desc(a_md, b_md, c_md), eng()); });
  e.prim.execute(strm(), {{DNNL_ARG_SRC, memory(a_md, eng(), const_cast<float*>(a))},
                          {DNNL_ARG_WEIGHTS, memory(b_md, eng(), const_cast<float*>(b))},
                          {DNNL_ARG_DST, memory(c_md, eng(), out)}});
  strm().wait();
}

// marginSoftmax(x, w, labels, bias | null, [N, D, C], spec, loss, metrics, dx, dW, db | null)
// x [N, D], w [D, C], labels Int32Array [N], bias [C]; loss [1]; metrics [3] = accuracy, mean target angle (degrees),
// mean ‖x‖; dx [N, D], dW [D, C], db [C] (when bias is given). See MarginSoftmaxSpec in @sphereface/common.
Napi::Value MarginSoftmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dims = ints(info[4], 3, "marginSoftmax dims");
  const int64_t N = dims[0], D = dims[1], C = dims[2];
  if (N < 1 || D < 1 || C < 1) throw Napi::RangeError::New(env, "marginSoftmax dims: sizes must be positive");
  const float* x = f32(info[0], "marginSoftmax x", N * D);
  const float* w = f32(info[1], "marginSoftmax w", D * C);
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[2].As<Napi::Int32Array>().ElementLength() != static_cast<size_t>(N))
    throw Napi::TypeError::New(env, "marginSoftmax labels: expected an Int32Array of " + std::to_string(N) + " elements");
  const int32_t* labels = info[2].As<Napi::Int32Array>().Data();
  const float* bias = f32_or_null(info[3], "marginSoftmax bias", C);
  const Spec s = spec_arg(info[5]);
  float* loss_out = f32(info[6], "marginSoftmax loss", 1);
  float* metrics_out = f32(info[7], "marginSoftmax metrics", 3);
  float* dx = f32(info[8], "marginSoftmax dx", N * D);
  float* dW = f32(info[9], "marginSoftmax dW", D * C);
  float* db = f32_or_null(info[10], "marginSoftmax db", C);
  if ((bias == nullptr) != (db == nullptr))
    throw Napi::TypeError::New(env, "marginSoftmax: db is given exactly when bias is");
  if (bias && s.scale != kLinear) throw Napi::RangeError::New(env, "marginSoftmax: only the linear scale takes a bias");
  for (int64_t i = 0; i < N; i++)
    if (labels[i] < 0 || labels[i] >= C)
      throw Napi::RangeError::New(env, "SphereFaceMarginSoftmax: label " + std::to_string(labels[i]) + " at row " +
                                           std::to_string(i) + " is outside [0, " + std::to_string(C) + ")");

  const bool linear = s.scale == kLinear;
  // Squared norms of the rows of x and the columns of w.
  std::vector<double> xx(N, 0.0), ww(C, 0.0);
  for (int64_t i = 0; i < N; i++) {
    double acc = 0;
    for (int64_t d = 0; d < D; d++) acc += static_cast<double>(x[i * D + d]) * x[i * D + d];
    xx[i] = acc;
  }
  for (int64_t d = 0; d < D; d++)
    for (int64_t j = 0; j < C; j++) ww[j] += static_cast<double>(w[d * C + j]) * w[d * C + j];
  std::vector<double> wn(C);  // ‖w_j‖ with the epsilon
  for (int64_t j = 0; j < C; j++) wn[j] = std::sqrt(ww[j] + kNormEps);

  std::vector<float> product(N * C);  // x·W
  gemm(x, w, product.data(), N, D, C, false, false);

  // Per row: dPx, the factor of W in dx = dPx·Wᵀ + rowX∘x; dPw, the factor of x in dW = xᵀ·dPw (+ w∘colW for the
  // normalised weights); col, each element's share of colW (or of db).
  std::vector<float> dPx(N * C), dPw_caffe(s.caffe ? N * C : 0);
  std::vector<double> col(bias || (!linear && !s.caffe) ? N * C : 0, 0.0), rowX(N, 0.0), rowLoss(N), correct(N), angle(N);

#pragma omp parallel for schedule(static) if (N * C > kParallelMin)
  for (int64_t i = 0; i < N; i++) {
    const int64_t y = labels[i];
    const double r = std::sqrt(xx[i] + kNormEps);
    const float* p = product.data() + i * C;
    std::vector<double> z(C), u(C), v(C), dv(C);
    for (int64_t j = 0; j < C; j++) {
      if (linear) {
        z[j] = static_cast<double>(p[j]) + (bias ? bias[j] : 0.0);
        continue;
      }
      u[j] = p[j] / (r * wn[j]);
      const double c = std::min(std::max(u[j], -1.0), 1.0);
      if (j == y) target(s, c, v[j], dv[j]);
      else v[j] = c, dv[j] = 1;
      const double scale = s.scale == kFeature ? r : s.scale == kFeatureWeight ? r * wn[j] : s.s;
      z[j] = scale * v[j];
    }
    double zmax = z[0];
    for (int64_t j = 1; j < C; j++) zmax = std::max(zmax, z[j]);
    double total = 0;
    for (int64_t j = 0; j < C; j++) total += std::exp(z[j] - zmax);
    const double lse = zmax + std::log(total);
    rowLoss[i] = lse - z[y];

    double dr = 0;  // ∂loss/∂‖x_i‖
    for (int64_t j = 0; j < C; j++) {
      const double g = (std::exp(z[j] - lse) - (j == y ? 1.0 : 0.0)) / N;  // ∂loss/∂z_ij
      if (linear) {
        dPx[i * C + j] = static_cast<float>(g);
        if (bias) col[i * C + j] = g;
        continue;
      }
      if (s.caffe) {  // dx: g·ŵ_j (the target's margin correction below); dW: xᵀg
        dPx[i * C + j] = static_cast<float>(g / wn[j]);
        dPw_caffe[i * C + j] = static_cast<float>(g);
        continue;
      }
      const double n = wn[j];
      const double scale = s.scale == kFeature ? r : s.scale == kFeatureWeight ? r * n : s.s;
      const double h = u[j] >= -1 && u[j] <= 1 ? g * scale * dv[j] : 0.0;  // ∂loss/∂u_ij (through the clip)
      const double dz_dr = s.scale == kFixed ? 0.0 : scale / r * v[j];
      const double dz_dn = s.scale == kFeatureWeight ? scale / n * v[j] : 0.0;
      dPx[i * C + j] = static_cast<float>(h / (r * n));
      dr += g * dz_dr - h * u[j] / r;
      col[i * C + j] = g * dz_dn - h * u[j] / n;
    }
    if (!linear && !s.caffe) rowX[i] = dr / r;  // ∂‖x‖/∂x = x/‖x‖
    if (s.caffe && s.m >= 2) {
      // g_y·[(ψ'·ŵ_y + (ψ − cψ')/‖x‖·x)/pairNorm/(1+λ) + λ/(1+λ)·ŵ_y] replaces the plain g_y·ŵ_y in dx.
      const double c = std::min(std::max(u[y], -1.0), 1.0);
      double value, slope;
      psi(s, c, value, slope);
      const double coeff_w = slope, coeff_x = (value - c * slope) / r;
      const double pair = std::sqrt(coeff_w * coeff_w + coeff_x * coeff_x);
      const double gy = (std::exp(z[y] - lse) - 1) / N, lambda = s.p1;
      dPx[i * C + y] += static_cast<float>(gy * (coeff_w / pair - 1) / (1 + lambda) / wn[y]);
      rowX[i] = gy * coeff_x / pair / (1 + lambda);
    }

    // Metrics of the margin-free classifier (MarginHead.apply and targetAngles in @sphereface/models).
    int64_t best = 0;
    double best_value = -INFINITY;
    for (int64_t j = 0; j < C; j++) {
      const double logit = linear ? static_cast<double>(p[j]) + (bias ? bias[j] : 0.0) : p[j] / (std::sqrt(ww[j]) + kNormEps);
      if (logit > best_value) best_value = logit, best = j;
    }
    correct[i] = best == y;
    double dot = 0;
    for (int64_t d = 0; d < D; d++) dot += static_cast<double>(x[i * D + d]) * w[d * C + y];
    const double cos_y = dot / (std::sqrt(xx[i]) * std::sqrt(ww[y]) + kNormEps);
    angle[i] = std::acos(std::min(std::max(cos_y, -1.0), 1.0));
  }

  double loss = 0;
  for (int64_t i = 0; i < N; i++) loss += rowLoss[i];
  loss_out[0] = static_cast<float>(loss / N);
  // The metrics' means are rounded as tfjs's mean rounds them (each float value divided by N in float, the quotients
  // summed in double), so that the accuracy is the op path's to the bit and the others differ by their own rounding.
  auto mean = [N](const std::function<double(int64_t)>& value) {
    double total = 0;
    for (int64_t i = 0; i < N; i++) total += static_cast<float>(value(i)) / static_cast<float>(N);
    return static_cast<float>(total);
  };
  metrics_out[0] = mean([&](int64_t i) { return correct[i]; });
  metrics_out[1] = mean([&](int64_t i) { return angle[i]; }) * static_cast<float>(180 / kPi);
  metrics_out[2] = mean([&](int64_t i) { return std::sqrt(xx[i]); });

  // dx = dPx·Wᵀ + rowX∘x
  gemm(dPx.data(), w, dx, N, C, D, false, true);
  if (!linear)
    for (int64_t i = 0; i < N; i++)
      if (rowX[i] != 0)
        for (int64_t d = 0; d < D; d++) dx[i * D + d] = static_cast<float>(dx[i * D + d] + rowX[i] * x[i * D + d]);
  // dW = xᵀ·dPw (+ w∘colW/‖w‖ through the weight normalisation); db = column sums of g.
  gemm(x, s.caffe ? dPw_caffe.data() : dPx.data(), dW, D, N, C, true, false);
  if (!col.empty()) {
    std::vector<double> colsum(C, 0.0);
    for (int64_t i = 0; i < N; i++)
      for (int64_t j = 0; j < C; j++) colsum[j] += col[i * C + j];
    if (bias) {
      for (int64_t j = 0; j < C; j++) db[j] = static_cast<float>(colsum[j]);
    } else if (!s.caffe) {
      for (int64_t j = 0; j < C; j++) colsum[j] /= wn[j];
      for (int64_t d = 0; d < D; d++)
        for (int64_t j = 0; j < C; j++) dW[d * C + j] = static_cast<float>(dW[d * C + j] + colsum[j] * w[d * C + j]);
    }
  }
  return env.Undefined();
}

}  // namespace

void RegisterMarginSoftmax(Napi::Env env, Napi::Object exports) {
  exports.Set("marginSoftmax", Napi::Function::New(env, guarded<MarginSoftmax>));
}

}  // namespace sfn

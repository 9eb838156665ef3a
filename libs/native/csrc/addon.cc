// oneDNN kernels for @sphereface/native. Layouts are TensorFlow.js's: NHWC activations, HWIO filters, float32.
// Every function is synchronous and writes into a caller-allocated Float32Array (zero-copy both ways).
#include "common.h"

namespace {

using namespace sfn;

// Activations reordered into a primitive's layout, kept for one more use: a convolution's input is reordered for the
// forward and again for the filter gradient, and its output gradient for the input gradient and again for the filter
// gradient (10 % of a SphereFace-20 step went to such reorders). Entries are keyed by the tfjs array's address and
// dropped at their second use, or when JS disposes the array (forgetReordered, called by the backend on every dispose,
// so an address never outlives its data), or all at once past kReorderedMax.
struct Reordered {
  memory::desc desc;
  memory mem;
};
std::unordered_map<const float*, std::vector<Reordered>> reordered;
size_t reordered_bytes = 0;
constexpr size_t kReorderedMax = size_t(2) << 30;
double reorder_hits = 0, reorder_misses = 0;

enum class Use { kFirst, kLast };

memory as_input_kept(const memory::desc& want, const memory::desc& user_md, float* p, Use use) {
  if (want == user_md) return memory(user_md, eng(), p);
  auto it = reordered.find(p);
  if (it != reordered.end()) {
    auto& list = it->second;
    for (size_t i = 0; i < list.size(); i++) {
      if (list[i].desc != want) continue;
      memory m = list[i].mem;
      reorder_hits++;
      if (use == Use::kLast) {
        reordered_bytes -= want.get_size();
        list.erase(list.begin() + i);
        if (list.empty()) reordered.erase(it);
      }
      return m;
    }
  }
  reorder_misses++;
  memory m = as_input(want, user_md, p);
  if (use == Use::kFirst) {
    if (reordered_bytes + want.get_size() > kReorderedMax) {
      reordered.clear();
      reordered_bytes = 0;
    }
    reordered[p].push_back({want, m});
    reordered_bytes += want.get_size();
  }
  return m;
}

// ---------- convolution ----------

// p = [N,H,W,C, KH,KW,O, OH,OW, strideH,strideW, dilationH,dilationW (tfjs: 1 = none), padTop,padLeft,padBottom,padRight]
struct Conv {
  std::vector<int64_t> params;
  int64_t n, h, w, c, kh, kw, o, oh, ow, sh, sw, dh, dw, pt, pl, pb, pr;
  explicit Conv(const std::vector<int64_t>& p)
      : params(p), n(p[0]), h(p[1]), w(p[2]), c(p[3]), kh(p[4]), kw(p[5]), o(p[6]), oh(p[7]), ow(p[8]), sh(p[9]), sw(p[10]),
        dh(p[11]), dw(p[12]), pt(p[13]), pl(p[14]), pb(p[15]), pr(p[16]) {}
  size_t src_size() const { return n * h * w * c; }
  size_t wei_size() const { return kh * kw * c * o; }
  size_t dst_size() const { return n * oh * ow * o; }
  memory::dims src() const { return {n, c, h, w}; }
  memory::dims wei() const { return {o, c, kh, kw}; }
  memory::dims dst() const { return {n, o, oh, ow}; }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims dil() const { return {dh - 1, dw - 1}; }
  memory::dims padl() const { return {pt, pl}; }
  memory::dims padr() const { return {pb, pr}; }
  memory::desc user_src() const { return memory::desc(src(), dt::f32, tag::nhwc); }
  memory::desc user_wei() const { return memory::desc(wei(), dt::f32, tag::hwio); }
  memory::desc user_dst() const { return memory::desc(dst(), dt::f32, tag::nhwc); }
  // Every tensor uses the layout the primitive prefers (nChw8c / blocked filters on AVX2), reordered from and to tfjs's
  // NHWC per call: the blocked jit:avx2 kernels beat the NHWC ones by more than the reorders cost (SphereFace-20's convs,
  // forward + both backprops incl. reorders: 3.28 vs 3.87 s per step at 112×96, 0.93 vs 1.00 s at 56×48).
  memory::desc any(const memory::dims& d) const { return memory::desc(d, dt::f32, tag::any); }
  memory::desc bias() const { return memory::desc({o}, dt::f32, tag::a); }
};

Conv conv_arg(const Napi::Value& v) {
  Conv c(ints(v, 17, "conv params"));
  int64_t ohx = (c.h + c.pt + c.pb - ((c.kh - 1) * c.dh + 1)) / c.sh + 1;
  int64_t owx = (c.w + c.pl + c.pr - ((c.kw - 1) * c.dw + 1)) / c.sw + 1;
  if (ohx != c.oh || owx != c.ow)
    throw Napi::RangeError::New(v.Env(), "conv params: output " + std::to_string(c.oh) + "x" + std::to_string(c.ow) +
                                             " does not follow from input, padding and stride (" + std::to_string(ohx) +
                                             "x" + std::to_string(owx) + ")");
  return c;
}

// Winograd F(4×4, 3×3) for 3×3 stride-1 convolutions, where oneDNN has it (jit_wino_4x3 needs AVX-512; elsewhere the
// primitive descriptor fails and the direct algorithm is used). Measured on SphereFace-20 56×48 (2 cores, AVX-512,
// per step, forward / backward data / backward weights, ms): 64 channels at 28×24 7.5/7.1/6.6 direct vs 4.8/3.8/4.9
// Winograd, 256 at 7×6 28.2/25.0/28.6 vs 23.1/21.3/20.0, but 512 at 4×3 7.8/8.2/12.5 vs 12.1/11.2/13.9: output tiles of
// 4×4 waste most of their work on maps smaller than 6×6, so those stay direct. The choice depends on shape and CPU
// only, never on timing, so a run repeats bit for bit on the same machine. Winograd rounds differently (its transforms
// add and subtract before multiplying): the kernel tests bound its error against the cpu backend like the direct one's.
bool winograd_enabled = true;
struct ConvAlgorithmCounts {
  double direct = 0, winograd = 0;
};
ConvAlgorithmCounts conv_algorithm_counts;

bool winograd_candidate(const Conv& s) {
  return winograd_enabled && s.kh == 3 && s.kw == 3 && s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1 &&
         std::min(s.oh, s.ow) >= 6;
}

convolution_forward::primitive_desc conv_fwd_pd(const Conv& s, bool bias, bool relu, prop_kind pk, algorithm alg) {
  auto d = bias ? convolution_forward::desc(pk, alg, s.any(s.src()), s.any(s.wei()), s.bias(),
                                            s.any(s.dst()), s.strides(), s.dil(), s.padl(), s.padr())
                : convolution_forward::desc(pk, alg, s.any(s.src()), s.any(s.wei()),
                                            s.any(s.dst()), s.strides(), s.dil(), s.padl(), s.padr());
  primitive_attr attr;
  if (relu) {
    post_ops po;
    po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  return convolution_forward::primitive_desc(d, attr, eng());
}

// Backward data or weights: the same tensors as the forward, with the forward training descriptor as the hint.
template <typename Op>
typename Op::primitive_desc conv_bwd_pd(const Conv& s, algorithm alg) {
  typename Op::desc d(alg, s.any(s.src()), s.any(s.wei()), s.any(s.dst()), s.strides(), s.dil(), s.padl(), s.padr());
  return typename Op::primitive_desc(d, eng(), conv_fwd_pd(s, false, false, prop_kind::forward_training, alg));
}

// A primitive descriptor with Winograd when the shape is a candidate and oneDNN has an implementation, else direct.
template <typename PD>
PD with_algorithm(const Conv& s, const std::function<PD(algorithm)>& make) {
  if (winograd_candidate(s)) {
    try {
      return make(algorithm::convolution_winograd);
    } catch (const dnnl::error&) {  // no Winograd implementation for this ISA or shape
    }
  }
  return make(algorithm::convolution_direct);
}

void count_algorithm(const primitive_desc_base& pd) {
  const char* impl = pd.impl_info_str();
  (std::string(impl).find("wino") != std::string::npos ? conv_algorithm_counts.winograd : conv_algorithm_counts.direct)++;
}

std::unordered_map<std::string, std::unique_ptr<Cached<convolution_forward::primitive_desc>>> fwd_cache;
std::unordered_map<std::string, std::unique_ptr<Cached<convolution_backward_data::primitive_desc>>> bwd_data_cache;
std::unordered_map<std::string, std::unique_ptr<Cached<convolution_backward_weights::primitive_desc>>> bwd_wei_cache;

// conv2d(x, filter, bias | null, out, params, relu)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Conv s = conv_arg(info[4]);
  float* x = f32(info[0], "conv2d x", s.src_size());
  float* w = f32(info[1], "conv2d filter", s.wei_size());
  float* b = f32_or_null(info[2], "conv2d bias", s.o);
  float* y = f32(info[3], "conv2d out", s.dst_size());
  bool relu = info[5].ToBoolean();
  auto& e = cached<convolution_forward::primitive_desc>(fwd_cache, key_of("fwd", s.params, b ? 1 + 2 * relu : 2 * relu),
                                                        [&] {
    return with_algorithm<convolution_forward::primitive_desc>(
        s, [&](algorithm a) { return conv_fwd_pd(s, b != nullptr, relu, prop_kind::forward_training, a); });
  });
  count_algorithm(e.pd);
  memory src = as_input_kept(e.pd.src_desc(), s.user_src(), x, Use::kFirst);
  memory wei = as_input(e.pd.weights_desc(), s.user_wei(), w);
  Output dst(e.pd.dst_desc(), s.user_dst(), y);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst.mem}};
  if (b) args.emplace(DNNL_ARG_BIAS, memory(s.bias(), eng(), b));
  e.prim.execute(strm(), args);
  dst.finish();
  strm().wait();
  return info.Env().Undefined();
}

// conv2dBackpropInput(dy, filter, dx, params)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  Conv s = conv_arg(info[3]);
  float* dy = f32(info[0], "conv2dBackpropInput dy", s.dst_size());
  float* w = f32(info[1], "conv2dBackpropInput filter", s.wei_size());
  float* dx = f32(info[2], "conv2dBackpropInput out", s.src_size());
  auto& e = cached<convolution_backward_data::primitive_desc>(bwd_data_cache, key_of("bwd_data", s.params, 0),
                                                              [&] {
    return with_algorithm<convolution_backward_data::primitive_desc>(s, [&](algorithm a) { return conv_bwd_pd<convolution_backward_data>(s, a); });
  });
  count_algorithm(e.pd);
  memory ddst = as_input_kept(e.pd.diff_dst_desc(), s.user_dst(), dy, Use::kFirst);
  memory wei = as_input(e.pd.weights_desc(), s.user_wei(), w);
  Output dsrc(e.pd.diff_src_desc(), s.user_src(), dx);
  e.prim.execute(strm(), {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DIFF_SRC, dsrc.mem}});
  dsrc.finish();
  strm().wait();
  return info.Env().Undefined();
}

// conv2dBackpropFilter(x, dy, dw, params)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  Conv s = conv_arg(info[3]);
  float* x = f32(info[0], "conv2dBackpropFilter x", s.src_size());
  float* dy = f32(info[1], "conv2dBackpropFilter dy", s.dst_size());
  float* dw = f32(info[2], "conv2dBackpropFilter out", s.wei_size());
  auto& e = cached<convolution_backward_weights::primitive_desc>(bwd_wei_cache, key_of("bwd_wei", s.params, 0),
                                                                 [&] {
    return with_algorithm<convolution_backward_weights::primitive_desc>(s, [&](algorithm a) { return conv_bwd_pd<convolution_backward_weights>(s, a); });
  });
  count_algorithm(e.pd);
  memory src = as_input_kept(e.pd.src_desc(), s.user_src(), x, Use::kLast);
  memory ddst = as_input_kept(e.pd.diff_dst_desc(), s.user_dst(), dy, Use::kLast);
  Output dwei(e.pd.diff_weights_desc(), s.user_wei(), dw);
  e.prim.execute(strm(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dwei.mem}});
  dwei.finish();
  strm().wait();
  return info.Env().Undefined();
}

// ---------- matmul ----------

std::unordered_map<std::string, std::unique_ptr<Cached<matmul::primitive_desc>>> matmul_cache;

// matmul(a, b, bias | null, out, [batchA, batchB, M, K, N], transposeA, transposeB, relu): out[batch, M, N];
// a batch of 1 broadcasts. bias has N elements.
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  auto p = ints(info[4], 5, "matmul dims");
  int64_t ba = p[0], bb = p[1], m = p[2], k = p[3], n = p[4], bo = std::max(ba, bb);
  if ((ba != bb && ba != 1 && bb != 1) || m < 1 || k < 1 || n < 1)
    throw Napi::RangeError::New(info.Env(), "matmul dims: batches must match or be 1, sizes positive");
  float* a = f32(info[0], "matmul a", ba * m * k);
  float* b = f32(info[1], "matmul b", bb * k * n);
  float* bias = f32_or_null(info[2], "matmul bias", n);
  float* c = f32(info[3], "matmul out", bo * m * n);
  bool ta = info[5].ToBoolean(), tb = info[6].ToBoolean(), relu = info[7].ToBoolean();
  // Transposed operands are described by strides, not copied.
  memory::desc a_md({ba, m, k}, dt::f32, ta ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1});
  memory::desc b_md({bb, k, n}, dt::f32, tb ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
  memory::desc c_md({bo, m, n}, dt::f32, tag::abc);
  memory::desc bias_md({1, 1, n}, dt::f32, tag::abc);
  int flags = ta | tb << 1 | relu << 2 | (bias != nullptr) << 3;
  auto& e = cached<matmul::primitive_desc>(matmul_cache, key_of("matmul", p, flags), [&] {
    auto d = bias ? matmul::desc(a_md, b_md, bias_md, c_md) : matmul::desc(a_md, b_md, c_md);
    primitive_attr attr;
    if (relu) {
      post_ops po;
      po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(po);
    }
    return matmul::primitive_desc(d, attr, eng());
  });
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(a_md, eng(), a)},
                                       {DNNL_ARG_WEIGHTS, memory(b_md, eng(), b)},
                                       {DNNL_ARG_DST, memory(c_md, eng(), c)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(bias_md, eng(), bias));
  e.prim.execute(strm(), args);
  strm().wait();
  return info.Env().Undefined();
}

// ---------- PReLU ----------
// alpha broadcasts over x with period P = alpha's length (alpha's shape is a suffix of x's, up to leading ones).
// The row loops are branch-free so that GCC vectorises them (x's sign is random: a branch mispredicted half the time,
// 4–5 ns per element measured), and are built twice, for AVX2 and for any x86-64, the loader picking one. No FMA in
// either: results stay bit-identical to the cpu backend.

__attribute__((target_clones("avx2", "default"), optimize("no-trapping-math"))) void prelu_rows(const float* __restrict x, const float* __restrict al,
                                                                   float* __restrict y, int64_t rows, int64_t P) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < P; j++) {
      const float v = x[r * P + j], neg = al[j] * v;
      y[r * P + j] = v > 0 ? v : neg;
    }
}

__attribute__((target_clones("avx2", "default"), optimize("no-trapping-math"))) void prelu_grad_rows(const float* __restrict x, const float* __restrict al,
                                                                        const float* __restrict dy, float* __restrict dx,
                                                                        double* __restrict acc, int64_t rows, int64_t P) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < P; j++) {
      const float v = x[r * P + j], g = dy[r * P + j], scaled = al[j] * g;
      const double contribution = static_cast<double>(g) * v;
      dx[r * P + j] = v > 0 ? g : scaled;
      acc[j] += v > 0 ? 0.0 : contribution;
    }
}

// prelu(x, alpha, out)
Napi::Value Prelu(const Napi::CallbackInfo& info) {
  size_t n = length(info[0], "prelu x"), period = length(info[1], "prelu alpha");
  if (period == 0 || n % period) throw Napi::RangeError::New(info.Env(), "prelu: alpha length must divide x length");
  const float* x = f32(info[0], "prelu x", n);
  const float* al = f32(info[1], "prelu alpha", period);
  float* y = f32(info[2], "prelu out", n);
  const int64_t rows = n / period, P = period;
#pragma omp parallel if (static_cast<int64_t>(n) > kParallelMin)
  {
    auto [begin, end] = share(rows);
    prelu_rows(x + begin * P, al, y + begin * P, end - begin, P);
  }
  return info.Env().Undefined();
}

// preluGrad(x, alpha, dy, dx, dalpha): dx = dy where x > 0 else alpha·dy; dalpha = Σ dy·x over x ≤ 0 (tfjs's rule).
Napi::Value PreluGrad(const Napi::CallbackInfo& info) {
  size_t n = length(info[0], "preluGrad x"), period = length(info[1], "preluGrad alpha");
  if (period == 0 || n % period) throw Napi::RangeError::New(info.Env(), "preluGrad: alpha length must divide x length");
  const float* x = f32(info[0], "preluGrad x", n);
  const float* al = f32(info[1], "preluGrad alpha", period);
  const float* dy = f32(info[2], "preluGrad dy", n);
  float* dx = f32(info[3], "preluGrad dx", n);
  float* da = f32(info[4], "preluGrad dalpha", period);
  const int64_t rows = n / period, P = period;
  int threads = static_cast<int64_t>(n) > kParallelMin ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads) * period, 0.0);
#pragma omp parallel num_threads(threads)
  {
    auto [begin, end] = share(rows);
    prelu_grad_rows(x + begin * P, al, dy + begin * P, dx + begin * P,
                    partial.data() + static_cast<size_t>(omp_get_thread_num()) * period, end - begin, P);
  }
  for (size_t j = 0; j < period; j++) {
    double s = 0;
    for (int t = 0; t < threads; t++) s += partial[t * period + j];
    da[j] = static_cast<float>(s);
  }
  return info.Env().Undefined();
}

// ---------- element-wise and reductions ----------
// tfjs's cpu kernels run these as one closure call (plus index arithmetic) per element, single-threaded; over the
// 11M-weight FC layer the SGD update alone spends seconds there.


template <typename Op>
void binary_loop(Op op, const float* a, size_t na, const float* b, size_t nb, float* y, size_t n, int64_t inner) {
  const int64_t N = static_cast<int64_t>(n);
  if (inner > 1 && na != nb && std::min(na, nb) > 1) {  // each element of the shorter operand covers `inner` outputs
    const bool a_long = na == n;
    const float* s = a_long ? b : a;
    const float* l = a_long ? a : b;
    const int64_t blocks = N / inner, S = static_cast<int64_t>(std::min(na, nb));
#pragma omp parallel for schedule(static) if (N > kParallelMin)
    for (int64_t k = 0; k < blocks; k++) {
      const float c = s[k % S];
      float* yk = y + k * inner;
      const float* lk = l + k * inner;
      if (a_long)
        for (int64_t t = 0; t < inner; t++) yk[t] = op(lk[t], c);
      else
        for (int64_t t = 0; t < inner; t++) yk[t] = op(c, lk[t]);
    }
  } else if (na == n && nb == n) {
#pragma omp parallel for schedule(static) if (N > kParallelMin)
    for (int64_t i = 0; i < N; i++) y[i] = op(a[i], b[i]);
  } else if (na == n && nb == 1) {
    const float s = b[0];
#pragma omp parallel for schedule(static) if (N > kParallelMin)
    for (int64_t i = 0; i < N; i++) y[i] = op(a[i], s);
  } else if (nb == n && na == 1) {
    const float s = a[0];
#pragma omp parallel for schedule(static) if (N > kParallelMin)
    for (int64_t i = 0; i < N; i++) y[i] = op(s, b[i]);
  } else if (na == n) {  // b repeats with period nb
    const int64_t rows = N / nb, P = nb;
#pragma omp parallel for schedule(static) if (N > kParallelMin)
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < P; j++) y[r * P + j] = op(a[r * P + j], b[j]);
  } else {  // a repeats with period na
    const int64_t rows = N / na, P = na;
#pragma omp parallel for schedule(static) if (N > kParallelMin)
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < P; j++) y[r * P + j] = op(a[j], b[r * P + j]);
  }
}

enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };

// binary(op, a, b, out, inner): out has the length of the longer operand; element i meets element
// floor(i / inner) mod length of the shorter one (the caller checks the shapes broadcast so).
Napi::Value Binary(const Napi::CallbackInfo& info) {
  int op = info[0].As<Napi::Number>().Int32Value();
  size_t na = length(info[1], "binary a"), nb = length(info[2], "binary b"), n = std::max(na, nb);
  size_t shorter = std::min(na, nb);
  int64_t inner = info[4].As<Napi::Number>().Int64Value();
  if (shorter == 0 || inner < 1 || n % (shorter * inner))
    throw Napi::RangeError::New(info.Env(), "binary: the shorter operand's length × inner must divide the longer one's");
  const float* a = f32(info[1], "binary a", na);
  const float* b = f32(info[2], "binary b", nb);
  float* y = f32(info[3], "binary out", n);
  switch (op) {
    case kAdd: binary_loop([](float u, float v) { return u + v; }, a, na, b, nb, y, n, inner); break;
    case kSub: binary_loop([](float u, float v) { return u - v; }, a, na, b, nb, y, n, inner); break;
    case kMul: binary_loop([](float u, float v) { return u * v; }, a, na, b, nb, y, n, inner); break;
    case kDiv: binary_loop([](float u, float v) { return u / v; }, a, na, b, nb, y, n, inner); break;
    default: throw Napi::RangeError::New(info.Env(), "binary: unknown op " + std::to_string(op));
  }
  return info.Env().Undefined();
}

// square(x, out)
Napi::Value Square(const Napi::CallbackInfo& info) {
  size_t n = length(info[0], "square x");
  const float* x = f32(info[0], "square x", n);
  float* y = f32(info[1], "square out", n);
  const int64_t N = static_cast<int64_t>(n);
#pragma omp parallel for schedule(static) if (N > kParallelMin)
  for (int64_t i = 0; i < N; i++) y[i] = x[i] * x[i];
  return info.Env().Undefined();
}

// sum(x, out, rows, cols, overRows): x viewed as [rows, cols]; overRows: out[cols] = column sums (leading axes
// reduced), else out[rows] = row sums (trailing axes reduced). Accumulates in double, as tfjs's JS loops do.
Napi::Value Sum(const Napi::CallbackInfo& info) {
  int64_t rows = info[2].As<Napi::Number>().Int64Value(), cols = info[3].As<Napi::Number>().Int64Value();
  bool over_rows = info[4].ToBoolean();
  const float* x = f32(info[0], "sum x", rows * cols);
  float* y = f32(info[1], "sum out", over_rows ? cols : rows);
  if (!over_rows) {
    if (rows == 1) {  // a full reduction: split the one row across threads
      double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (cols > kParallelMin)
      for (int64_t j = 0; j < cols; j++) total += x[j];
      y[0] = static_cast<float>(total);
    } else {
#pragma omp parallel for schedule(static) if (rows * cols > kParallelMin)
      for (int64_t r = 0; r < rows; r++) {
        double acc = 0;
        for (int64_t j = 0; j < cols; j++) acc += x[r * cols + j];
        y[r] = static_cast<float>(acc);
      }
    }
    return info.Env().Undefined();
  }
  int threads = rows * cols > kParallelMin ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads) * cols, 0.0);
#pragma omp parallel num_threads(threads)
  {
    double* acc = partial.data() + static_cast<size_t>(omp_get_thread_num()) * cols;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < cols; j++) acc[j] += x[r * cols + j];
  }
  for (int64_t j = 0; j < cols; j++) {
    double total = 0;
    for (int t = 0; t < threads; t++) total += partial[t * cols + j];
    y[j] = static_cast<float>(total);
  }
  return info.Env().Undefined();
}

// ---------- optimizer ----------
// The trainer's per-parameter SGD step and the squared norm for gradient clipping, each in one pass instead of 7 (and
// 2) tfjs ops. Every product and sum is rounded to float in the order of the op fallback in @sphereface/models
// (src/sgd.ts), so both give the same bits (the build has no -ffast-math and does not contract into FMA without -mfma).

// sgdMomentum(w, g, v, wOut, vOut, lr, momentum, decay, scale): g' = scale·g + decay·w; v' = momentum·v + lr·g';
// w' = w − v'. A coefficient of 1 (scale) or 0 (decay) skips its operation, as the fallback does.
Napi::Value SgdMomentum(const Napi::CallbackInfo& info) {
  size_t n = length(info[0], "sgdMomentum w");
  const float* w = f32(info[0], "sgdMomentum w", n);
  const float* g = f32(info[1], "sgdMomentum g", n);
  const float* v = f32(info[2], "sgdMomentum v", n);
  float* w1 = f32(info[3], "sgdMomentum w out", n);
  float* v1 = f32(info[4], "sgdMomentum v out", n);
  const float lr = info[5].As<Napi::Number>().FloatValue(), momentum = info[6].As<Napi::Number>().FloatValue();
  const float decay = info[7].As<Napi::Number>().FloatValue(), scale = info[8].As<Napi::Number>().FloatValue();
  const bool scaled = scale != 1.f, decayed = decay != 0.f;
  const int64_t N = static_cast<int64_t>(n);
#pragma omp parallel for schedule(static) if (N > kParallelMin)
  for (int64_t i = 0; i < N; i++) {
    float grad = scaled ? g[i] * scale : g[i];
    if (decayed) {
      const float wd = w[i] * decay;
      grad = grad + wd;
    }
    const float vm = v[i] * momentum, step = grad * lr;
    const float vi = vm + step;
    v1[i] = vi;
    w1[i] = w[i] - vi;
  }
  return info.Env().Undefined();
}

// sumOfSquares(x) → Σ x² accumulated in double (tfjs's Sum accumulates the float squares in a JS double).
Napi::Value SumOfSquares(const Napi::CallbackInfo& info) {
  size_t n = length(info[0], "sumOfSquares x");
  const float* x = f32(info[0], "sumOfSquares x", n);
  const int64_t N = static_cast<int64_t>(n);
  double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (N > kParallelMin)
  for (int64_t i = 0; i < N; i++) {
    const float sq = x[i] * x[i];
    total += sq;
  }
  return Napi::Number::New(info.Env(), total);
}

// forgetReordered(array): the array's data is going away (or being recycled): drop what was kept for it.
Napi::Value ForgetReordered(const Napi::CallbackInfo& info) {
  const float* p = f32(info[0], "forgetReordered array", length(info[0], "forgetReordered array"));
  auto it = reordered.find(p);
  if (it != reordered.end()) {
    for (auto& r : it->second) reordered_bytes -= r.desc.get_size();
    reordered.erase(it);
  }
  return info.Env().Undefined();
}

// reorderStats() → { hits, misses, keptBytes } of the kept reorders.
Napi::Value ReorderStats(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("hits", reorder_hits);
  o.Set("misses", reorder_misses);
  o.Set("keptBytes", static_cast<double>(reordered_bytes));
  return o;
}

// convAlgorithms() → { direct, winograd }: convolution calls (forward and both backprops) per algorithm so far.
Napi::Value ConvAlgorithms(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("direct", conv_algorithm_counts.direct);
  o.Set("winograd", conv_algorithm_counts.winograd);
  return o;
}

// setWinograd(enabled): whether 3×3 stride-1 convolutions may use Winograd. Changing it drops the cached convolution
// primitives (called from JS's one thread, like every function here).
Napi::Value SetWinograd(const Napi::CallbackInfo& info) {
  bool enabled = info[0].ToBoolean();
  if (enabled != winograd_enabled) {
    fwd_cache.clear();
    bwd_data_cache.clear();
    bwd_wei_cache.clear();
    winograd_enabled = enabled;
  }
  return info.Env().Undefined();
}

// ---------- threads / info ----------

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: need at least 1 thread");
  omp_set_num_threads(n);
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), omp_get_max_threads()); }

Napi::Value Version(const Napi::CallbackInfo& info) {
  const dnnl_version_t* v = dnnl_version();
  return Napi::String::New(info.Env(), std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
}


Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, guarded<Conv2d>));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, guarded<Conv2dBackpropInput>));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, guarded<Conv2dBackpropFilter>));
  exports.Set("matmul", Napi::Function::New(env, guarded<MatMul>));
  exports.Set("prelu", Napi::Function::New(env, guarded<Prelu>));
  exports.Set("preluGrad", Napi::Function::New(env, guarded<PreluGrad>));
  exports.Set("binary", Napi::Function::New(env, guarded<Binary>));
  exports.Set("square", Napi::Function::New(env, guarded<Square>));
  exports.Set("sum", Napi::Function::New(env, guarded<Sum>));
  exports.Set("sgdMomentum", Napi::Function::New(env, guarded<SgdMomentum>));
  exports.Set("sumOfSquares", Napi::Function::New(env, guarded<SumOfSquares>));
  exports.Set("forgetReordered", Napi::Function::New(env, guarded<ForgetReordered>));
  exports.Set("reorderStats", Napi::Function::New(env, ReorderStats));
  exports.Set("convAlgorithms", Napi::Function::New(env, ConvAlgorithms));
  exports.Set("setWinograd", Napi::Function::New(env, SetWinograd));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("dnnlVersion", Napi::Function::New(env, Version));
  RegisterPeak(env, exports);
  RegisterPooling(env, exports);
  RegisterMarginSoftmax(env, exports);
  RegisterCrops(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(sphereface_native, Init)

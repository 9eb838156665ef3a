// ReLU, ReLU6, Step and 2-D max / average pooling for @sphereface/native (NHWC float32, caller-allocated outputs).
//
// The element-wise functions are plain loops, not oneDNN eltwise: they reproduce tfjs's cpu kernels bit for bit,
// including the corners where oneDNN's relu (x > 0 ? x : 0·x) does not: -0 → +0 (Math.max(0, -0) is +0) and NaN → NaN.
// Pooling is oneDNN's, on the NHWC arrays as they are (no reorders); the caller (src/pooling-kernels.ts) decides which
// algorithm matches tfjs (its avgPool forward excludes padding from the divisor, its gradient includes it).
#include <limits>

#include "common.h"

namespace {

using namespace sfn;

// ---------- element-wise ----------
// Branch-free selects that GCC vectorises (under -ftrapping-math it would not if-convert them); built for AVX2 and
// for any x86-64. `v <= 0 ? 0 : v` is false for NaN, so NaN passes through, and sends -0 to +0, as Math.max(0, v).

__attribute__((target_clones("avx2", "default"), optimize("no-trapping-math"))) void relu_loop(const float* __restrict x,
                                                                                              float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    y[i] = v <= 0.f ? 0.f : v;
  }
}

// Math.min(Math.max(0, v), 6): NaN stays NaN, -0 → +0.
__attribute__((target_clones("avx2", "default"), optimize("no-trapping-math"))) void relu6_loop(const float* __restrict x,
                                                                                               float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i], r = v <= 0.f ? 0.f : v;
    y[i] = r > 6.f ? 6.f : r;
  }
}

// tfjs's step: NaN → NaN, v > 0 → 1, else alpha.
__attribute__((target_clones("avx2", "default"), optimize("no-trapping-math"))) void step_loop(const float* __restrict x,
                                                                                              float* __restrict y, int64_t n,
                                                                                              float alpha) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i], s = v > 0.f ? 1.f : alpha;
    y[i] = v != v ? v : s;
  }
}

template <void (*Loop)(const float* __restrict, float* __restrict, int64_t)>
void split(const float* x, float* y, int64_t n) {
#pragma omp parallel if (n > kParallelMin)
  {
    auto [begin, end] = share(n);
    Loop(x + begin, y + begin, end - begin);
  }
}

// relu(x, out)
Napi::Value Relu(const Napi::CallbackInfo& info) {
  size_t n = length(info[0], "relu x");
  split<relu_loop>(f32(info[0], "relu x", n), f32(info[1], "relu out", n), static_cast<int64_t>(n));
  return info.Env().Undefined();
}

// relu6(x, out)
Napi::Value Relu6(const Napi::CallbackInfo& info) {
  size_t n = length(info[0], "relu6 x");
  split<relu6_loop>(f32(info[0], "relu6 x", n), f32(info[1], "relu6 out", n), static_cast<int64_t>(n));
  return info.Env().Undefined();
}

// step(x, out, alpha)
Napi::Value Step(const Napi::CallbackInfo& info) {
  size_t n = length(info[0], "step x");
  const float* x = f32(info[0], "step x", n);
  float* y = f32(info[1], "step out", n);
  const float alpha = info[2].As<Napi::Number>().FloatValue();
  const int64_t N = static_cast<int64_t>(n);
#pragma omp parallel if (N > kParallelMin)
  {
    auto [begin, end] = share(N);
    step_loop(x + begin, y + begin, end - begin, alpha);
  }
  return info.Env().Undefined();
}

// ---------- pooling ----------

// p = [N,H,W,C, KH,KW, OH,OW, strideH,strideW, padTop,padLeft,padBottom,padRight]
struct Pool {
  std::vector<int64_t> params;
  int64_t n, h, w, c, kh, kw, oh, ow, sh, sw, pt, pl, pb, pr;
  explicit Pool(const std::vector<int64_t>& p)
      : params(p), n(p[0]), h(p[1]), w(p[2]), c(p[3]), kh(p[4]), kw(p[5]), oh(p[6]), ow(p[7]), sh(p[8]), sw(p[9]),
        pt(p[10]), pl(p[11]), pb(p[12]), pr(p[13]) {}
  size_t src_size() const { return n * h * w * c; }
  size_t dst_size() const { return n * oh * ow * c; }
  // oneDNN takes NHWC as the nhwc format of logical NCHW dims: tfjs's arrays are used in place.
  memory::desc src() const { return memory::desc({n, c, h, w}, dt::f32, tag::nhwc); }
  memory::desc dst() const { return memory::desc({n, c, oh, ow}, dt::f32, tag::nhwc); }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims kernel() const { return {kh, kw}; }
  memory::dims padl() const { return {pt, pl}; }
  memory::dims padr() const { return {pb, pr}; }
};

Pool pool_arg(const Napi::Value& v) {
  Pool p(ints(v, 14, "pool params"));
  bool ok = p.n > 0 && p.h > 0 && p.w > 0 && p.c > 0 && p.kh > 0 && p.kw > 0 && p.sh > 0 && p.sw > 0;
  // Every window holds at least one input element (a pad of the kernel's size or more would make empty windows).
  ok = ok && p.pt >= 0 && p.pb >= 0 && p.pl >= 0 && p.pr >= 0 && p.pt < p.kh && p.pb < p.kh && p.pl < p.kw && p.pr < p.kw;
  if (!ok) throw Napi::RangeError::New(v.Env(), "pool params: sizes and strides must be positive, pads in [0, kernel)");
  int64_t ohx = (p.h + p.pt + p.pb - p.kh) / p.sh + 1, owx = (p.w + p.pl + p.pr - p.kw) / p.sw + 1;
  if (ohx != p.oh || owx != p.ow)
    throw Napi::RangeError::New(v.Env(), "pool params: output " + std::to_string(p.oh) + "x" + std::to_string(p.ow) +
                                             " does not follow from input, padding and stride (" + std::to_string(ohx) +
                                             "x" + std::to_string(owx) + ")");
  return p;
}

// kind: 0 max, 1 average over the window's input elements (padding excluded), 2 average over the whole window.
algorithm pool_algo(const Napi::Value& v) {
  switch (v.As<Napi::Number>().Int32Value()) {
    case 0: return algorithm::pooling_max;
    case 1: return algorithm::pooling_avg_exclude_padding;
    case 2: return algorithm::pooling_avg_include_padding;
    default: throw Napi::RangeError::New(v.Env(), "pool kind: 0 max, 1 avg excluding padding, 2 avg including padding");
  }
}

// oneDNN's pooling on the calling thread alone below kParallelMin input elements: on this shared 2-core machine a
// parallel region waits for the sleeping OpenMP worker (a 75×75×64 max pool: 8 ms median on two threads under load,
// 0.03 ms on one). Some primitives fix their thread count when they are created (the backward ones here did), so the
// limit holds while primitives are made and run, and the cache keys include the thread count.
struct OneThreadIfSmall {
  int saved = omp_get_max_threads();
  bool on;
  explicit OneThreadIfSmall(int64_t work) : on(work <= kParallelMin && saved > 1) {
    if (on) omp_set_num_threads(1);
  }
  ~OneThreadIfSmall() {
    if (on) omp_set_num_threads(saved);
  }
};

using PoolFwdPD = pooling_forward::primitive_desc;
using PoolBwdPD = pooling_backward::primitive_desc;
std::unordered_map<std::string, std::unique_ptr<Cached<PoolFwdPD>>> pool_fwd_cache;
std::unordered_map<std::string, std::unique_ptr<Cached<PoolBwdPD>>> pool_bwd_cache;

std::string pool_key(const char* op, const Pool& s, int flags) {
  return key_of(op, s.params, flags) + "/threads " + std::to_string(omp_get_max_threads());
}

Cached<PoolFwdPD>& pool_fwd(const Pool& s, algorithm alg, prop_kind pk) {
  int flags = static_cast<int>(alg) * 2 + (pk == prop_kind::forward_training);
  return cached<PoolFwdPD>(pool_fwd_cache, pool_key("pool_fwd", s, flags), [&] {
    pooling_forward::desc d(pk, alg, s.src(), s.dst(), s.strides(), s.kernel(), s.padl(), s.padr());
    return PoolFwdPD(d, eng());
  });
}

Cached<PoolBwdPD>& pool_bwd(const Pool& s, algorithm alg, const PoolFwdPD& hint) {
  return cached<PoolBwdPD>(pool_bwd_cache, pool_key("pool_bwd", s, static_cast<int>(alg)), [&] {
    pooling_backward::desc d(alg, s.src(), s.dst(), s.strides(), s.kernel(), s.padl(), s.padr());
    return PoolBwdPD(d, eng(), hint);
  });
}

// oneDNN's max pooling starts from the lowest finite float where tfjs starts from -Infinity: a window whose elements
// are all -Infinity or NaN gives -3.4e38 instead of -Infinity, and its gradient goes to one of its elements where
// tfjs's goes nowhere. Such windows (the only ones with that output) are found by a scan of the output, which is
// a fraction of the input's size; the caller then runs tfjs's kernel.
__attribute__((target_clones("avx2", "default"))) bool any_lowest(const float* __restrict y, int64_t n) {
  const float lowest = std::numeric_limits<float>::lowest();
  int hit = 0;
  for (int64_t i = 0; i < n; i++) hit |= y[i] == lowest;
  return hit != 0;
}

// pool2d(x, out, params, kind) → false when max pooling met a window without an element above the lowest float
// (see any_lowest; out is then unspecified), else true.
Napi::Value Pool2d(const Napi::CallbackInfo& info) {
  Pool s = pool_arg(info[2]);
  float* x = f32(info[0], "pool2d x", s.src_size());
  float* y = f32(info[1], "pool2d out", s.dst_size());
  algorithm alg = pool_algo(info[3]);
  OneThreadIfSmall threads(static_cast<int64_t>(s.src_size()));
  auto& e = pool_fwd(s, alg, prop_kind::forward_inference);
  e.prim.execute(strm(), {{DNNL_ARG_SRC, memory(s.src(), eng(), x)}, {DNNL_ARG_DST, memory(s.dst(), eng(), y)}});
  strm().wait();
  bool ok = alg != algorithm::pooling_max || !any_lowest(y, static_cast<int64_t>(s.dst_size()));
  return Napi::Boolean::New(info.Env(), ok);
}

// pool2dGrad(x | null, dy, dx, params, kind) → as pool2d: dx = the gradient of pooling x (x only for max: the positions
// of the maxima come from a training forward run here, oneDNN's workspace, since the forward does not keep them).
Napi::Value Pool2dGrad(const Napi::CallbackInfo& info) {
  Pool s = pool_arg(info[3]);
  algorithm alg = pool_algo(info[4]);
  bool max = alg == algorithm::pooling_max;
  float* x = max ? f32(info[0], "pool2dGrad x", s.src_size()) : nullptr;
  float* dy = f32(info[1], "pool2dGrad dy", s.dst_size());
  float* dx = f32(info[2], "pool2dGrad out", s.src_size());
  OneThreadIfSmall threads(static_cast<int64_t>(s.src_size()));
  auto& fwd = pool_fwd(s, alg, prop_kind::forward_training);
  auto& bwd = pool_bwd(s, alg, fwd.pd);
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, memory(s.dst(), eng(), dy)},
                                       {DNNL_ARG_DIFF_SRC, memory(s.src(), eng(), dx)}};
  if (max) {
    // No fresh buffers (their first touch costs page faults): the workspace (a byte per output element here) is kept
    // between calls, and the forward's output, needed only for the scan, goes into dx when it fits (the backward then
    // overwrites all of dx).
    thread_local std::vector<uint8_t> ws_buffer, y_buffer;
    auto kept = [](std::vector<uint8_t>& b, size_t bytes) {
      if (b.size() < bytes) b.resize(bytes);
      return b.data();
    };
    memory ws(fwd.pd.workspace_desc(), eng(), kept(ws_buffer, fwd.pd.workspace_desc().get_size()));
    float* yp = s.dst_size() <= s.src_size() ? dx : reinterpret_cast<float*>(kept(y_buffer, s.dst_size() * sizeof(float)));
    fwd.prim.execute(strm(), {{DNNL_ARG_SRC, memory(s.src(), eng(), x)}, {DNNL_ARG_DST, memory(s.dst(), eng(), yp)},
                              {DNNL_ARG_WORKSPACE, ws}});
    strm().wait();
    if (any_lowest(yp, static_cast<int64_t>(s.dst_size()))) return Napi::Boolean::New(info.Env(), false);
    args.emplace(DNNL_ARG_WORKSPACE, ws);
  }
  bwd.prim.execute(strm(), args);
  strm().wait();
  return Napi::Boolean::New(info.Env(), true);
}

// poolImpl(params, kind, backward) → the oneDNN implementation the forward (or the backward) runs, e.g. "jit:avx2".
Napi::Value PoolImpl(const Napi::CallbackInfo& info) {
  Pool s = pool_arg(info[0]);
  algorithm alg = pool_algo(info[1]);
  OneThreadIfSmall threads(static_cast<int64_t>(s.src_size()));
  if (!info[2].ToBoolean()) return Napi::String::New(info.Env(), pool_fwd(s, alg, prop_kind::forward_inference).pd.impl_info_str());
  auto& fwd = pool_fwd(s, alg, prop_kind::forward_training);
  return Napi::String::New(info.Env(), pool_bwd(s, alg, fwd.pd).pd.impl_info_str());
}

}  // namespace

namespace sfn {
void RegisterPooling(Napi::Env env, Napi::Object exports) {
  exports.Set("relu", Napi::Function::New(env, guarded<Relu>));
  exports.Set("relu6", Napi::Function::New(env, guarded<Relu6>));
  exports.Set("step", Napi::Function::New(env, guarded<Step>));
  exports.Set("pool2d", Napi::Function::New(env, guarded<Pool2d>));
  exports.Set("pool2dGrad", Napi::Function::New(env, guarded<Pool2dGrad>));
  exports.Set("poolImpl", Napi::Function::New(env, guarded<PoolImpl>));
}
}  // namespace sfn

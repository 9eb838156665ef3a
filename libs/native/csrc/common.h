// Helpers shared by the addon's source files: the oneDNN engine and stream, argument checks, the primitive cache,
// layout reorders, the parallel threshold, and the error wrapper. Everything here is inline (one copy per process).
#pragma once
#include <napi.h>
#include <omp.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace sfn {


inline engine& eng() {
  static engine e(engine::kind::cpu, 0);
  return e;
}
inline stream& strm() {
  static stream s(eng());
  return s;
}

// ---------- argument helpers ----------

inline float* f32(const Napi::Value& v, const char* what, size_t expect) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  if (a.ElementLength() != expect)
    throw Napi::RangeError::New(v.Env(), std::string(what) + ": expected " + std::to_string(expect) + " elements, got " +
                                             std::to_string(a.ElementLength()));
  return a.Data();
}

inline float* f32_or_null(const Napi::Value& v, const char* what, size_t expect) {
  return v.IsNull() || v.IsUndefined() ? nullptr : f32(v, what, expect);
}

inline size_t length(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a Float32Array");
  return v.As<Napi::Float32Array>().ElementLength();
}

inline std::vector<int64_t> ints(const Napi::Value& v, size_t n, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an array of integers");
  auto a = v.As<Napi::Array>();
  if (a.Length() != n)
    throw Napi::RangeError::New(v.Env(), std::string(what) + ": expected " + std::to_string(n) + " integers");
  std::vector<int64_t> out(n);
  for (uint32_t i = 0; i < n; i++) out[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return out;
}

inline std::string key_of(const char* op, const std::vector<int64_t>& p, int flags) {
  std::string k(op);
  for (auto v : p) k += ',' + std::to_string(v);
  return k + '/' + std::to_string(flags);
}

// Primitive descriptors and primitives are cached per shape: building them (implementation search, JIT) costs far
// more than small convolutions. Node calls these functions from one thread; the mutex guards against worker threads.
template <typename PD>
struct Cached {
  PD pd;
  primitive prim;
};
template <typename PD>
Cached<PD>& cached(std::unordered_map<std::string, std::unique_ptr<Cached<PD>>>& cache, const std::string& key,
                   const std::function<PD()>& make) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  PD pd = make();
  auto entry = std::make_unique<Cached<PD>>(Cached<PD>{pd, primitive(pd)});
  return *cache.emplace(key, std::move(entry)).first->second;
}

// User data in the layout the primitive wants (a reorder into a temporary when the layouts differ).
inline memory as_input(const memory::desc& want, const memory::desc& user_md, float* p) {
  memory user(user_md, eng(), p);
  if (want == user_md) return user;
  memory m(want, eng());
  reorder(user, m).execute(strm(), user, m);
  return m;
}

// The primitive's output buffer: the user's memory when layouts agree, else a temporary reordered back by finish().
struct Output {
  memory user, mem;
  Output(const memory::desc& want, const memory::desc& user_md, float* p)
      : user(user_md, eng(), p), mem(want == user_md ? user : memory(want, eng())) {}
  void finish() {
    if (mem.get() != user.get()) reorder(mem, user).execute(strm(), mem, user);
  }
};

// Below this many elements a loop runs on the calling thread. Measured here: a 2.4M-float multiply took 2 ms on one
// thread and 5.5 ms on two; 11M took 14 vs 11 ms. On a loaded machine each parallel region also waits for the
// sleeping OpenMP worker to be scheduled (7-12 ms per call seen in profiles, whatever the size).
inline constexpr int64_t kParallelMin = 1 << 22;

// Rows [begin, end) of this thread's static share.
inline std::pair<int64_t, int64_t> share(int64_t rows) {
  int t = omp_get_thread_num(), nt = omp_get_num_threads();
  return {rows * t / nt, rows * (t + 1) / nt};
}

// Wraps a function so oneDNN's C++ exceptions reach JS as Errors naming the call.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what() + " (status " + std::to_string(e.status) + ")");
  }
}
// Exports defined in the other source files, added to the module by addon.cc's Init.
void RegisterPeak(Napi::Env env, Napi::Object exports);
void RegisterPooling(Napi::Env env, Napi::Object exports);  // csrc/pooling.cc
void RegisterMarginSoftmax(Napi::Env env, Napi::Object exports);  // csrc/margin_softmax.cc
void RegisterCrops(Napi::Env env, Napi::Object exports);  // csrc/crops.cc

}  // namespace sfn

// The machine's measured floating-point peak: every OpenMP thread runs independent FMA chains for a fixed time, at the
// widest vector width the CPU has. A benchmark's "share of peak" then uses the clock the cores actually run at (boost
// clocks under a VM hide from /proc/cpuinfo: this 2-core Zen 5 reports 2.6 GHz and runs FMAs at 4.3 GHz).
#include <immintrin.h>

#include <chrono>

#include "common.h"

namespace {

// 12 independent accumulators: more than FMA latency (4 cycles) × pipes (2) needs, so the loop is throughput-bound.
#define SFN_CHAINS(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11)

__attribute__((target("avx512f"))) float fma_chains_512(int64_t iterations) {
  const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
#define SFN_INIT(i) __m512 a##i = _mm512_set1_ps(1.f + i);
#define SFN_STEP(i) a##i = _mm512_fmadd_ps(a##i, b, c);
#define SFN_SUM(i) s = _mm512_add_ps(s, a##i);
  SFN_CHAINS(SFN_INIT)
  for (int64_t t = 0; t < iterations; t++) { SFN_CHAINS(SFN_STEP) }
  __m512 s = _mm512_setzero_ps();
  SFN_CHAINS(SFN_SUM)
  float lanes[16];
  _mm512_storeu_ps(lanes, s);
  return lanes[0];
#undef SFN_INIT
#undef SFN_STEP
#undef SFN_SUM
}

__attribute__((target("avx2,fma"))) float fma_chains_256(int64_t iterations) {
  const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
#define SFN_INIT(i) __m256 a##i = _mm256_set1_ps(1.f + i);
#define SFN_STEP(i) a##i = _mm256_fmadd_ps(a##i, b, c);
#define SFN_SUM(i) s = _mm256_add_ps(s, a##i);
  SFN_CHAINS(SFN_INIT)
  for (int64_t t = 0; t < iterations; t++) { SFN_CHAINS(SFN_STEP) }
  __m256 s = _mm256_setzero_ps();
  SFN_CHAINS(SFN_SUM)
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  return lanes[0];
#undef SFN_INIT
#undef SFN_STEP
#undef SFN_SUM
}

// measurePeak(seconds) → { gflops, isa, threads }: FP32 FMA throughput of all OpenMP threads together (2 FLOP per
// lane per FMA), or gflops 0 and isa "none" on a CPU with neither AVX-512 nor AVX2+FMA.
Napi::Value MeasurePeak(const Napi::CallbackInfo& info) {
  const double seconds = info[0].As<Napi::Number>().DoubleValue();
  const bool avx512 = __builtin_cpu_supports("avx512f"), avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  auto result = Napi::Object::New(info.Env());
  const int threads = omp_get_max_threads();
  result.Set("threads", threads);
  if (!avx512 && !avx2) {
    result.Set("gflops", 0.0);
    result.Set("isa", "none");
    return result;
  }
  const int lanes = avx512 ? 16 : 8;
  auto run = [&](int64_t iterations) {
    float sink = 0;
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += avx512 ? fma_chains_512(iterations) : fma_chains_256(iterations);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (sink == 12345.f) result.Set("sink", sink);  // keeps the chains from being optimised away
    return elapsed;
  };
  // Calibrate on a short run, then measure for about `seconds`; the best of three counts (a descheduled thread only
  // ever makes a run slower).
  int64_t iterations = 100000;
  const double probe = run(iterations);
  iterations = std::max<int64_t>(iterations, static_cast<int64_t>(iterations * seconds / 3 / std::max(probe, 1e-6)));
  double best = 1e300;
  for (int r = 0; r < 3; r++) best = std::min(best, run(iterations));
  const double flops = static_cast<double>(threads) * iterations * 12 * lanes * 2;
  result.Set("gflops", flops / best / 1e9);
  result.Set("isa", avx512 ? "AVX-512" : "AVX2+FMA");
  return result;
}

}  // namespace

namespace sfn {
void RegisterPeak(Napi::Env env, Napi::Object exports) {
  exports.Set("measurePeak", Napi::Function::New(env, guarded<MeasurePeak>));
}
}  // namespace sfn

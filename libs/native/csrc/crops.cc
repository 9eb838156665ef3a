// Crop normalisation for @sphereface/models' embedCrops: uint8 RGB crops → the normalised centre windows and their
// horizontal mirrors, float32 NHWC, in one pass over the bytes (what embed.ts's JS loop writes, bit for bit).
#include "common.h"

namespace sfn {
namespace {

// normalisePixel(v) = (v − 127.5) / 128 of @sphereface/data, exact in float32: v − 127.5 is a multiple of 1/2 below
// 2^8 (exact), and the division by 128 is a multiplication by 2^-7 (exact, no subnormals), so (float(v) − 127.5f) ·
// 0.0078125f equals the JS Float32Array of normalisePixel's values bit for bit. One window row: normalised into o
// (vectorised), then its pixels copied in reverse order into m (the mirrored row).
__attribute__((target_clones("avx2", "default"))) void normalise_row(const uint8_t* __restrict s, float* __restrict o,
                                                                     float* __restrict m, int64_t pixels) {
  const int64_t n = pixels * 3;
  for (int64_t x = 0; x < n; x++) o[x] = (static_cast<float>(s[x]) - 127.5f) * 0.0078125f;
  for (int64_t p = 0; p < pixels; p++) {
    const float* from = o + 3 * p;
    float* to = m + 3 * (pixels - 1 - p);
    to[0] = from[0];
    to[1] = from[1];
    to[2] = from[2];
  }
}

// normaliseCrops(bytes, original, mirrored, count, height, width, margin): bytes holds `count` crops of
// height × width × 3; original and mirrored receive [count, height − 2·margin, width − 2·margin, 3] (mirrored: each
// window's rows reversed pixel-wise, the channels kept in order).
Napi::Value NormaliseCrops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7) throw Napi::TypeError::New(env, "normaliseCrops: expected (bytes, original, mirrored, count, height, width, margin)");
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "normaliseCrops: bytes: expected a Uint8Array");
  for (int k = 3; k < 7; k++)
    if (!info[k].IsNumber()) throw Napi::TypeError::New(env, "normaliseCrops: count, height, width and margin must be numbers");
  const int64_t count = info[3].As<Napi::Number>().Int64Value(), height = info[4].As<Napi::Number>().Int64Value(),
                width = info[5].As<Napi::Number>().Int64Value(), margin = info[6].As<Napi::Number>().Int64Value();
  if (count < 0 || margin < 0 || height <= 2 * margin || width <= 2 * margin)
    throw Napi::RangeError::New(env, "normaliseCrops: need count ≥ 0, margin ≥ 0 and a window of at least 1×1 inside the crop");
  auto bytes = info[0].As<Napi::Uint8Array>();
  const size_t crop = static_cast<size_t>(height * width * 3);
  if (bytes.ElementLength() < count * crop)
    throw Napi::RangeError::New(env, "normaliseCrops: bytes: expected at least " + std::to_string(count * crop) + " bytes, got " +
                                         std::to_string(bytes.ElementLength()));
  const int64_t h = height - 2 * margin, row = (width - 2 * margin) * 3;
  const size_t out = static_cast<size_t>(count * h * row);
  float* original = f32(info[1], "normaliseCrops: original", out);
  float* mirrored = f32(info[2], "normaliseCrops: mirrored", out);
  const uint8_t* src = bytes.Data();
  for (int64_t i = 0; i < count; i++)
    for (int64_t y = 0; y < h; y++)
      normalise_row(src + i * crop + ((margin + y) * width + margin) * 3, original + (i * h + y) * row, mirrored + (i * h + y) * row,
                    row / 3);
  return env.Undefined();
}

}  // namespace

void RegisterCrops(Napi::Env env, Napi::Object exports) {
  exports.Set("normaliseCrops", Napi::Function::New(env, guarded<NormaliseCrops>));
}

}  // namespace sfn
